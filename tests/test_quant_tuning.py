"""Accuracy-aware tuning (glue/quant/tuning.py): the fallback search on hand-computed cases, the
sensitivity measure on a Linear with a known outlier channel, and one run through the CLI code on
a tiny baseline whose score is instrumented so one Linear must stay FP32."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import torch

from glue.folder.variant import load_variant
from glue.quant import QuantConfig, get_method
from glue.quant.tuning import (
    Budget,
    Measure,
    TuningResult,
    fake_quant_per_channel,
    fake_quant_per_tensor,
    logit_errors,
    quant_errors,
    tune_fallback,
)
from glue.quantize import quantize_recipe
from glue.schema.recipe import RecipeError, load_recipe

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes" / "quantize"
# Four layers with a known cost each when int8 (macro-F1 lost); exact binary fractions, so every
# sum below is exact.
DAMAGE = {"a": 0.25, "b": 0.125, "c": 0.0625, "d": 0.03125}


def fake(damage: dict[str, float], flips: dict[str, float]):
    """A build that returns the FP32 set as the 'model', a score of 1 minus the int8 layers' damage
    and a changed share that is the sum of their ``flips``, and the list of builds made."""
    built: list[frozenset[str]] = []

    def build(fp32: frozenset[str]) -> frozenset[str]:
        built.append(fp32)
        return fp32

    def measure(fp32: frozenset[str]) -> Measure:
        return Measure(1.0 - sum(cost for name, cost in damage.items() if name not in fp32),
                       sum(share for name, share in flips.items() if name not in fp32))

    return build, measure, built


def run(max_drop: float, max_steps: int = 10, sensitivity=None, damage=DAMAGE, max_changed: float | None = None,
        flips: dict[str, float] | None = None):
    """The chosen 'model' (its FP32 set), the search and every build made; checks that every round
    was announced as it was scored, in order."""
    build, measure, built = fake(damage, flips or {})
    heard: list[tuple[int, float]] = []
    model, search = tune_fallback(build, measure, 1.0, Budget(max_drop, max_changed), list(damage),
                                  sensitivity or DAMAGE, max_steps, lambda n, step: heard.append((n, step.drop)))
    assert heard == [(n, step.drop) for n, step in enumerate(search.steps, 1)]
    return model, search, built


def test_falls_back_most_sensitive_first_and_stops_within_budget() -> None:
    model, result, _ = run(max_drop=0.1)  # all int8: 0.46875; without a: 0.21875; without a, b: 0.09375
    assert result.met and result.stopped == "within budget"
    assert result.skipped == ["a", "b"]
    assert [(s.action, s.module, s.drop, s.kept) for s in result.steps] == [
        ("quantize_all", None, 0.46875, True), ("fallback", "a", 0.21875, True), ("fallback", "b", 0.09375, True),
        ("requantize", "a", 0.34375, False)]  # a back in int8 breaks the budget: undone
    assert result.score == 1.0 - 0.09375 and model == frozenset({"a", "b"})
    assert [name for name, _ in result.order] == ["a", "b", "c", "d"]


def test_a_changed_predictions_budget_falls_back_where_macro_f1_alone_would_not() -> None:
    # the drop stays within 0.5 all along; the changed share is 0.0625 per int8 layer but a's 0.25:
    # all int8 changes 0.4375, without a 0.1875, without a and b 0.125, without a, b, c 0.0625
    flips = {"a": 0.25, "b": 0.0625, "c": 0.0625, "d": 0.0625}
    _, result, _ = run(max_drop=0.5)
    assert result.met and result.skipped == [] and len(result.steps) == 1
    _, result, _ = run(max_drop=0.5, max_changed=0.125, flips=flips)
    assert result.met and result.skipped == ["a", "b"]
    assert [(s.action, s.module, s.changed, s.kept) for s in result.steps] == [
        ("quantize_all", None, 0.4375, True), ("fallback", "a", 0.1875, True), ("fallback", "b", 0.125, True),
        ("requantize", "a", 0.375, False)]  # a back in int8: drop 0.34375 is within 0.5, 0.375 changed is not
    block = TuningResult(result, "sensitivity", 2000).manifest_block()
    assert block["max_changed_percent"] == 12.5 and block["changed_percent"] == 12.5
    assert [s["changed_percent"] for s in block["steps"]] == [43.75, 18.75, 12.5, 37.5]


def test_a_misleading_order_is_trimmed_to_the_fewest_fallbacks() -> None:
    damage = {"a": 0.5, "b": 0.0625, "c": 0.0625, "d": 0.0625}  # all int8: 0.6875
    # measured order d, a, c, b: d then a reach 0.125; d back in int8 gives 0.1875 > 0.125, so d stays
    _, result, _ = run(max_drop=0.125, sensitivity={"d": 4.0, "a": 3.0, "c": 2.0, "b": 1.0}, damage=damage)
    assert result.met and result.skipped == ["d", "a"]
    # order d, c, a, b: d, c, a reach 0.0625; c (the less sensitive) back: 0.125, kept; then d: 0.1875, kept
    _, result, _ = run(max_drop=0.1875, sensitivity={"d": 4.0, "c": 3.0, "a": 2.0, "b": 1.0}, damage=damage)
    assert result.met and result.skipped == ["a"]
    assert [(s.action, s.module, s.drop, s.kept) for s in result.steps] == [
        ("quantize_all", None, 0.6875, True), ("fallback", "d", 0.625, True), ("fallback", "c", 0.5625, True),
        ("fallback", "a", 0.0625, True), ("requantize", "c", 0.125, True), ("requantize", "d", 0.1875, True)]


def test_an_impossible_budget_reports_not_met_with_every_figure() -> None:
    _, result, built = run(max_drop=0.0)
    assert not result.met and result.stopped == "no candidates left"
    assert result.skipped == ["a", "b", "c"]  # never all four: nothing would be quantized
    assert [s.drop for s in result.steps] == [0.46875, 0.21875, 0.09375, 0.03125]
    assert len(built) == 4 and result.score == 1.0 - 0.03125


def test_a_budget_never_met_keeps_the_best_round_not_the_last() -> None:
    # falling back "b" costs score (its int8 rounding happens to help): the rounds after "a" are undone
    damage, order = {"a": 0.25, "b": -0.0625, "c": 0.03125, "d": 0.5}, {"a": 4, "b": 3, "c": 2, "d": 1}
    model, result, built = run(max_drop=0.0, sensitivity=order, damage=damage)
    assert [s.drop for s in result.steps] == [0.71875, 0.46875, 0.53125, 0.5]
    assert not result.met and result.stopped == "no candidates left"
    assert [s.kept for s in result.steps] == [True, True, False, False]
    assert model == frozenset({"a"}) and result.skipped == ["a"] and result.score == 1.0 - 0.46875
    assert built[-1] == frozenset({"a"}) and len(built) == 5  # four scored rounds, then the best one rebuilt


def test_a_budget_never_met_keeps_the_fewest_fp32_linears_within_the_budget_of_the_best_round() -> None:
    # drops 0.71875, 0.46875 (a FP32), 0.4375 (a, b), 0.40625 (a, b, c): none within 0.25
    damage, order = {"a": 0.25, "b": 0.03125, "c": 0.03125, "d": 0.40625}, {"a": 4, "b": 3, "c": 2, "d": 1}
    model, result, built = run(max_drop=0.25, sensitivity=order, damage=damage)
    assert [s.drop for s in result.steps] == [0.71875, 0.46875, 0.4375, 0.40625]
    assert not result.met and result.stopped == "no candidates left"
    # the best round is 0.40625 with three FP32; a alone is 0.0625 worse, within the 0.25 budget
    assert [s.kept for s in result.steps] == [True, True, False, False]
    assert model == frozenset({"a"}) and result.skipped == ["a"] and result.score == 1.0 - 0.46875
    assert built[-1] == frozenset({"a"})
    # a tighter budget tells those rounds apart: each fallback beyond a buys more than 0.03 points
    model, result, _ = run(max_drop=0.03, sensitivity=order, damage=damage)
    assert not result.met and model == frozenset({"a", "b", "c"}) and all(s.kept for s in result.steps)


def test_max_steps_is_honoured() -> None:
    _, result, built = run(max_drop=0.0, max_steps=2)
    assert not result.met and result.stopped == "step limit"
    assert result.skipped == ["a", "b"] and len(built) == 3  # the all-int8 round and two more

    _, result, built = run(max_drop=0.1, max_steps=2)  # within budget on the last round: no trimming left
    assert result.met and result.skipped == ["a", "b"] and len(built) == 3


def test_no_fallback_needed_takes_one_round_and_measures_nothing() -> None:
    def unmeasured() -> dict[str, float]:
        raise AssertionError("sensitivity is measured only when the budget is missed")

    _, result, built = run(max_drop=0.5, sensitivity=unmeasured)
    assert result.met and result.skipped == [] and len(result.steps) == 1 and built == [frozenset()]


def test_fake_quant_matches_the_observers_the_methods_use() -> None:
    from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

    torch.manual_seed(0)
    weight, x = torch.randn(5, 7), torch.randn(11, 7) * 3 + 1
    observer = PerChannelMinMaxObserver(dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    observer(weight)
    scale, zero_point = observer.calculate_qparams()
    expected = torch.fake_quantize_per_channel_affine(weight, scale, zero_point.int(), 0, -128, 127)
    torch.testing.assert_close(fake_quant_per_channel(weight), expected)
    for reduce_range in (False, True):
        observer = MinMaxObserver(dtype=torch.quint8, reduce_range=reduce_range)
        observer(x)
        scale, zero_point = observer.calculate_qparams()
        quant_max = 127 if reduce_range else 255
        expected = torch.fake_quantize_per_tensor_affine(x, scale.item(), int(zero_point), 0, quant_max)
        torch.testing.assert_close(fake_quant_per_tensor(x, reduce_range), expected)


class TwoLinears(torch.nn.Module):
    """The same Linear twice: once on plain inputs, once with one input channel 100x larger."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.plain, self.outlier = torch.nn.Linear(8, 4), torch.nn.Linear(8, 4)
        with torch.no_grad():
            self.plain.weight[:, 3] = 0.01  # the outlier channel adds about as much as the others to y
            self.outlier.load_state_dict(self.plain.state_dict())

    def forward(self, x: torch.Tensor) -> None:
        self.plain(x)
        self.outlier(x * torch.tensor([1, 1, 1, 100, 1, 1, 1, 1.0]))


