"""eval.text_metrics on hand-computed cases, the metrics essay's worked example on the embedded
MiniLM, and its SummEval findings worded from a synthetic set of scores."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval import summeval as se
from eval import text_metrics as tm
from report import metrics_essay
from report.results import ReportError


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


@pytest.fixture(scope="module")
def worked():
    model = tm.MiniLM()
    base = metrics_essay._bertscore_baseline(model)
    return metrics_essay.score_case(model, metrics_essay.WORKED, base, {metrics_essay.SOURCE_COPY: metrics_essay.WORKED.source})


def test_worked_example_scores_and_sentences_follow_the_numbers(worked):
    assert worked["exact copy"]["bleu"]["score"] == pytest.approx(100.0)
    assert worked["exact copy"]["bertscore"]["f"] == pytest.approx(1.0, abs=1e-4)
    assert worked["unrelated"]["bertscore_rescaled_f"] < worked["unrelated"]["bertscore"]["f"]
    assert worked["truncated"]["bertscore"]["r"] < worked["truncated"]["bertscore"]["p"]
    text = " ".join(metrics_essay.worked_sentences(worked))
    assert f"{worked['truncated']['bleu']['bp']:.2f}" in text
    assert f"{worked['role swap']['rouge']['rouge2']['f']:.2f}" in text


def _synthetic_summeval(tmp_path, n_docs=6, n_sys=5):
    """Scores where the own metric's parts follow the humans closely and the baselines weakly."""
    rng = np.random.default_rng(1)
    human = {d: rng.normal(size=(n_docs, n_sys)) for d in se.DIMENSIONS}
    signal = sum(human.values())
    scores = {k: signal * w + rng.normal(size=(n_docs, n_sys)) for k, w in
              (("rouge1", 0.1), ("rouge2", 0.1), ("rougeL", 0.1), ("bleu", 0.0), ("bertscore_p", 0.1),
               ("bertscore_r", 0.1), ("bertscore_f", 0.1), ("source_sim", 0.1), ("lm_alone", 0.0),
               ("lm_source", 2.0), ("align", 2.0))}
    result = se.analyse(scores, human, resamples=60)
    payload = {"settings": {"dev_documents": 3, "resamples": 60, "seed": se.SEED, "bleu_signature": "nrefs:11|case:lc"},
               "documents": [f"d{i}" for i in range(n_docs)],
               "systems": [f"M{i}" for i in range(n_sys)], "human": {d: v.tolist() for d, v in human.items()},
               "design": result["design"], "correlations": result["correlations"]}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "summeval.json").write_text(json.dumps(payload))
    return payload


def test_summeval_findings_are_worded_from_the_numbers(tmp_path):
    data = _synthetic_summeval(tmp_path)
    ctx = metrics_essay.summeval_context(tmp_path, tmp_path / "figures")
    ours = data["correlations"]["all"]["grounded"]["average"]["spearman"]
    assert f"{ours['point']:.3f}" in ctx["sentences"]["headline"][0]
    assert (tmp_path / "figures" / metrics_essay.FIGURE).stat().st_size > 5000
    for row in ctx["comparisons"]:
        expected = ("better" if row["ours"]["low"] > row["best_point"] else
                    "worse" if row["ours"]["high"] < row["best_point"] else "no clear difference")
        assert row["verdict"] == expected
    words = " ".join(ctx["sentences"]["verdicts"])
    assert any(r["verdict"] == "better" for r in ctx["comparisons"]) == ("Better:" in words)
    assert f"better in {sum(r['verdict'] == 'better' for r in ctx['comparisons'])}," in words


def test_verdict_rule():
    assert metrics_essay.verdict({"point": 0.4, "low": 0.31, "high": 0.5}, 0.3) == "better"
    assert metrics_essay.verdict({"point": 0.4, "low": 0.29, "high": 0.5}, 0.3) == "no clear difference"
    assert metrics_essay.verdict({"point": 0.1, "low": 0.0, "high": 0.2}, 0.3) == "worse"


def test_missing_or_damaged_summeval_scores_name_the_command(tmp_path):
    with pytest.raises(ReportError, match="eval.summeval"):
        metrics_essay.load_summeval(tmp_path)
    (tmp_path / metrics_essay.SUMMEVAL).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / metrics_essay.SUMMEVAL).write_text('{"truncated": ')
    with pytest.raises(ReportError, match="not valid JSON.*eval.summeval"):
        metrics_essay.load_summeval(tmp_path)


def test_metrics_essay_renders_within_its_page_limits(tmp_path):
    from fake_results import write_fake_results
    from pypdf import PdfReader

    from report.render import PAGE_LIMITS, render

    data = _synthetic_summeval(tmp_path)
    write_fake_results(tmp_path, n_emotion=120, n_agnews=60)
    out = render(tmp_path, tmp_path / "report", pdf=True, n_resamples=20, only=("metrics",))["metrics"]
    low, high = PAGE_LIMITS["metrics"]
    assert low <= out.pages <= high
    text = " ".join(page.extract_text() for page in PdfReader(out.pdf).pages)
    assert f"{data['correlations']['all']['grounded']['average']['spearman']['point']:.3f}" in text
    assert "BERTScore" in text and "BERTSc ore" not in text
