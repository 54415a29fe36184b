"""Accuracy-aware tuning, as Intel Neural Compressor's: quantize every Linear, measure validation
macro-F1, and while it drops more than ``max_drop`` points below FP32 (or, with ``max_changed``,
more than that share of validation predictions differ from FP32's), put the most sensitive Linear
back in FP32 and measure again.

The search (:func:`tune_fallback`) knows nothing about torch or the methods: it gets a ``build``
(the set of Linears to keep FP32 -> a quantized model), a ``measure`` (model -> validation
macro-F1 and changed predictions, :class:`Measure`) and a sensitivity per Linear that orders the
candidates; :func:`tune` runs it for a method, whose ``build`` gets the round's config (the
recipe's, also skipping the round's FP32 Linears). Three strategies measure that sensitivity
on a sample of the train split: ``logit_error`` (the default), how far the model's logits move
when that Linear alone is rounded as the method rounds it (:func:`logit_errors`: input per tensor
and weight per output channel; for a weight-only method, bitsandbytes', only its weight);
``sensitivity``, the same rounding's error at the Linear's own output (:func:`quant_errors`),
blind to how far an error travels; and ``outlier_spread``, its token spread
(glue/quant/outliers.py), the rule the hand-picked ``outlier_ratio`` applies. Once within
budget, the Linears that fell back before the last one are tried in int8 again, least sensitive
first, so the result keeps as few FP32 Linears as the measured budget allows; a budget never
met keeps the fewest FP32 Linears within ``max_drop`` of the best round (:func:`kept_round`). Only the
validation split is read; the test split never is. The method returns a copy of its config
that skips the chosen Linears, and its report's ``tuning`` entry (:class:`TuningResult`) becomes
the manifest's ``quantization.tuning`` block; a method that builds untuned where no validation
split exists records why instead (:func:`untuned`).
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence, TypeVar

import numpy as np
import torch
from tqdm import tqdm

from data_prep.common import split_parts
from data_prep.prepared import Split
from glue.folder.variant import logits_of
from glue.quant.base import (
    Applied,
    FilterFn,
    QuantConfig,
    QuantContext,
    QuantMethod,
    layer_filter,
    observe,
    replace_modules,
    require,
    select,
)
from glue.quant.facts import DataNeed
from glue.quant.outliers import SCAN_BATCH_SIZE, token_rows, token_spreads
from glue.quant.smooth import SMOOTHED_INNER
from glue.train.training import compute_metrics

Strategy = Literal["sensitivity", "logit_error", "outlier_spread"]
SCORE_BATCH_SIZE = 64
ROUNDING = 1e-9  # a drop this far above the budget is float rounding of an equal one
C = TypeVar("C", bound="TuningOption")


@dataclass
class TuningOption(QuantConfig):
    """For the static INT8 methods (ptq_static, qat, ptq_pt2e, qat_pt2e) and bitsandbytes (bnb): a
    validation budget that decides which Linears stay FP32."""

    max_drop: float | None = None  # macro-F1 points below FP32 allowed on validation; None turns tuning off
    max_changed: float | None = None  # % of validation predictions allowed to differ from FP32's; None: max_drop alone
    tuning_strategy: Strategy = "logit_error"  # how the fallback candidates are ordered
    tuning_max_steps: int = 12  # quantize-and-score rounds after the first (all Linears int8)
    tuning_samples: int = 256  # first N train texts the sensitivity is measured on

    def validate(self) -> None:
        super().validate()
        require(self.max_drop is None or self.max_drop >= 0, "max_drop",
                f"{self.max_drop}: a budget is 0 or more macro-F1 points (0.5 allows half a point)")
        require(self.max_changed is None or (self.max_drop is not None and 0 <= self.max_changed <= 100), "max_changed",
                f"{self.max_changed}: a share of validation predictions in percent (0-100), set beside max_drop")
        require(self.tuning_max_steps >= 1, "tuning_max_steps", "must be 1 or more")
        require(self.tuning_samples > 0, "tuning_samples", "must be positive")

    def chooses_on_validation(self) -> bool:
        return super().chooses_on_validation() or self.max_drop is not None


@dataclass(frozen=True)
class Measure:
    """A quantized model on the validation split, against FP32."""

    score: float    # macro-F1
    changed: float  # share of its predictions that differ from FP32's


@dataclass(frozen=True)
class Budget:
    """What a round must keep to be within budget, as fractions."""

    max_drop: float                    # of macro-F1 below FP32
    max_changed: float | None = None   # of validation predictions that differ from FP32's

    def holds(self, drop: float, changed: float) -> bool:
        return drop <= self.max_drop + ROUNDING and (self.max_changed is None
                                                     or changed <= self.max_changed + ROUNDING)


@dataclass
class Step:
    """One quantize-and-score round: what changed and where validation macro-F1 landed."""

    action: Literal["quantize_all", "fallback", "requantize"]
    module: str | None  # the Linear that moved (None for the first round)
    fp32: list[str]     # the Linears tuning keeps FP32 after this round
    score: float
    drop: float         # baseline_score - score
    changed: float      # share of validation predictions that differ from FP32's
    kept: bool          # False: undone (a requantize that broke the budget; a fallback after the kept round of a
                        # budget never met)


@dataclass
class Search:
    """What :func:`tune_fallback` chose and every round it measured on the way."""

    baseline_score: float
    budget: Budget
    skipped: list[str]  # the Linears kept FP32, in the order they fell back
    steps: list[Step]
    met: bool
    stopped: Literal["within budget", "step limit", "no candidates left"]
    order: list[tuple[str, float]]  # candidates by sensitivity, most sensitive first (empty if never needed)

    @property
    def chosen(self) -> Step:
        """The last kept round: the model the search returns."""
        return next(s for s in reversed(self.steps) if s.kept)

    @property
    def score(self) -> float:
        return self.chosen.score


def ranked(candidates: Sequence[str], sensitivity: Mapping[str, float]) -> list[tuple[str, float]]:
    """Candidates, most sensitive first; one the measurement never reached goes last."""
    values = [(name, float(sensitivity.get(name, float("-inf")))) for name in candidates]
    return sorted(values, key=lambda item: -item[1])


def kept_round(steps: Sequence[Step], max_drop: float) -> int:
    """Where a budget was never met, the round to keep: the fewest FP32 Linears among the rounds
    within ``max_drop`` of the smallest drop. The recipe calls a loss that size negligible against
    FP32, so a gain that size over a round with fewer FP32 Linears is noise that they would pay for
    in size and speed. With ``max_drop`` 0 it is the best round."""
    least = min(step.drop for step in steps)
    near = [i for i, step in enumerate(steps) if step.drop <= least + max_drop + ROUNDING]
    return min(near, key=lambda i: (len(steps[i].fp32), steps[i].drop))


def tune_fallback(build: Callable[[frozenset[str]], Any], measure: Callable[[Any], Measure], baseline_score: float,
                  budget: Budget, candidates: Sequence[str],
                  sensitivity: Mapping[str, float] | Callable[[], Mapping[str, float]],
                  max_steps: int, on_round: Callable[[int, Step], None] | None = None) -> tuple[Any, Search]:
    """Fall back ``candidates`` one at a time, most sensitive first, until the round ``budget``
    holds (``baseline_score - score`` at most its ``max_drop``, and the changed predictions at most
    its ``max_changed``) or ``max_steps`` rounds after the first are spent; then try the earlier
    fallbacks in int8 again (least sensitive first) while rounds remain. A budget never met keeps
    the round :func:`kept_round` picks, built once more. All
    candidates but one at most fall back: with none left nothing would be quantized. ``sensitivity`` may be a callable,
    measured only if the all-int8 model misses the budget. ``on_round`` hears of each round as it is
    scored (its number from 1, and the round). Returns the last kept round's model and the search."""
    steps: list[Step] = []

    def round_(action: str, module: str | None, fp32: list[str]) -> tuple[Any, Step]:
        model = build(frozenset(fp32))
        value = measure(model)
        step = Step(action, module, list(fp32), value.score, baseline_score - value.score, value.changed, True)
        steps.append(step)
        if on_round is not None:
            on_round(len(steps), step)
        return model, step

    model, step = round_("quantize_all", None, [])
    within = budget.holds(step.drop, step.changed)
    if within:
        return model, Search(baseline_score, budget, [], steps, True, "within budget", [])
    order = ranked(candidates, sensitivity() if callable(sensitivity) else sensitivity)
    fp32: list[str] = []
    for name, _ in order[:-1]:
        if len(steps) > max_steps or within:
            break
        fp32.append(name)
        model, step = round_("fallback", name, fp32)
        within = budget.holds(step.drop, step.changed)
    if within:
        rank = {name: i for i, (name, _) in enumerate(order)}
        for name in sorted(fp32[:-1], key=lambda n: -rank[n]):  # least sensitive first
            if len(steps) > max_steps:
                break
            trial_model, trial = round_("requantize", name, [n for n in fp32 if n != name])
            if budget.holds(trial.drop, trial.changed):
                fp32, model = trial.fp32, trial_model
            else:
                trial.kept = False
    stopped = "within budget" if within else "step limit" if len(fp32) < len(order) - 1 else "no candidates left"
    if not within:
        best = kept_round(steps, budget.max_drop)
        if best < len(steps) - 1:
            for step in steps[best + 1:]:
                step.kept = False
            fp32, model = steps[best].fp32, build(frozenset(steps[best].fp32))
    return model, Search(baseline_score, budget, fp32, steps, within, stopped, order)