def test_quant_error_ranks_the_linear_with_an_outlier_channel_first() -> None:
    model = TwoLinears()
    batch = {"x": torch.randn(2, 16, 8)}
    errors = quant_errors(model, lambda module, _: isinstance(module, torch.nn.Linear), [batch])
    # one scale per tensor spans the outlier channel: the other seven lose most of their resolution
    assert errors["outlier"] > 10 * errors["plain"]
    # by hand: the plain Linear's error is that of its int8 input and int8 weight
    x = batch["x"]
    y = model.plain(x).detach()
    y_q = torch.nn.functional.linear(fake_quant_per_tensor(x, False), fake_quant_per_channel(model.plain.weight),
                                     model.plain.bias)
    assert errors["plain"] == pytest.approx(((y - y_q).norm() / y.norm()).item(), rel=1e-5)


class LoudAndQuiet(torch.nn.Module):
    """Two identical Linears on the same input: one output weighs 1,000 times the other in the logits."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.loud, self.quiet = torch.nn.Linear(8, 4), torch.nn.Linear(8, 4)
        self.quiet.load_state_dict(self.loud.state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 10 * self.loud(x) + 0.01 * self.quiet(x)


def test_logit_error_weighs_a_linear_by_what_its_error_does_to_the_logits() -> None:
    model, batch = LoudAndQuiet(), {"x": torch.randn(2, 16, 8)}
    fp32 = model(**batch)
    linears = lambda module, _: isinstance(module, torch.nn.Linear)  # noqa: E731
    at_the_linear = quant_errors(model, linears, [batch])
    at_the_logits = logit_errors(model, linears, [batch])
    assert at_the_linear["loud"] == pytest.approx(at_the_linear["quiet"])  # the same rounding of the same numbers
    # by hand: z = 10.01 y, and rounding only the loud Linear moves z by 10 (y_q - y)
    assert at_the_logits["loud"] == pytest.approx(10 / 10.01 * at_the_linear["loud"], rel=1e-5)
    assert at_the_logits["quiet"] == pytest.approx(0.01 / 10.01 * at_the_linear["quiet"], rel=1e-5)
    assert model(**batch).equal(fp32)  # every hook removed


def test_bad_budget_fails_at_once() -> None:
    config_cls = get_method("ptq_static").config_cls
    with pytest.raises(RecipeError, match="quant_config.max_drop"):
        config_cls.from_dict({"max_drop": -1.0})
    with pytest.raises(RecipeError, match="quant_config.tuning_max_steps"):
        config_cls.from_dict({"max_drop": 0.5, "tuning_max_steps": 0})
    with pytest.raises(RecipeError, match="quant_config.tuning_strategy"):
        config_cls.from_dict({"tuning_strategy": "random"})


# The Linear the instrumented score punishes when it is int8, by 50 macro-F1 points.
PUNISHED = "bert.encoder.layer.0.attention.self.value"
LINEARS = 12  # the tiny BERT's encoder Linears (2 layers of 6); the heads stay FP32 anyway


def int8_linears(method: str, model: torch.nn.Module) -> set[str]:
    """The int8 modules the method's manifest walk finds, named as in the FP32 model (an eager
    QuantWrapper holds its Linear as ``.module``)."""
    from glue.quant.ptq_pt2e import PT2EClassifier

    quant = get_method(method)
    if method.endswith("pt2e") and not isinstance(model, PT2EClassifier):
        return set()  # the FP32 model scored for the baseline
    walked = quant.describe(model, quant.config_cls(), 8)["quantized"]["modules"]
    return {name.removesuffix(".module") for name in walked}


def punish(monkeypatch: pytest.MonkeyPatch, method: str, penalty) -> None:
    """Replace the validation scorer by the real one minus ``penalty(int8 Linear names)``: the
    drop then exceeds the budget wherever the penalty says, whatever the tiny random model's own."""
    from glue.quant import tuning

    real = tuning.validation_scorer

    def scorer(context):
        score = real(context)

        def punished(model):
            macro_f1, predictions = score(model)
            return macro_f1 - penalty(int8_linears(method, model)), predictions

        return punished

    monkeypatch.setattr(tuning, "validation_scorer", scorer)


