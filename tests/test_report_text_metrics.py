"""report.text_metrics on hand-computed cases, and the MiniLM BERTScore on a few sentences."""
from __future__ import annotations

import math

import numpy as np
import pytest

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


def test_rouge_precision_recall_by_hand():
    r = tm.rouge("the cat sat", "the cat sat on the mat")
    assert r["rouge1"]["p"] == pytest.approx(1.0)
    assert r["rouge1"]["r"] == pytest.approx(3 / 6)
    assert r["rouge2"]["r"] == pytest.approx(2 / 5)


def test_bertscore_greedy_matching_by_hand():
    cand = np.array([[1.0, 0.0], [0.0, 1.0]])            # two candidate tokens
    ref = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # three reference tokens
    s = tm.bertscore_from_embeddings(cand, ref)
    # P: each candidate token finds an identical reference token -> 1.0
    # R: ref tokens' best cosines are 1, 1/sqrt(2), 1 -> (2 + 0.7071) / 3
    assert s["p"] == pytest.approx(1.0)
    assert s["r"] == pytest.approx((2 + 1 / math.sqrt(2)) / 3)
    assert s["f"] == pytest.approx(2 * s["p"] * s["r"] / (s["p"] + s["r"]))
    # weighting the middle reference token to zero removes its imperfect match from recall
    w = tm.bertscore_from_embeddings(cand, ref, ref_w=np.array([1.0, 0.0, 1.0]))
    assert w["r"] == pytest.approx(1.0)


def test_idf_by_hand():
    idf = tm.idf_weights([["a", "b"], ["a"], ["c"]])
    assert idf["a"] == pytest.approx(math.log(4 / 3))
    assert idf["b"] == pytest.approx(math.log(4 / 2))
    assert idf["<unseen>"] == pytest.approx(math.log(4))


@pytest.fixture(scope="module")
def encoder():
    return tm.MiniLMEncoder()


def test_minilm_bertscore_identity_and_ordering(encoder):
    ref = "The city council approved the budget for the new park on Monday."
    assert encoder.bertscore(ref, ref)["f"] == pytest.approx(1.0, abs=1e-5)
    related = encoder.bertscore("The council approved the park budget.", ref)["f"]
    unrelated = encoder.bertscore("Quantum chromodynamics describes gluons.", ref)["f"]
    assert related > unrelated
    assert encoder.source_similarity(ref, ref) == pytest.approx(1.0, abs=1e-5)


def test_worked_examples_and_observations(encoder):
    rows = tm.worked_examples(encoder)
    assert set(rows) == set(tm.CANDIDATES)
    assert rows["exact copy"]["bleu"]["score"] == pytest.approx(100.0)
    assert rows["truncated"]["bleu"]["bp"] < 1.0
    text = " ".join(tm.observations(rows))
    assert f"{rows['truncated']['bleu']['bp']:.2f}" in text   # sentences quote the computed numbers