def fake_quant_per_tensor(x: torch.Tensor, reduce_range: bool) -> torch.Tensor:
    """``x`` through affine uint8 (7-bit with ``reduce_range``) with its own min/max range, as a
    calibrated per-tensor activation observer would set it."""
    x, quant_max = x.detach(), 127 if reduce_range else 255
    low, high = x.min().clamp(max=0.0), x.max().clamp(min=0.0)
    scale = ((high - low) / quant_max).clamp(min=torch.finfo(torch.float32).eps).float()
    zero_point = (-low / scale).round().clamp(0, quant_max).int()
    return torch.fake_quantize_per_tensor_affine(x.float(), scale, zero_point, 0, quant_max)


def fake_quant_per_channel(weight: torch.Tensor) -> torch.Tensor:
    """A Linear weight (out, in) through symmetric int8 with one scale per output row."""
    weight = weight.detach()
    scale = (weight.abs().amax(dim=1) / 127.5).clamp(min=torch.finfo(torch.float32).eps).float()
    zero_point = torch.zeros(weight.shape[0], dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(weight.float(), scale, zero_point, 0, -128, 127)


# (a Linear, its input) -> its output as the method's rounding leaves it: what :func:`quant_errors` compares.
RoundedOutput = Callable[[torch.nn.Linear, torch.Tensor], torch.Tensor]


def int8_output(reduce_range: bool = False) -> RoundedOutput:
    """The static INT8 methods' rounding: input per tensor (7-bit with ``reduce_range``), weight per output row."""
    return lambda linear, x: torch.nn.functional.linear(fake_quant_per_tensor(x, reduce_range),
                                                        fake_quant_per_channel(linear.weight), linear.bias)


def weight_output(rounded: Callable[[torch.Tensor], torch.Tensor]) -> RoundedOutput:
    """A weight-only method's rounding (bitsandbytes'): ``rounded(weight)`` on the unchanged input."""
    return lambda linear, x: torch.nn.functional.linear(x.float(), rounded(linear.weight.detach().float()), linear.bias)


@torch.no_grad()
def quant_errors(model: torch.nn.Module, filter_fn: FilterFn, batches: list[dict[str, torch.Tensor]],
                 output: RoundedOutput = int8_output()) -> dict[str, float]:
    """Each selected Linear's relative output error, ``||y - y_q|| / ||y||`` over the real tokens of
    ``batches``, where ``y_q = output(linear, x)`` (by default its int8 input, one range per batch,
    and int8 weight): how much the rounding alone costs it."""
    modules = dict(select(model, filter_fn))
    sums: dict[str, list[float]] = {}  # name -> [squared error, squared output]

    def record(name: str, x: torch.Tensor, y: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        x, y = token_rows(x, batch), token_rows(y, batch)
        y_q = output(modules[name], x)
        error, norm = sums.setdefault(name, [0.0, 0.0])
        sums[name] = [error + (y.float() - y_q).pow(2).sum().item(), norm + y.float().pow(2).sum().item()]

    observe(model, filter_fn, batches, record)
    return {name: (error / norm) ** 0.5 if norm else 0.0 for name, (error, norm) in sums.items()}


@torch.no_grad()
def logit_errors(model: torch.nn.Module, filter_fn: FilterFn, batches: list[dict[str, torch.Tensor]],
                 output: RoundedOutput = int8_output()) -> dict[str, float]:
    """Each selected Linear's cost at the model's output: the relative change of the logits,
    ``||z - z_q|| / ||z||`` over ``batches``, when that Linear alone is rounded as ``output``
    rounds it. Unlike :func:`quant_errors` it sees how far an error travels through the layers
    above, at one forward pass over the texts per Linear."""
    model.eval()
    fp32 = torch.cat([logits_of(model(**batch)) for batch in batches])
    errors: dict[str, float] = {}
    for name, linear in tqdm(select(model, filter_fn), desc="sensitivity: one pass per Linear", unit="Linear"):
        handle = linear.register_forward_hook(lambda module, inputs, _: output(module, inputs[0]))
        try:
            rounded = torch.cat([logits_of(model(**batch)) for batch in batches])
        finally:
            handle.remove()
        errors[name] = ((rounded - fp32).norm() / fp32.norm().clamp(min=1e-12)).item()
    return errors


def sensitivities(model: torch.nn.Module, config: TuningOption, context: QuantContext,
                  output: RoundedOutput = int8_output()) -> dict[str, float]:
    """The configured strategy's measure for each Linear of ``model`` (FP32, or smoothed: an inner
    ``.linear`` is named as the Linear it replaced) on the first ``tuning_samples`` train texts."""
    batches = context.batches(SCAN_BATCH_SIZE, config.tuning_samples)
    if config.tuning_strategy == "outlier_spread":
        measured = token_spreads(model.eval(), config, batches)
    elif config.tuning_strategy == "logit_error":
        measured = logit_errors(model, layer_filter(config), batches, output)
    else:
        measured = quant_errors(model.eval(), layer_filter(config), batches, output)
    return {name.removesuffix(SMOOTHED_INNER): value for name, value in measured.items()}


def by_length(split: Split) -> Split:
    """``split`` with its examples sorted by text length, the order :meth:`QuantContext.batches`
    keeps, so the labels line up with the batched logits."""
    order = sorted(range(len(split)), key=lambda i: len(split.texts[i]))
    return dataclasses.replace(split, texts=[split.texts[i] for i in order], labels=[split.labels[i] for i in order])


def validation_logits(context: QuantContext, key: str = "max_drop") -> tuple[Split, Callable[[torch.nn.Module], torch.Tensor]]:
    """The prepared validation split (``context.validation``) in length order, and model -> its
    logits on it in that order; ``key`` is the recipe key that asked for validation, for the error."""
    require(context.validation is not None, key,
            "it is chosen on the validation split: run it through python -m glue.quantize with a prepared "
            "<dataset>_validation split")
    ordered = by_length(context.validation)
    batches = dataclasses.replace(context, split=ordered).batches(SCORE_BATCH_SIZE)

    @torch.inference_mode()
    def logits(model: torch.nn.Module) -> torch.Tensor:
        return torch.cat([logits_of(model(**batch))
                          for batch in tqdm(batches, desc="scoring validation", unit="batch", leave=False)])

    return ordered, logits


def validation_scorer(context: QuantContext) -> Callable[[torch.nn.Module], tuple[float, np.ndarray]]:
    """Model -> its macro-F1 on the prepared validation split (``context.validation``), the figure
    the training block reports, and its predicted labels (in the scorer's own order)."""
    ordered, logits_on = validation_logits(context)

    def score(model: torch.nn.Module) -> tuple[float, np.ndarray]:
        logits = logits_on(model).numpy()
        return float(compute_metrics((logits, ordered.labels))["macro_f1"]), logits.argmax(-1)

    return score


def mean_kl(reference: torch.Tensor, logits: torch.Tensor) -> float:
    """Mean over rows of KL(softmax(reference) || softmax(logits)), in nats: how far a quantized
    model's predicted distributions moved from FP32's, a figure that, unlike macro-F1 or the
    changed predictions, moves with every text rather than with the few near a decision boundary."""
    log_p, log_q = reference.float().log_softmax(-1), logits.float().log_softmax(-1)
    return float((log_p.exp() * (log_p - log_q)).sum(-1).mean())


def with_fp32(config: C, fp32: frozenset[str] | list[str]) -> C:
    """A copy of ``config`` that also skips the Linears in ``fp32`` (in a stable order)."""
    return dataclasses.replace(config, skip_modules=[*config.skip_modules, *sorted(fp32)])


@dataclass
class Reference:
    """What tuning reads from the FP32 model before a method changes it."""

    score: Callable[[torch.nn.Module], tuple[float, np.ndarray]]  # model -> validation macro-F1, predictions
    baseline_score: float
    predictions: np.ndarray  # FP32's, in the scorer's order
    texts: int  # validation examples each round is scored on
    candidates: list[str]  # every Linear the method would quantize
    sensitivity: dict[str, float] | Callable[[], dict[str, float]]  # a callable is measured only when needed

    def measure(self, model: torch.nn.Module) -> Measure:
        score, predictions = self.score(model)
        return Measure(score, float(np.mean(predictions != self.predictions)))


def reference(model: torch.nn.Module, config: TuningOption, context: QuantContext,
              probe: Callable[[], torch.nn.Module] | None = None, output: RoundedOutput = int8_output(),
              when_needed: bool = False) -> Reference:
    """Score the FP32 ``model`` on validation, list its candidate Linears and measure their
    sensitivity (``output``: the method's rounding), on the module ``probe`` returns when the
    method quantizes a transformed copy (SmoothQuant's). ``when_needed`` defers that measure, and
    the probe, until the all-int8 round misses the budget: only for a method that leaves ``model``
    unchanged, not for QAT, which trains it in place."""
    score = validation_scorer(context)

    def sensitivity() -> dict[str, float]:
        return sensitivities(model if probe is None else probe(), config, context, output)

    return Reference(score, *score(model.eval()), len(context.validation),
                     [name for name, _ in select(model, layer_filter(config))],
                     sensitivity if when_needed else sensitivity())


@dataclass
class TuningResult:
    """What accuracy-aware tuning did, for the report: the search and what it was scored on."""

    search: Search
    strategy: Strategy
    texts: int  # validation examples each round was scored on

    def manifest_block(self) -> dict[str, Any]:
        """The manifest's ``quantization.tuning`` block: macro-F1 as a fraction, drops in points."""
        search, budget = self.search, self.search.budget
        changed_budget = ({} if budget.max_changed is None
                          else {"max_changed_percent": round(100 * budget.max_changed, 4)})
        return {
            "max_drop_points": round(100 * budget.max_drop, 4), **changed_budget, "strategy": self.strategy,
            "source": "validation", "texts": self.texts, "baseline_macro_f1": round(search.baseline_score, 4),
            "macro_f1": round(search.score, 4), "drop_points": round(100 * (search.baseline_score - search.score), 2),
            "changed_percent": round(100 * search.chosen.changed, 2),
            "met": search.met, "stopped": search.stopped, "kept_fp32": search.skipped,
            "steps": [{"action": s.action, "module": s.module, "fp32": len(s.fp32), "macro_f1": round(s.score, 4),
                       "drop_points": round(100 * s.drop, 2), "changed_percent": round(100 * s.changed, 2),
                       "kept": s.kept} for s in search.steps],
            "sensitivity": {name: float(f"{value:.3g}") if math.isfinite(value) else None
                            for name, value in search.order}}


# Why a budget was not tuned, as a code readers switch on (the manifest also keeps the sentence).
SkipCause = Literal["no_validation_split"]


@dataclass
class TuningSkipped:
    """A budget that could not be tuned, and why: the model is the one built without a budget."""

    max_drop: float  # macro-F1 points, as the recipe gives it
    cause: SkipCause
    reason: str  # the cause in a sentence, for the log and the manifest's reader

    def manifest_block(self) -> dict[str, Any]:
        """The manifest's ``quantization.tuning`` block when nothing was searched."""
        return {"max_drop_points": self.max_drop, "cause": self.cause, "skipped": self.reason}


def no_validation_split(context: QuantContext) -> str:
    """Why a budget cannot be tuned on ``context``'s dataset, in words."""
    dataset = split_parts(context.split.name)[0] if context.split is not None else "this dataset"
    return f"{dataset} has no prepared validation split to score on (the test split is never used to choose)"


def untuned(applied: Applied, config: TuningOption, cause: SkipCause, reason: str) -> Applied:
    """``applied`` (built without a budget) with a report that records the budget was skipped and
    why, after one warning line: a track that sets a budget still builds on a dataset it cannot tune on."""
    print(f"warning: quant_config.max_drop={config.max_drop} not tuned: {reason}", file=sys.stderr)
    model, report = applied
    return model, dataclasses.replace(report, tuning=TuningSkipped(config.max_drop, cause, reason))


def tune(fp32: Reference, config: C, build: Callable[[C], Applied]) -> Applied:
    """Run :func:`tune_fallback` for a method: ``build`` quantizes with a round's config (``config``
    also skipping that round's FP32 Linears). Returns the last kept round's model and report; the
    report's config skips the Linears kept FP32, so the saved config rebuilds the same structure
    without data, and its ``tuning`` records every round. ``config`` is left as it was."""
    budget = Budget(config.max_drop / 100, None if config.max_changed is None else config.max_changed / 100)

    def progress(number: int, step: Step) -> None:  # a round can take minutes: say where the search is
        moved = f" {step.module}" if step.module else ""
        print(f"tuning round {number} of at most {config.tuning_max_steps + 1} ({step.action}{moved}): validation "
              f"macro-F1 {step.score:.4f}, {abs(100 * step.drop):.2f} points {'below' if step.drop > 0 else 'above'} "
              f"FP32 (budget {config.max_drop} below), {len(step.fp32)} Linear{'' if len(step.fp32) == 1 else 's'} FP32",
              file=sys.stderr)

    (model, report), search = tune_fallback(
        lambda names: build(with_fp32(config, names)), lambda applied: fp32.measure(applied[0]), fp32.baseline_score,
        budget, fp32.candidates, fp32.sensitivity, config.tuning_max_steps, progress)
    result = TuningResult(search, config.tuning_strategy, fp32.texts)
    block = result.manifest_block()
    changed_budget = "" if config.max_changed is None else f", budget {config.max_changed}%"
    print(f"tuning: validation macro-F1 {block['macro_f1']} against FP32 {block['baseline_macro_f1']} "
          f"({abs(block['drop_points'])} points {'below' if block['drop_points'] > 0 else 'above'} it, "
          f"budget {config.max_drop} below; {block['changed_percent']}% of predictions changed{changed_budget}), "
          f"{len(search.skipped)} of {len(fp32.candidates)} Linears kept FP32 after {len(search.steps)} rounds: "
          f"{search.stopped}")
    return model, dataclasses.replace(report, tuning=result)


def fall_back_(model: torch.nn.Module, config: QuantConfig, kind: type[torch.nn.Module],
               to_fp32: Callable[[Any], torch.nn.Module]) -> torch.nn.Module:
    """Replace each ``kind`` module ``config`` skips by ``to_fp32(module)``: a method that chooses
    after preparing its Linears (QAT, after training) turns a round's fallbacks back into Linears."""
    def chosen(module: torch.nn.Module, fqn: str) -> bool:
        return isinstance(module, kind) and config.skipped(fqn)

    if select(model, chosen):
        replace_modules(model, chosen, to_fp32)
    return model


class TunableMethod(QuantMethod):
    """A method that can tune its FP32 Linears: with a ``max_drop`` budget it also reads labelled
    validation examples (and train texts for the sensitivity), which a calibrated or data-free
    method does not read otherwise."""

    def data_for(self, config: dict[str, Any]) -> DataNeed:
        tuned = config.get("max_drop") is not None and self.data in (DataNeed.NONE, DataNeed.CALIBRATION)
        return DataNeed.VALIDATION if tuned else self.data