def assert_close_to_baseline(variant, baseline: Path) -> None:
    """The reloaded variant (its fallback Linears rebuilt FP32 from the saved config) predicts like
    the FP32 baseline up to int8 rounding (and QAT's two training steps)."""
    texts = ["i feel so alone tonight", "what a wonderful surprise party", "i am furious with the delay"]
    reference, logits = load_variant(baseline).logits(texts), variant.logits(texts)
    assert (logits - reference).abs().max() <= 0.3 * reference.abs().max()


def quantize(method: str, baseline: Path, data: Path, out: Path, **options: object) -> Path:
    recipe = RECIPES / f"{method}.yaml"
    values: dict[str, object] = {"base_model_dir": str(baseline), "model_name_or_path": str(baseline),
                                 "dataset_dir": str(data), "output_dir": str(out / method)}
    if method.startswith("qat"):
        values.update(max_train_samples=32, per_device_train_batch_size=8, max_steps=2, logging_steps=1)
    quant_config = {**load_recipe(recipe).glue.quant_config, "calibration_samples": 16, "calibration_batch_size": 8,
                    "tuning_samples": 16, **options}
    options_of = get_method(method).config_cls.__dataclass_fields__
    values["quant_config"] = {key: value for key, value in quant_config.items() if key in options_of}
    return quantize_recipe(load_recipe(recipe, values))


