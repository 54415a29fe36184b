"""report.blocks.quant_summary: the "kept in higher precision" cell says what an accuracy budget fell back."""
from __future__ import annotations

from typing import Any

import pytest

from report.blocks import quant_summary


def tuned_result(kept: list[str], met: bool) -> dict[str, Any]:
    return {"quantization": {
        "bits": 8, "config": {"skip_modules": ["classifier", *kept]},
        "higher_precision": {"by_type": {"Linear": 1 + len(kept)}},
        "tuning": {"max_drop_points": 0.5, "texts": 2000, "kept_fp32": kept, "macro_f1": 0.9012,
                   "baseline_macro_f1": 0.9085, "met": met}}}


@pytest.mark.parametrize("kept, met, fell_back, not_met", [
    ([], True, "0 Linears fell back", False),
    (["bert.encoder.layer.3.output.dense", "bert.encoder.layer.5.output.dense"], True, "2 Linears fell back", False),
    (["bert.encoder.layer.3.output.dense"], False, "1 Linear fell back", True),
])
def test_the_budget_and_its_fallbacks_are_stated(kept: list[str], met: bool, fell_back: str, not_met: bool) -> None:
    cell = quant_summary(tuned_result(kept, met))["kept"]
    assert "accuracy budget 0.5 points on 2000 validation texts" in cell
    assert fell_back in cell and "validation macro-F1 0.9012 against FP32 0.9085" in cell
    assert ("budget not met" in cell) is not_met
    assert "skip list: classifier)" in cell or "skip list: classifier;" in cell  # the budget's Linears are not listed again
    assert not any(name in cell for name in kept)


def test_no_tuning_block_no_budget_words() -> None:
    result = tuned_result([], True)
    del result["quantization"]["tuning"]
    assert "budget" not in quant_summary(result)["kept"]


def test_a_skipped_budget_says_why() -> None:
    result = tuned_result([], True)
    result["quantization"]["tuning"] = {"max_drop_points": 0.5, "skipped": "agnews has no prepared validation split"}
    cell = quant_summary(result)["kept"]
    assert "accuracy budget 0.5 points not tuned: agnews has no prepared validation split" in cell
    assert "fell back" not in cell
