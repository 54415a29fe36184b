"""report.blocks: the hand-in's cells say what an accuracy budget kept in FP32 and which training step
was kept, in the reader's words; the appendix's tables list every budget round and validation evaluation.
The blocks come from the real search and selection code (tests/fake_results.py)."""
from __future__ import annotations

from typing import Any

import pytest
from fake_results import LINEARS, SENSITIVE, selection_block, skipped_tuning_block, tuning_block

from report import blocks
from report.blocks import quant_summary, selection_phrase, selection_rows, tuning_phrase, tuning_rounds


def tuned_result(tuning: dict[str, Any]) -> dict[str, Any]:
    kept = tuning.get("kept_fp32") or []
    return {"quantization": {
        "bits": 8, "config": {"skip_modules": ["classifier", *kept]},
        "higher_precision": {"by_type": {"Linear": 1 + len(kept)}}, "tuning": tuning}}


def test_a_met_budget_counts_its_fp32_linears_and_names_none() -> None:
    tuning = tuning_block()
    assert tuning["kept_fp32"] == list(SENSITIVE) and tuning["met"]
    cell = quant_summary(tuned_result(tuning))["kept"]
    assert (f"kept 2 of {len(LINEARS)} Linears in FP32 to stay within 0.5 points on validation: "
            f"{tuning['baseline_macro_f1']:.4f} → {tuning['macro_f1']:.4f}; the appendix lists them)") in cell
    assert cell.startswith("3 Linear (skip list: classifier; kept 2")  # the budget's Linears are not listed again
    assert not any(name in cell for name in LINEARS)


def test_a_changed_predictions_budget_is_named_with_the_share_it_kept() -> None:
    tuning = tuning_block(max_drop_points=2.0, max_changed_percent=0.5)  # all int8: 1.14 points, 1.14% changed
    assert tuning["kept_fp32"] == list(SENSITIVE) and tuning["changed_percent"] == 0.34
    assert tuning_phrase(tuning) == (
        f"kept 2 of {len(LINEARS)} Linears in FP32 to stay within 2 points and 0.5% changed predictions on "
        f"validation: {tuning['baseline_macro_f1']:.4f} → {tuning['macro_f1']:.4f}, 0.34% of predictions changed; "
        "the appendix lists them")


def test_a_budget_met_at_once_keeps_no_linear() -> None:
    tuning = tuning_block(max_drop_points=2.0)
    assert tuning["kept_fp32"] == [] and len(tuning["steps"]) == 1
    assert tuning_phrase(tuning) == (f"no Linear kept in FP32: within 2 points on validation, "
                                     f"{tuning['baseline_macro_f1']:.4f} → {tuning['macro_f1']:.4f}")


def test_a_missed_budget_says_so_and_why_the_search_stopped() -> None:
    tuning = tuning_block(max_drop_points=0.0)
    assert not tuning["met"] and tuning["stopped"] == "step limit"
    phrase = tuning_phrase(tuning)
    assert phrase.startswith(f"kept {len(tuning['kept_fp32'])} of {len(LINEARS)} Linears in FP32")
    assert "budget not met, the round limit was reached; the appendix lists them" in phrase
    assert "step limit" not in phrase


def test_a_missed_budget_that_kept_every_linear_int8_does_not_claim_it_was_within() -> None:
    # 0.5 points lost whatever falls back: all int8 1.04 below FP32, the best round 0.74, within 0.5 of it
    tuning = tuning_block(max_drop_points=0.5, sensitive_cost=0.001, floor=0.005)
    assert not tuning["met"] and tuning["kept_fp32"] == [] and len(tuning["steps"]) == 13
    assert tuning_phrase(tuning) == (
        f"no Linear kept in FP32, still more than 0.5 points below FP32 on validation: "
        f"{tuning['baseline_macro_f1']:.4f} → {tuning['macro_f1']:.4f}; budget not met, no fallback gained more "
        "than the budget over every Linear int8")
    assert [r["change"] for r in tuning_rounds(tuning)][1:] == ["put back in FP32, undone: gained less than "
                                                                "the budget"] * 12