def test_ptq_static_keeps_the_punished_linear_fp32_and_reloads(monkeypatch: pytest.MonkeyPatch, tiny_bert_dir: Path,
                                                               prepared_dir: Path, tmp_path: Path) -> None:
    punish(monkeypatch, "ptq_static", lambda int8: 0.5 if PUNISHED in int8 else 0.0)
    variant = load_variant(quantize("ptq_static", tiny_bert_dir, prepared_dir, tmp_path,
                                    max_drop=40.0, tuning_max_steps=30))
    block = variant.manifest.quantization
    tuning = block["tuning"]
    assert tuning["met"] and tuning["kept_fp32"] == [PUNISHED]  # the others went back to int8
    assert tuning["steps"][0]["action"] == "quantize_all" and tuning["steps"][0]["drop_points"] > 40
    assert tuning["drop_points"] <= 40 and tuning["texts"] == 48
    assert any(s["action"] == "fallback" and s["module"] == PUNISHED for s in tuning["steps"])
    assert PUNISHED in block["config"]["skip_modules"] and PUNISHED in block["higher_precision"]["modules"]
    assert not any(name.startswith(PUNISHED) for name in block["quantized"]["modules"])
    assert len(block["quantized"]["modules"]) == LINEARS - 1
    assert "validation" in variant.manifest.data_sha256
    assert_close_to_baseline(variant, tiny_bert_dir)


