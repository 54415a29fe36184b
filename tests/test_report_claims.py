"""The wording rules (report.claims) on synthetic results with known answers: a tie, a clear win
or loss, and a latency difference inside the measured run-to-run spread."""
from __future__ import annotations

import json

import numpy as np
import pytest
from fake_results import write_fake_results

from eval.results import load_groups
from report import claims, discussion, handin, insights, names
from report.analysis import analyse, analyse_group
from report.stats import Interval


@pytest.mark.parametrize("interval, word", [
    (Interval(0.001, -0.004, 0.006), claims.NO_DIFFERENCE),   # a tie: the interval includes zero
    (Interval(0.02, 0.01, 0.03), "higher"),
    (Interval(-0.02, -0.03, -0.001), "lower"),
])
def test_quality_needs_an_interval_that_excludes_zero(interval, word):
    assert claims.quality(interval).word == word


@pytest.mark.parametrize("base, variant, word", [
    ([10.0, 11.0, 12.0], [9.5, 10.5, 11.5], claims.NO_DIFFERENCE),  # 5% faster median, inside the spread
    ([10.0, 11.0, 12.0], [5.0, 5.2, 5.1], "faster"),
    ([10.0, 10.2, 10.1], [14.0, 15.0, 14.5], "slower"),
])
def test_speed_needs_every_pairing_of_rounds(base, variant, word):
    r = claims.speed_range(float(np.median(base)), float(np.median(variant)), base, variant)
    assert claims.speed(r).word == word


def test_speed_without_rounds_is_not_claimed():
    assert claims.speed(claims.speed_range(10.0, 5.0, None, None)).word == claims.NOT_MEASURED
    assert claims.spread([9.0, 10.0, 12.0]) == pytest.approx(0.3)


def _set(path, variant, **changes):
    file = path / "emotion" / "minilm-l6" / f"{variant}.json"
    result = json.loads(file.read_text())
    for dotted, value in changes.items():
        obj, *keys = [result] + dotted.split(".")
        for k in keys[:-1]:
            obj = obj[k]
        obj[keys[-1]] = value
    file.write_text(json.dumps(result))
    return result


def test_sentences_on_synthetic_results(tmp_path):
    write_fake_results(tmp_path, n_emotion=600, n_agnews=40, variants=("baseline", "ptq_dynamic", "ptq_static", "qat"))
    base = json.loads((tmp_path / "emotion" / "minilm-l6" / "baseline.json").read_text())
    y_true, y_base = np.array(base["predictions"]["y_true"]), np.array(base["predictions"]["y_pred"])
    # ptq_static: the baseline's predictions exactly (a tie), latency 3% faster, inside the 9% spread
    _set(tmp_path, "ptq_static", **{"predictions.y_pred": y_base.tolist(),
                                    "latency.ms_per_batch": 92.0, "latency.ms_per_batch_rounds": [88.0, 92.0, 96.0],
                                    "latency.ms_per_example": 8.7, "latency.ms_per_example_rounds": [8.4, 8.7, 9.1]})
    # qat: 120 correct baseline predictions broken (a clear loss), and clearly faster
    broken = y_base.copy()
    right = np.flatnonzero(y_base == y_true)[:120]
    broken[right] = (y_true[right] + 1) % 6
    _set(tmp_path, "qat", **{"predictions.y_pred": broken.tolist(), "latency.ms_per_batch": 40.0,
                             "latency.ms_per_batch_rounds": [39.0, 40.0, 41.0]})
    group = next(g for g in load_groups(tmp_path) if g.dataset == "emotion")
    rows = {r.variant: r for r in analyse(group, n_resamples=300)}
    tie, loss = rows["ptq_static"], rows["qat"]
    assert tie.quality.word == claims.NO_DIFFERENCE and loss.quality.word == "lower"
    assert tie.speed_bn.word == claims.NO_DIFFERENCE and loss.speed_bn.word == "faster"
    tie_text, loss_text = insights.variant_sentence(tie, 32), insights.variant_sentence(loss, 32)
    assert "no measurable difference in macro-F1" in tie_text and "no measurable difference in speed at batch 32" in tie_text
    assert "faster" not in tie_text and "higher" not in tie_text
    assert "qat is lower than the baseline in macro-F1" in loss_text and "faster at batch 32" in loss_text
    assert f"({loss.mcnemar.broken} broken, {loss.mcnemar.fixed} fixed)" in loss_text


