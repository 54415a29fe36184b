"""report.text_metrics on hand-computed cases, and the metrics essay on the embedded MiniLM."""
from __future__ import annotations

import math

import numpy as np
import pytest

from report import metrics_essay
from report import text_metrics as tm


def test_identical_strings_score_maximal():
    text = "the city council approved the budget on monday"
    assert tm.bleu(text, text)["score"] == pytest.approx(100.0)
    assert all(s["f"] == pytest.approx(1.0) for s in tm.rouge(text, text).values())


def test_bleu_brevity_penalty_by_hand():
    # 3 of 6 reference tokens, all matching: BP = exp(1 - 6/3) = e^-1; 1-3-gram precisions 100%,
    # no 4-grams (effective order 3) -> BLEU = 100 * e^-1
    b = tm.bleu("the cat sat", "the cat sat on the mat")
    assert b["bp"] == pytest.approx(math.exp(-1))
    assert b["score"] == pytest.approx(100 * math.exp(-1))
    assert "tok:13a" in tm.bleu_signature()


def test_rouge_n_precision_recall_by_hand():
    r = tm.rouge("the cat sat", "the cat sat on the mat")
    assert r["rouge1"]["p"] == pytest.approx(1.0)
    assert r["rouge1"]["r"] == pytest.approx(3 / 6)
    assert r["rouge2"]["r"] == pytest.approx(2 / 5)


def test_rouge_w_prefers_consecutive_matches_by_hand():
    # reference a b c d; "a b c d" is one run of 4: WLCS = 4^1.2, R = 1
    assert tm.rouge_w("a b c d", "a b c d")["r"] == pytest.approx(1.0)
    # "a x b x c x d": four runs of 1, WLCS = 4; R = (4 / 4^1.2)^(1/1.2) = 4^(1/1.2 - 1)
    scattered = tm.rouge_w("a x b x c x d", "a b c d")
    assert scattered["r"] == pytest.approx(4 ** (1 / 1.2 - 1))
    assert scattered["r"] < 1.0  # ROUGE-L recall would be 1.0 for both


def test_rouge_s_and_su_by_hand():
    # reference "a b c": skip-bigrams ab ac bc; candidate "a c b": ac ab cb -> 2 shared of 3 each
    s = tm.rouge_s("a c b", "a b c", distance=None)
    assert (s["p"], s["r"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    # SU adds the 3 unigrams, all shared: (2 + 3) / (3 + 3)
    assert tm.rouge_s("a c b", "a b c", distance=None, unigrams=True)["r"] == pytest.approx(5 / 6)
    # a distance limit of 1 keeps only adjacent pairs: ab bc vs ac cb -> none shared
    assert tm.rouge_s("a c b", "a b c", distance=1)["r"] == 0.0


def test_ordered_coverage_by_hand():
    # 3 reference tokens; the first two match candidate tokens 1 and 0 (swapped), the third falls below the floor
    sim = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.4]])
    out = tm.ordered_coverage(sim, floor=0.5)
    assert out["coverage"] == pytest.approx(((0.9 - 0.5) / 0.5 + (0.8 - 0.5) / 0.5 + 0) / 3)
    assert out["order"] == 0.0 and out["score"] == 0.0
    in_order = tm.ordered_coverage(sim[:, ::-1], floor=0.5)
    assert in_order["order"] == 1.0 and in_order["score"] == pytest.approx(in_order["coverage"])


def test_human_rank_ties():
    case = metrics_essay.CASES[0]
    ranks = [case.human_rank(n) for n in case.candidates]
    assert ranks == [1, 2, 3, 4.5, 4.5, 6]


@pytest.fixture(scope="module")
def essay():
    return metrics_essay.context()


def test_essay_scores_and_sentences_follow_the_numbers(essay):
    worked = essay["worked"]
    assert worked["exact copy"]["bleu"]["score"] == pytest.approx(100.0)
    assert worked["exact copy"]["bertscore"]["f"] == pytest.approx(1.0, abs=1e-4)
    assert worked["unrelated"]["bertscore_rescaled_f"] < worked["unrelated"]["bertscore"]["f"]
    assert worked["truncated"]["bertscore"]["r"] < worked["truncated"]["bertscore"]["p"]
    text = " ".join(essay["worked_sentences"] + essay["ranking_sentences"])
    assert f"{worked['truncated']['bleu']['bp']:.2f}" in text
    for case, _, agree in essay["cases"]:
        for metric, a in agree.items():
            assert -1.0 <= a["tau"] <= 1.0
    taus = {m: np.mean([agree[m]["tau"] for _, _, agree in essay["cases"]]) for m in essay["metrics"]}
    assert f"{taus[metrics_essay.OURS]:.2f}" in essay["ranking_sentences"][0]