def test_tuning_leaves_the_caller_s_config_alone_and_reports_its_rounds(
        monkeypatch: pytest.MonkeyPatch, tiny_bert_dir: Path, prepared_dir: Path) -> None:
    from data_prep.prepared import load_split
    from glue.quant import QuantContext, quantize

    punish(monkeypatch, "ptq_static", lambda int8: 0.5 if PUNISHED in int8 else 0.0)
    baseline = load_variant(tiny_bert_dir)
    config = get_method("ptq_static").config_cls.from_dict(
        {"max_drop": 40.0, "tuning_max_steps": 30, "calibration_samples": 16, "tuning_samples": 16})
    before = copy.deepcopy(config)
    context = QuantContext(baseline.tokenizer, load_split(prepared_dir, "emotion_train"), baseline.max_length,
                           validation=load_split(prepared_dir, "emotion_validation"))
    _, report = quantize(baseline.model, config, context)
    assert config == before  # the chosen Linears are in the returned copy only
    assert isinstance(report.tuning, TuningResult) and report.tuning.search.skipped == [PUNISHED]
    assert report.config.skip_modules == [*config.skip_modules, PUNISHED]
    assert report.quantization_entries()["tuning"]["max_drop_points"] == 40.0


def test_a_budget_is_scored_on_validation_data() -> None:
    from glue.quant import DataNeed
    from report.methods import DATA_WORDS

    assert get_method("ptq_static").data_for({"max_drop": 0.5}) is DataNeed.VALIDATION
    assert get_method("ptq_pt2e").data_for({"max_drop": 0.0}) is DataNeed.VALIDATION
    assert get_method("ptq_static").data_for({"max_drop": None}) is DataNeed.CALIBRATION
    assert get_method("qat").data_for({"max_drop": 0.5}) is DataNeed.TRAINING  # labelled data already
    assert set(DATA_WORDS) == set(DataNeed)


def test_without_validation_data_a_static_method_builds_untuned_and_says_why(tiny_bert_dir: Path, prepared_dir: Path,
                                                                            capsys) -> None:
    from data_prep.prepared import load_split
    from glue.quant import QuantContext, quantize
    from glue.quant.tuning import TuningSkipped

    baseline = load_variant(tiny_bert_dir)
    config = get_method("ptq_static").config_cls.from_dict({"max_drop": 0.5, "calibration_samples": 16})
    context = QuantContext(baseline.tokenizer, load_split(prepared_dir, "emotion_train"), baseline.max_length)
    model, report = quantize(baseline.model, config, context)
    assert report.tuning == TuningSkipped(0.5, "no_validation_split", "emotion has no prepared validation split to "
                                          "score on (the test split is never used to choose)")
    assert report.config == dataclasses.replace(config, max_drop=None)  # every Linear int8, as without a budget
    assert sum(isinstance(m, torch.ao.nn.quantized.Linear) for m in model.modules()) == LINEARS
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")] == [
        "warning: quant_config.max_drop=0.5 not tuned: " + report.tuning.reason]


@pytest.mark.parametrize(("method", "strategy"), [("ptq_pt2e", "sensitivity"), ("qat", "outlier_spread"),
                                                  ("qat_pt2e", "sensitivity")])
def test_one_fallback_is_saved_and_reloads(monkeypatch: pytest.MonkeyPatch, tiny_bert_dir: Path, prepared_dir: Path,
                                           tmp_path: Path, method: str, strategy: str) -> None:
    # only the all-int8 model misses the budget: the most sensitive Linear falls back, nothing else
    punish(monkeypatch, method, lambda int8: 0.5 if len(int8 - {"bert.embeddings.word_embeddings"}) == LINEARS else 0.0)
    variant = load_variant(quantize(method, tiny_bert_dir, prepared_dir, tmp_path, max_drop=40.0, compile=False,
                                    tuning_strategy=strategy))
    block = variant.manifest.quantization
    tuning = block["tuning"]
    assert tuning["strategy"] == strategy and len(tuning["sensitivity"]) == LINEARS
    first = next(iter(tuning["sensitivity"]))
    assert tuning["met"] and tuning["kept_fp32"] == [first] and len(tuning["steps"]) == 2
    quantized = [name.removesuffix(".module") for name in block["quantized"]["modules"]]
    assert len(quantized) - quantized.count("bert.embeddings.word_embeddings") == LINEARS - 1 and first not in quantized
    assert first in block["config"]["skip_modules"]
    assert_close_to_baseline(variant, tiny_bert_dir)