def test_a_skipped_budget_says_why_in_its_first_clause() -> None:
    cell = quant_summary(tuned_result(skipped_tuning_block()))["kept"]
    assert "budget 0.5 points on validation; not tuned: the dataset has no validation split to choose on)" in cell
    assert "agnews" not in cell and "prepared" not in cell  # reader words, not the log's
    assert "kept" not in cell.split("(", 1)[1] and "test split" not in cell


def test_no_tuning_block_no_budget_words() -> None:
    result = tuned_result(tuning_block())
    del result["quantization"]["tuning"]
    assert "budget" not in quant_summary(result)["kept"]


def test_every_round_is_a_row_in_order() -> None:
    tuning = tuning_block()
    rows = tuning_rounds(tuning)
    assert [r["round"] for r in rows] == list(range(1, len(tuning["steps"]) + 1))
    assert [(r["module"], r["fp32"], r["macro_f1"], r["drop"]) for r in rows] == [
        (s["module"] or "–", s["fp32"], s["macro_f1"], s["drop_points"]) for s in tuning["steps"]]
    assert [r["change"] for r in rows] == ["every Linear quantized", "put back in FP32", "put back in FP32",
                                           "quantized again, undone: it broke the budget"]
    assert tuning_rounds(skipped_tuning_block()) == [] and tuning_rounds(None) == []


@pytest.mark.parametrize("kwargs, said", [
    ({}, "step 800 of 1,000 (2.13 epochs) kept: best validation macro-F1 of 5 evaluations, 0.9123"),
    ({"scores": (0.9, 0.93, 0.91)},
     "step 400 of 1,000 (2.13 epochs) kept: best validation macro-F1 of 3 evaluations, 0.9300"),
    ({"validated": False}, "all 1,000 steps (2.13 epochs) trained, the last kept: no validation evaluations to choose on"),
    ({"best": False}, "the last of 1,000 steps (2.13 epochs) kept; 5 validation evaluations not used to choose"),
])
def test_the_kept_step_in_words(kwargs: dict[str, Any], said: str) -> None:
    assert selection_phrase(selection_block(**kwargs)) == said


def test_every_evaluation_is_a_row_with_the_kept_step_marked() -> None:
    record = selection_block()
    rows = selection_rows(record)
    assert [(r["step"], r["score"]) for r in rows] == [(e["step"], e["eval_macro_f1"]) for e in record["evaluations"]]
    assert [r["step"] for r in rows if r["kept"]] == [800]
    assert selection_rows(selection_block(validated=False)) == [] and selection_rows(None) == []


def test_the_appendix_listing_leaves_the_tabled_histories_out() -> None:
    rows = dict(blocks.appendix_rows({"tuning": tuning_block(), "selection": selection_block()}))
    assert not any(k.startswith(("tuning.steps", "selection.evaluations")) for k in rows)
    assert rows["tuning.kept_fp32"] == ", ".join(SENSITIVE) and rows["selection.selected_step"] == "800"


@pytest.mark.parametrize("trainable, layers, said", [
    (8, 12, "embeddings and the lower 4 of 12 layers"),
    (12, 12, "the embeddings"),
    (8, None, "embeddings and all but the top 8 layers"),
])
def test_what_stayed_frozen_in_a_freeze_fine_tune(trainable: int, layers: int | None, said: str) -> None:
    from report.analysis import Row
    from report.handin import frozen
    from report.stats import Interval

    recipe = {"finetuning_type": "freeze", "freeze_trainable_layers": trainable}
    row = Row("baseline", "baseline", {"recipe": {"content": recipe}}, Interval(0.9, 0.89, 0.91),
              Interval(0.9, 0.89, 0.91), None, None, None, None, None)
    assert frozen(row, layers) == said
