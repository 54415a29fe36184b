"""Accuracy-aware tuning (glue/quant/tuning.py): the fallback search on hand-computed cases and the
sensitivity measure on a Linear with a known outlier channel."""
from __future__ import annotations

import pytest
import torch

from glue.quant.tuning import fake_quant_per_channel, fake_quant_per_tensor, quant_errors, tune_fallback

# Four layers with a known cost each when int8 (macro-F1 lost); exact binary fractions, so every
# sum below is exact.
DAMAGE = {"a": 0.25, "b": 0.125, "c": 0.0625, "d": 0.03125}


def fake(damage: dict[str, float]):
    """A build that returns the FP32 set as the 'model', a score of 1 minus the int8 layers' damage,
    and the list of builds made."""
    built: list[frozenset[str]] = []

    def build(fp32: frozenset[str]) -> frozenset[str]:
        built.append(fp32)
        return fp32

    def score(fp32: frozenset[str]) -> float:
        return 1.0 - sum(cost for name, cost in damage.items() if name not in fp32)

    return build, score, built


def run(max_drop: float, max_steps: int = 10, sensitivity=None, damage=DAMAGE):
    build, score, built = fake(damage)
    result = tune_fallback(build, score, 1.0, max_drop, list(damage), sensitivity or DAMAGE, max_steps)
    return result, built


def test_falls_back_most_sensitive_first_and_stops_within_budget() -> None:
    result, _ = run(max_drop=0.1)  # all int8: 0.46875; without a: 0.21875; without a, b: 0.09375
    assert result.met and result.stopped == "within budget"
    assert result.skipped == ["a", "b"]
    assert [(s.action, s.module, s.drop, s.kept) for s in result.steps] == [
        ("quantize_all", None, 0.46875, True), ("fallback", "a", 0.21875, True), ("fallback", "b", 0.09375, True),
        ("requantize", "a", 0.34375, False)]  # a back in int8 breaks the budget: undone
    assert result.score == 1.0 - 0.09375 and result.model == frozenset({"a", "b"})
    assert [name for name, _ in result.order] == ["a", "b", "c", "d"]


def test_a_misleading_order_is_trimmed_to_the_fewest_fallbacks() -> None:
    damage = {"a": 0.5, "b": 0.0625, "c": 0.0625, "d": 0.0625}  # all int8: 0.6875
    # measured order d, a, c, b: d then a reach 0.125; d back in int8 gives 0.1875 > 0.125, so d stays
    result, _ = run(max_drop=0.125, sensitivity={"d": 4.0, "a": 3.0, "c": 2.0, "b": 1.0}, damage=damage)
    assert result.met and result.skipped == ["d", "a"]
    # order d, c, a, b: d, c, a reach 0.0625; c (the less sensitive) back: 0.125, kept; then d: 0.1875, kept
    result, _ = run(max_drop=0.1875, sensitivity={"d": 4.0, "c": 3.0, "a": 2.0, "b": 1.0}, damage=damage)
    assert result.met and result.skipped == ["a"]
    assert [(s.action, s.module, s.drop, s.kept) for s in result.steps] == [
        ("quantize_all", None, 0.6875, True), ("fallback", "d", 0.625, True), ("fallback", "c", 0.5625, True),
        ("fallback", "a", 0.0625, True), ("requantize", "c", 0.125, True), ("requantize", "d", 0.1875, True)]


def test_an_impossible_budget_reports_not_met_with_every_figure() -> None:
    result, built = run(max_drop=0.0)
    assert not result.met and result.stopped == "no candidates left"
    assert result.skipped == ["a", "b", "c"]  # never all four: nothing would be quantized
    assert [s.drop for s in result.steps] == [0.46875, 0.21875, 0.09375, 0.03125]
    assert len(built) == 4 and result.score == 1.0 - 0.03125


def test_max_steps_is_honoured() -> None:
    result, built = run(max_drop=0.0, max_steps=2)
    assert not result.met and result.stopped == "step limit"
    assert result.skipped == ["a", "b"] and len(built) == 3  # the all-int8 round and two more

    result, built = run(max_drop=0.1, max_steps=2)  # within budget on the last round: no trimming left
    assert result.met and result.skipped == ["a", "b"] and len(built) == 3


def test_no_fallback_needed_takes_one_round_and_measures_nothing() -> None:
    def unmeasured() -> dict[str, float]:
        raise AssertionError("sensitivity is measured only when the budget is missed")

    result, built = run(max_drop=0.5, sensitivity=unmeasured)
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