def test_a_smoothed_linear_falls_back_to_the_same_function() -> None:
    from glue.quant.qat_pt2e import folded
    from glue.quant.smooth import SmoothedLinear, smooth_scales
    from glue.quant.tuning import fall_back_

    model = TwoLinears()
    x = torch.randn(2, 16, 8) * torch.tensor([1, 1, 1, 100, 1, 1, 1, 1.0])
    expected = model.outlier(x)
    model.outlier = SmoothedLinear(model.outlier, smooth_scales(x.abs().amax(dim=(0, 1)), model.outlier.weight, 0.75))
    fall_back_(model, QuantConfig(skip_modules=["outlier"]), SmoothedLinear, folded)
    assert type(model.outlier) is torch.nn.Linear
    torch.testing.assert_close(model.outlier(x), expected)


# NF4 codes (QLoRA's table, as bitsandbytes.functional.get_4bit_type gives them) the hand case lands near.
NF4 = {"1.0": 1.0, "0.4407": 0.44070982933044434, "-0.2844": -0.28444138169288635, "0.1609": 0.16093020141124725}


@pytest.mark.parametrize(("bits", "expected"), [
    # 4-bit, one block of 64 with absmax 2: w / 2 goes to the nearest NF4 code (0.45 is 0.0093 from 0.4407,
    # -0.3 is 0.0156 from -0.2844, 0.15 is 0.0109 from 0.1609), times 2 again
    (4, [2 * NF4["1.0"], 2 * NF4["0.4407"], 2 * NF4["-0.2844"], 2 * NF4["0.1609"]]),
    # LLM.int8(), one absmax per row: round(w * 127 / 2) * 2 / 127 (57.15, -38.1 and 19.05 round to 57, -38, 19)
    (8, [2.0, 2 * 57 / 127, 2 * -38 / 127, 2 * 19 / 127]),
])
def test_bnb_sensitivity_is_the_output_error_of_its_weight_rounding(bits: int, expected: list[float]) -> None:
    from glue.quant.bnb import BnbConfig, weight_rounding
    from glue.quant.tuning import weight_output

    linear = torch.nn.Linear(64, 1, bias=False)
    weight = torch.zeros(1, 64)
    weight[0, :4] = torch.tensor([2.0, 0.9, -0.6, 0.3])
    with torch.no_grad():
        linear.weight.copy_(weight)
    rounded = weight_rounding(BnbConfig(bits=bits, double_quant=False))(linear.weight)
    torch.testing.assert_close(rounded[0, :4], torch.tensor(expected), rtol=0, atol=1e-6)
    assert rounded[0, 4:].abs().max() == 0  # zero is a code of both grids

    x = torch.tensor([[[1.0, 1.0, 1.0, 1.0] + [0.0] * 60, [0.0, 1.0, 0.0, 0.0] + [0.0] * 60]])
    errors = quant_errors(torch.nn.Sequential(linear), lambda module, _: isinstance(module, torch.nn.Linear),
                          [{"input": x}],
                          weight_output(weight_rounding(BnbConfig(bits=bits, double_quant=False))))
    # by hand: y = (2 + 0.9 - 0.6 + 0.3, 0.9) and y_q the same sums of the rounded weights
    y, y_q = torch.tensor([2.6, 0.9]), torch.tensor([sum(expected), expected[1]])
    assert errors["0"] == pytest.approx(((y - y_q).norm() / y.norm()).item(), rel=1e-5)


def test_double_quantization_rounds_the_same_weight_almost_alike() -> None:
    from glue.quant.bnb import BnbConfig, weight_rounding

    torch.manual_seed(0)
    weight = torch.randn(8, 128)
    single, double = (weight_rounding(BnbConfig(double_quant=d))(weight) for d in (False, True))
    assert 0 < (single - double).abs().max() < 0.05 * weight.abs().max()