def test_method_paragraphs_read_their_numbers_from_the_results(tmp_path):
    write_fake_results(tmp_path, n_emotion=600, n_agnews=40, variants=("baseline", "ptq_static", "qat"))
    folder = tmp_path / "emotion" / "minilm-l6"
    pt2e = json.loads((folder / "ptq_static.json").read_text())  # the same predictions: a tie
    pt2e.update(variant="ptq_pt2e", method="ptq_pt2e",
                quantization={"config": {"smooth_alpha": 0.75},
                              "quantized": {"count": 73, "by_type": {"Linear": 72, "Embedding": 1}}})
    (folder / "ptq_pt2e.json").write_text(json.dumps(pt2e))
    _set(tmp_path, "ptq_static", **{"quantization.quantized": {"count": 64, "by_type": {"Linear": 64}}})
    _set(tmp_path, "qat", training={"train_examples": 3200, "epochs": 1, "wall_time_s": 300.0})
    _set(tmp_path, "baseline", training={"train_examples": 16000, "epochs": 3, "wall_time_s": 1500.0})
    a = analyse_group(next(g for g in load_groups(tmp_path) if g.dataset == "emotion"), n_resamples=200)
    text = discussion.pt2e_vs_eager(a)
    assert "(64 Linears quantized)" in text and "alpha 0.75" in text
    assert "(72 Linears quantized, and 1 Embedding table stored int8)" in text
    assert claims.NO_DIFFERENCE in text
    # the variants by the names the hand-ins give them (the method registry's)
    assert f"{names.capital(names.variant('ptq_pt2e'))}: {claims.NO_DIFFERENCE} in macro-F1 from static PTQ" in text
    assert f"against {names.variant('ptq_static')} (" in text
    assert discussion.qat_vs_static(a).startswith(f"QAT: {claims.NO_DIFFERENCE} in macro-F1 from static PTQ (")
    assert "over 3200 labelled examples" in discussion.qat_vs_static(a)
    budget = discussion.training_budget(a, "qat")
    assert "trained on 3,200 examples for 1 epoch (5.0 min), the baseline on 16,000 (25.0 min)" in budget
    assert budget.startswith(f"{names.variant('qat')}: {claims.NO_DIFFERENCE} in macro-F1 from the baseline")
    assert discussion.training_budget(a, "qlora_sft") is None  # no such row
    assert discussion.qat_two_ways(a) is None  # no qat_pt2e row
    _set(tmp_path, "qat", training={"train_examples": 3200, "epochs": 1, "wall_time_s": 300.0, "loss": "distill"})
    a = analyse_group(next(g for g in load_groups(tmp_path) if g.dataset == "emotion"), n_resamples=200)
    assert "over 3200 examples, learning the baseline's predictions rather than the labels" in \
        discussion.qat_vs_static(a)
    assert ["distilled from the FP32 baseline" in r["training"] for r in handin.config_rows(a)] == [
        r.variant == "qat" for r in a.rows]
    _set(tmp_path, "ptq_static", **{"quantization.outlier_scan": {"ratio": 32, "kept_fp32": {"a": 600.0, "b": 40.0}}})
    a = analyse_group(next(g for g in load_groups(tmp_path) if g.dataset == "emotion"), n_resamples=200)
    assert "(64 Linears quantized; the 2 whose largest token exceeds 32x the median token stay FP32)" in \
        discussion.pt2e_vs_eager(a)


def test_qat_two_ways_names_the_shared_training_budget(tmp_path):
    write_fake_results(tmp_path, n_emotion=600, n_agnews=40, variants=("baseline", "qat"))
    folder = tmp_path / "emotion" / "minilm-l6"
    pt2e = json.loads((folder / "qat.json").read_text())  # the same predictions: a tie
    pt2e.update(variant="qat_pt2e", method="qat_pt2e")
    (folder / "qat_pt2e.json").write_text(json.dumps(pt2e))
    for variant in ("qat", "qat_pt2e"):
        _set(tmp_path, variant, training={"train_examples": 3200, "epochs": 1, "wall_time_s": 200.0})
    a = analyse_group(next(g for g in load_groups(tmp_path) if g.dataset == "emotion"), n_resamples=200)
    text = discussion.qat_two_ways(a)
    assert text.startswith("QAT is run two ways, on the same 3,200 training examples")
    assert claims.NO_DIFFERENCE in text
    _set(tmp_path, "qat_pt2e", training={"train_examples": 6400, "epochs": 1, "wall_time_s": 200.0})
    a = analyse_group(next(g for g in load_groups(tmp_path) if g.dataset == "emotion"), n_resamples=200)
    assert "on different training budgets" in discussion.qat_two_ways(a)
