"""Accuracy-aware tuning, as Intel Neural Compressor's: quantize every Linear, measure validation
macro-F1, and while it drops more than ``max_drop`` points below FP32, put the most sensitive
Linear back in FP32 and measure again.

The search (:func:`tune_fallback`) knows nothing about torch or the methods: it gets a ``build``
(the set of Linears to keep FP32 -> a quantized model), a ``score`` (model -> validation macro-F1)
and a sensitivity per Linear that orders the candidates. Two strategies measure that sensitivity
on a sample of the train split: ``sensitivity``, each Linear's output error when its input is
quantized per tensor and its weight per output channel (:func:`quant_errors`), and
``outlier_spread``, its token spread (glue/quant/outliers.py), the rule the hand-picked
``outlier_ratio`` applies. Once within budget, the Linears that fell back before the last one are
tried in int8 again, least sensitive first, so the result keeps as few FP32 Linears as the
measured budget allows. Only the validation split is read; the test split never is.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

import torch

from data_prep.prepared import Split
from glue.quant.base import FilterFn, QuantConfig, QuantContext, layer_filter, observe, require, select
from glue.quant.outliers import SCAN_BATCH_SIZE, token_spreads
from glue.quant.smooth import SMOOTHED_INNER
from glue.training import compute_metrics

Strategy = Literal["sensitivity", "outlier_spread"]
SCORE_BATCH_SIZE = 64
ROUNDING = 1e-9  # a drop this far above the budget is float rounding of an equal one


@dataclass
class TuningOption(QuantConfig):
    """For static INT8 methods (ptq_static, qat, ptq_pt2e, qat_pt2e): a validation budget that
    decides which Linears stay FP32."""

    max_drop: float | None = None  # macro-F1 points below FP32 allowed on validation; None turns tuning off
    tuning_strategy: Strategy = "sensitivity"  # how the fallback candidates are ordered
    tuning_max_steps: int = 12  # quantize-and-score rounds after the first (all Linears int8)
    tuning_samples: int = 256  # first N train texts the sensitivity is measured on

    def validate(self) -> None:
        super().validate()
        require(self.max_drop is None or self.max_drop >= 0, "max_drop",
                f"{self.max_drop}: a budget is 0 or more macro-F1 points (0.5 allows half a point)")
        require(self.tuning_max_steps >= 1, "tuning_max_steps", "must be 1 or more")
        require(self.tuning_samples > 0, "tuning_samples", "must be positive")


@dataclass
class Step:
    """One quantize-and-score round: what changed and where validation macro-F1 landed."""

    action: Literal["quantize_all", "fallback", "requantize"]
    module: str | None  # the Linear that moved (None for the first round)
    fp32: list[str]     # the Linears tuning keeps FP32 after this round
    score: float
    drop: float         # baseline_score - score
    kept: bool          # False: a requantize that broke the budget, undone


@dataclass
class TuningResult:
    baseline_score: float
    max_drop: float
    skipped: list[str]  # the Linears kept FP32, in the order they fell back
    steps: list[Step]
    met: bool
    stopped: Literal["within budget", "step limit", "no candidates left"]
    order: list[tuple[str, float]]  # candidates by sensitivity, most sensitive first (empty if never needed)
    model: Any = field(default=None, repr=False)  # the model of the last kept round

    @property
    def score(self) -> float:
        return next(s.score for s in reversed(self.steps) if s.kept)


def ranked(candidates: Sequence[str], sensitivity: Mapping[str, float]) -> list[tuple[str, float]]:
    """Candidates, most sensitive first; one the measurement never reached goes last."""
    values = [(name, float(sensitivity.get(name, float("-inf")))) for name in candidates]
    return sorted(values, key=lambda item: -item[1])


def tune_fallback(build: Callable[[frozenset[str]], Any], score: Callable[[Any], float], baseline_score: float,
                  max_drop: float, candidates: Sequence[str],
                  sensitivity: Mapping[str, float] | Callable[[], Mapping[str, float]],
                  max_steps: int) -> TuningResult:
    """Fall back ``candidates`` one at a time, most sensitive first, until ``baseline_score - score``
    is at most ``max_drop`` or ``max_steps`` rounds after the first are spent; then try the earlier
    fallbacks in int8 again (least sensitive first) while rounds remain. All candidates but one at
    most fall back: with none left nothing would be quantized. ``sensitivity`` may be a callable,
    measured only if the all-int8 model misses the budget."""
    steps: list[Step] = []

    def round_(action: str, module: str | None, fp32: list[str]) -> tuple[Any, Step]:
        model = build(frozenset(fp32))
        value = score(model)
        step = Step(action, module, list(fp32), value, baseline_score - value, True)
        steps.append(step)
        return model, step

    model, step = round_("quantize_all", None, [])
    within = step.drop <= max_drop + ROUNDING
    if within:
        return TuningResult(baseline_score, max_drop, [], steps, True, "within budget", [], model)
    order = ranked(candidates, sensitivity() if callable(sensitivity) else sensitivity)
    fp32: list[str] = []
    for name, _ in order[:-1]:
        if len(steps) > max_steps or within:
            break
        fp32.append(name)
        model, step = round_("fallback", name, fp32)
        within = step.drop <= max_drop + ROUNDING
    if within:
        rank = {name: i for i, (name, _) in enumerate(order)}
        for name in sorted(fp32[:-1], key=lambda n: -rank[n]):  # least sensitive first
            if len(steps) > max_steps:
                break
            trial_model, trial = round_("requantize", name, [n for n in fp32 if n != name])
            if trial.drop <= max_drop + ROUNDING:
                fp32, model = trial.fp32, trial_model
            else:
                trial.kept = False
    stopped = "within budget" if within else "step limit" if len(fp32) < len(order) - 1 else "no candidates left"
    return TuningResult(baseline_score, max_drop, fp32, steps, within, stopped, order, model)


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


@torch.no_grad()
def quant_errors(model: torch.nn.Module, filter_fn: FilterFn, batches: list[dict[str, torch.Tensor]],
                 reduce_range: bool = False) -> dict[str, float]:
    """Each selected Linear's relative output error, ``||y - y_q|| / ||y||`` over ``batches``, where
    ``y_q`` uses its int8 input (one range per batch) and int8 weight: how much int8 alone costs it."""
    modules = dict(select(model, filter_fn))
    sums: dict[str, list[float]] = {}  # name -> [squared error, squared output]

    def record(name: str, x: torch.Tensor, y: torch.Tensor, _batch: dict[str, torch.Tensor]) -> None:
        linear = modules[name]
        y_q = torch.nn.functional.linear(fake_quant_per_tensor(x, reduce_range), fake_quant_per_channel(linear.weight),
                                         linear.bias)
        error, norm = sums.setdefault(name, [0.0, 0.0])
        sums[name] = [error + (y.float() - y_q).pow(2).sum().item(), norm + y.float().pow(2).sum().item()]

    observe(model, filter_fn, batches, record)
    return {name: (error / norm) ** 0.5 if norm else 0.0 for name, (error, norm) in sums.items()}


def sensitivities(model: torch.nn.Module, config: TuningOption, context: QuantContext,
                  reduce_range: bool = False) -> dict[str, float]:
    """The configured strategy's measure for each Linear of ``model`` (FP32, or smoothed: an inner
    ``.linear`` is named as the Linear it replaced) on the first ``tuning_samples`` train texts."""
    batches = context.batches(SCAN_BATCH_SIZE, config.tuning_samples)
    if config.tuning_strategy == "outlier_spread":
        measured = token_spreads(model.eval(), config, batches)
    else:
        measured = quant_errors(model.eval(), layer_filter(config), batches, reduce_range)
    return {name.removesuffix(SMOOTHED_INNER): value for name, value in measured.items()}


def by_length(split: Split) -> Split:
    """``split`` with its examples sorted by text length, the order :meth:`QuantContext.batches`
    keeps, so the labels line up with the batched logits."""
    order = sorted(range(len(split)), key=lambda i: len(split.texts[i]))
    return dataclasses.replace(split, texts=[split.texts[i] for i in order], labels=[split.labels[i] for i in order])


def validation_scorer(context: QuantContext) -> Callable[[torch.nn.Module], float]:
    """Model -> macro-F1 on the prepared validation split (``context.validation``), the figure the
    training block reports."""
    require(context.validation is not None, "max_drop",
            "tuning scores the validation split: run it through python -m glue.quantize with a prepared "
            "<dataset>_validation split")
    ordered = by_length(context.validation)
    batches = dataclasses.replace(context, split=ordered).batches(SCORE_BATCH_SIZE)

    @torch.inference_mode()
    def score(model: torch.nn.Module) -> float:
        outputs = [model(**batch) for batch in batches]
        logits = torch.cat([o if isinstance(o, torch.Tensor) else o.logits for o in outputs]).float()
        return float(compute_metrics((logits.numpy(), ordered.labels))["macro_f1"])

    return score


def with_fp32(config: QuantConfig, fp32: frozenset[str] | list[str]) -> QuantConfig:
    """A copy of ``config`` that also skips the Linears in ``fp32`` (in a stable order)."""
    return dataclasses.replace(copy.deepcopy(config), skip_modules=[*config.skip_modules, *sorted(fp32)])


@dataclass
class Reference:
    """What tuning reads from the FP32 model before a method changes it."""

    score: Callable[[torch.nn.Module], float]  # model -> validation macro-F1
    baseline_score: float
    candidates: list[str]  # every Linear the method would quantize
    sensitivity: dict[str, float]


def reference(model: torch.nn.Module, config: TuningOption, context: QuantContext,
              probe: torch.nn.Module | None = None, reduce_range: bool = False) -> Reference:
    """Score the FP32 ``model`` on validation, list its candidate Linears and measure their
    sensitivity, on ``probe`` when the method quantizes a transformed copy (SmoothQuant's)."""
    score = validation_scorer(context)
    return Reference(score, score(model.eval()), [name for name, _ in select(model, layer_filter(config))],
                     sensitivities(model if probe is None else probe, config, context, reduce_range))


def tune_(fp32: Reference, config: TuningOption, context: QuantContext,
          build: Callable[[frozenset[str]], torch.nn.Module]) -> torch.nn.Module:
    """Run :func:`tune_fallback` for a method; the Linears kept FP32 join ``config.skip_modules``,
    so the saved config rebuilds the same structure without data, and the manifest's ``tuning``
    block records every round. Returns the model of the last kept round."""
    result = tune_fallback(build, fp32.score, fp32.baseline_score, config.max_drop / 100, fp32.candidates,
                           fp32.sensitivity, config.tuning_max_steps)
    config.skip_modules = [*config.skip_modules, *result.skipped]
    context.stats["tuning"] = block = manifest_block(result, config, len(context.validation))
    print(f"tuning: validation macro-F1 {block['macro_f1']} against FP32 {block['baseline_macro_f1']} "
          f"({block['drop_points']} points below, budget {config.max_drop}), {len(result.skipped)} of "
          f"{len(fp32.candidates)} Linears kept FP32 after {len(result.steps)} rounds: {result.stopped}")
    return result.model


def manifest_block(result: TuningResult, config: TuningOption, texts: int) -> dict[str, Any]:
    """The manifest's ``tuning`` block: macro-F1 as a fraction, drops in points."""
    return {
        "max_drop_points": config.max_drop, "strategy": config.tuning_strategy, "source": "validation",
        "texts": texts, "baseline_macro_f1": round(result.baseline_score, 4),
        "macro_f1": round(result.score, 4), "drop_points": round(100 * (result.baseline_score - result.score), 2),
        "met": result.met, "stopped": result.stopped, "kept_fp32": result.skipped,
        "steps": [{"action": s.action, "module": s.module, "fp32": len(s.fp32), "macro_f1": round(s.score, 4),
                   "drop_points": round(100 * s.drop, 2), "kept": s.kept} for s in result.steps],
        "sensitivity": {name: round(value, 4) if math.isfinite(value) else None for name, value in result.order}}
