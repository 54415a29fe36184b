"""eval.summeval's correlation protocol on a tiny synthetic set with hand-computed values, and
its input checks."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval import summeval as se
from eval.summeval import SummEvalError

# 3 articles x 3 systems. Article 1 agrees perfectly; article 2 swaps the first two systems'
# human order; article 3 has one human rating for all, so its correlation is undefined.
METRIC = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
HUMAN = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [4.0, 4.0, 4.0]])


def test_summary_level_by_hand():
    rho, tau = se.per_document(METRIC, HUMAN)
    # article 2: rank differences (1, -1, 0): rho = 1 - 6*2/(3*8) = 0.5; one of 3 pairs discordant: tau = 1/3
    assert rho[:2] == pytest.approx([1.0, 0.5])
    assert tau[:2] == pytest.approx([1.0, 1 / 3])
    assert math.isnan(rho[2]) and math.isnan(tau[2])
    out = se.correlate(METRIC, HUMAN, resamples=200)
    assert out["summary"]["spearman"]["point"] == pytest.approx(0.75)   # (1 + 0.5) / 2, article 3 left out
    assert out["summary"]["kendall"]["point"] == pytest.approx(2 / 3)
    assert out["summary"]["documents"] == 2


def test_system_level_by_hand():
    # system means: metric (1, 2, 3); human over the first two articles (1.5, 1.5, 3): a tie.
    # Spearman of ranks (1, 2, 3) and (1.5, 1.5, 3): cov 1.5 / sqrt(2 * 1.5); tau-b: 2 concordant,
    # 0 discordant, one pair tied in human only: 2 / sqrt(3 * 2)
    rho, tau = se.system_level(METRIC[:2], HUMAN[:2])
    assert rho == pytest.approx(1.5 / math.sqrt(3))
    assert tau == pytest.approx(2 / math.sqrt(6))


def test_bootstrap_is_seeded_and_collapses_without_spread():
    same = np.tile(METRIC[:1], (5, 1)), np.tile(HUMAN[1:2], (5, 1))   # five identical articles
    out = se.correlate(*same, resamples=100)
    assert out["summary"]["spearman"] == {"point": 0.5, "low": 0.5, "high": 0.5}
    mixed = se.correlate(METRIC, HUMAN, resamples=300)
    assert mixed == se.correlate(METRIC, HUMAN, resamples=300)
    low, high = mixed["summary"]["spearman"]["low"], mixed["summary"]["spearman"]["high"]
    assert 0.5 <= low < high <= 1.0   # resampled means of the two defined articles lie between them


def test_design_is_chosen_on_the_development_articles_only():
    human = {d: np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]) for d in se.DIMENSIONS}
    # alignment follows the humans on article 1 (the development split here) and opposes them on
    # article 2; the likelihood opposes them on article 1
    scores = {"align": np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]),
              "lm_source": np.array([[0.3, 0.2, 0.1], [0.3, 0.2, 0.1]]), "lm_alone": np.zeros((2, 3))}
    (beta, weight), grid = se.choose_design(scores, human, slice(0, 1))
    assert weight > 0 and grid["0.0/0.0"] == pytest.approx(-1.0)
    assert grid[f"{beta}/{weight}"] == pytest.approx(1.0)
    assert len(grid) == len(se.DESIGNS)


def test_grounded_formula():
    scores = {"lm_source": np.array([-1.0]), "lm_alone": np.array([-3.0]), "align": np.array([0.5])}
    assert se.grounded(scores, 0.5, 2.0)[0] == pytest.approx(-1.0 + 1.5 + 1.0)


def test_plain_undoes_tokenised_spacing():
    assert se.plain("Paul 's team did n't win 2-0 ( at home ) .") == "paul's team didn't win 2-0 (at home)."
    assert se.sentences("One . Two ! three") == ["one.", "two!", "three"]


def _row(doc: str, system: str, **drop: object) -> dict:
    row = {"id": doc, "model_id": system, "decoded": "a summary .", "references": ["a reference ."],
           "text": "The source. It has two sentences.",
           "expert_mean": {d: 3.0 for d in se.DIMENSIONS}}
    return {k: v for k, v in row.items() if k not in drop}


def _write(tmp_path, rows):
    (tmp_path / se.DATA_FILE).write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_load_groups_by_article_and_sorts_systems(tmp_path):
    _write(tmp_path, [_row("d1", "M2"), _row("d1", "M1"), _row("d2", "M1"), _row("d2", "M2")])
    docs = se.load(tmp_path)
    assert [[s.system for s in g] for g in docs] == [["M1", "M2"], ["M1", "M2"]]
    assert docs[0][0].human["fluency"] == 3.0


def test_load_rejects_bad_input_in_one_line(tmp_path):
    with pytest.raises(SummEvalError, match="not found"):
        se.load(tmp_path)
    _write(tmp_path, [_row("d1", "M1"), _row("d2", "M1", expert_mean=None)])
    with pytest.raises(SummEvalError, match="line 2 has no key 'expert_mean'"):
        se.load(tmp_path)
    _write(tmp_path, [_row("d1", "M1"), _row("d1", "M2"), _row("d2", "M1")])
    with pytest.raises(SummEvalError, match="article d2 has systems"):
        se.load(tmp_path)


def test_missing_decoder_names_the_build_command(tmp_path):
    with pytest.raises(SummEvalError, match="data_prep.smollm2"):
        se.SourceLM(str(tmp_path))


def test_average_over_dimensions_by_hand():
    # one dimension agrees (rho 1 on both articles), the other is reversed on both (rho -1): average 0
    human = {d: METRIC[:2] if i % 2 == 0 else METRIC[:2, ::-1] for i, d in enumerate(se.DIMENSIONS)}
    out = se.correlate_average(METRIC[:2], human, resamples=50)
    assert out["spearman"] == {"point": 0.0, "low": 0.0, "high": 0.0}
    assert out["kendall"]["point"] == pytest.approx(0.0)


def test_reanalyse_redoes_the_correlations_from_stored_scores(tmp_path):
    rng = np.random.default_rng(3)
    human = {d: rng.normal(size=(6, 4)) for d in se.DIMENSIONS}
    scores = {k: rng.normal(size=(6, 4)) for k in se.LABELS if k != "grounded"}
    path = tmp_path / "summeval.json"
    path.write_text(json.dumps({"settings": {"resamples": 5}, "provenance": {},
                                "human": {d: v.tolist() for d, v in human.items()},
                                "scores": {k: v.tolist() for k, v in scores.items()}}))
    out = se.reanalyse(path, resamples=20)
    assert json.loads(path.read_text())["settings"]["resamples"] == 20
    expected = se.correlate(scores["rouge1"], human["fluency"], resamples=20)
    got = out["correlations"]["all"]["rouge1"]["fluency"]
    assert got["summary"]["spearman"] == pytest.approx(expected["summary"]["spearman"])
    assert got["system"]["kendall"] == pytest.approx(expected["system"]["kendall"])
    with pytest.raises(SummEvalError, match="not found"):
        se.reanalyse(tmp_path / "missing.json", 20)