def quantize_bnb(baseline: Path, data: Path, out: Path, **options: object) -> Path:
    """The bnb_nf4 recipe, through the CLI code, on the tiny baseline."""
    recipe = RECIPES / "bnb_nf4.yaml"
    values = {"base_model_dir": str(baseline), "model_name_or_path": str(baseline), "dataset_dir": str(data),
              "output_dir": str(out / "bnb_nf4"),
              "quant_config": {**load_recipe(recipe).glue.quant_config, "tuning_samples": 16, **options}}
    return quantize_recipe(load_recipe(recipe, values))


def test_bnb_nf4_keeps_the_punished_linear_fp32_and_reloads(monkeypatch: pytest.MonkeyPatch, tiny_bert_64_dir: Path,
                                                            prepared_dir: Path, tmp_path: Path) -> None:
    punish(monkeypatch, "bnb", lambda nf4: 0.5 if PUNISHED in nf4 else 0.0)
    variant = load_variant(quantize_bnb(tiny_bert_64_dir, prepared_dir, tmp_path, max_drop=40.0, tuning_max_steps=30,
                                        rounding="nearest"))
    block = variant.manifest.quantization
    tuning = block["tuning"]
    assert tuning["met"] and tuning["kept_fp32"] == [PUNISHED] and tuning["texts"] == 48
    first = tuning["steps"][0]
    assert first["action"] == "quantize_all" and first["fp32"] == 0 and first["drop_points"] > 40
    fallbacks = [s["module"] for s in tuning["steps"] if s["action"] == "fallback"]
    assert fallbacks[-1] == PUNISHED and fallbacks == list(tuning["sensitivity"])[:len(fallbacks)]
    assert all(s["drop_points"] <= 40 for s in tuning["steps"] if s["action"] == "requantize" and s["kept"])
    assert len(tuning["sensitivity"]) == LINEARS and all(v > 0 for v in tuning["sensitivity"].values())
    assert PUNISHED in block["config"]["skip_modules"] and PUNISHED in block["higher_precision"]["modules"]
    assert PUNISHED not in block["quantized"]["modules"] and len(block["quantized"]["modules"]) == LINEARS - 1
    assert block["quantized"]["by_type"] == {"Linear4bit": LINEARS - 1}
    assert "validation" in variant.manifest.data_sha256
    assert type(variant.model.get_submodule(PUNISHED)) is torch.nn.Linear  # reloaded from the folder alone
    assert_close_to_baseline(variant, tiny_bert_64_dir)
    # the folder holds what a plain load with the chosen skip list gives, not a model the rounds ran
    from glue.quant import QuantContext
    from glue.quant.bnb import METHOD, BnbConfig

    chosen = dataclasses.replace(BnbConfig.from_dict(block["config"]), max_drop=None)
    plain, _ = METHOD.apply(load_variant(tiny_bert_64_dir).model, chosen, QuantContext())
    texts = ["i feel so alone tonight", "what a wonderful surprise party"]
    with torch.inference_mode():
        torch.testing.assert_close(variant.logits(texts), plain(**variant.batch(texts)).logits, rtol=0, atol=1e-6)


def test_bnb_without_a_validation_split_builds_untuned_and_says_why(tiny_bert_64_dir: Path, prepared_dir: Path,
                                                                   tmp_path: Path, capsys) -> None:
    import json
    import shutil

    data = tmp_path / "data"
    shutil.copytree(prepared_dir, data)
    info = json.loads((data / "dataset_info.json").read_text())
    del info["emotion_validation"]  # as AG News, prepared offline, has none
    (data / "dataset_info.json").write_text(json.dumps(info))
    variant = load_variant(quantize_bnb(tiny_bert_64_dir, data, tmp_path))
    block = variant.manifest.quantization
    assert block["tuning"] == {"max_drop_points": 0.5, "cause": "no_validation_split",
                               "skipped": "emotion has no prepared validation split to score on (the test split is "
                                          "never used to choose)"}
    assert len(block["quantized"]["modules"]) == LINEARS and "validation" not in variant.manifest.data_sha256
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: quant_config.max_drop=0.5 not tuned: " + block["tuning"]["skipped"]]


def test_bnb_reads_validation_only_with_a_budget() -> None:
    from glue.quant import DataNeed

    assert get_method("bnb").data_for({"max_drop": 0.5}) is DataNeed.VALIDATION
    assert get_method("bnb").data_for({"max_drop": None}) is DataNeed.NONE
