"""The report renders from fake result JSONs alone, and its sentences follow the numbers."""
from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pytest

from fake_results import write_fake_results
from report import insights
from report.analysis import analyse
from report.render import flatten, main, render
from report.results import ReportError, load_groups



@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    write_fake_results(out, n_emotion=300, n_agnews=120, variants=("baseline", "ptq_dynamic", "qlora"))
    (out / "bench").mkdir()
    (out / "bench" / "minilm-l6.json").write_text(json.dumps({  # the shape bench/run.py writes
        "rows": [{"variant": "baseline", "backend": "torch", "macro_f1": 0.9,
                  "timings": {"real_b32": {"throughput_ex_per_s": {"median": 100.0}, "ms_per_batch": {"median": 320.0},
                                           "speedup_vs_baseline": 1.0}}}],
        "target": {"met": False, "shortfalls": ["int8 below 2x"]}}))
    (out / "bench" / "other.json").write_text(json.dumps({"unknown_shape": 7}))
    figure = plt.figure(figsize=(2, 1))
    figure.savefig(out / "bench" / "minilm-l6_throughput.png")
    plt.close(figure)
    return out


def test_render_html_and_pdf(results, tmp_path):
    outputs = render(results, tmp_path / "report", pdf=True, n_resamples=100)
    html = outputs["html"].read_text()
    assert outputs["pdf"].read_bytes().startswith(b"%PDF")
    for name in ("ptq_vs_qat.png", "pareto_emotion_minilm-l6.png", "confusion_agnews_minilm-l6.png"):
        assert (tmp_path / "report" / "figures" / name).stat().st_size > 5000
    # AG News is labelled exactly as its results say, quantization blocks are rendered, bench shown
    assert "AG News held-out subset of test.csv (120 of 7,600 rows" in html
    assert "kept_fp32" in html and "bitsandbytes NF4" in html
    assert "real_b32" in html and "320.0" in html and "int8 below 2x" in html
    assert "unknown_shape" in html
    assert (tmp_path / "report" / "figures" / "minilm-l6_throughput.png").is_file()
    assert "figures/minilm-l6_throughput.png" in html
    assert "theirs" in html and "esuriddick" in html


def test_sentences_follow_the_numbers(results):
    group = next(g for g in load_groups(results) if g.dataset == "emotion")
    rows = {r.variant: r for r in analyse(group, n_resamples=100)}
    qlora = rows["qlora"]
    text = insights.variant_sentence(qlora, 32)
    base_ms, q_ms = rows["baseline"].ms_batch, qlora.ms_batch
    assert f"{q_ms / base_ms:.1f}x slower" in text          # qlora fake timings are slower than baseline
    assert f"p={qlora.mcnemar.p_value:.2g}" in text
    verdict = "not significant" if qlora.p_holm >= 0.05 else "a significant difference"
    assert verdict in text
    # swapping the timings flips the wording: the sentence cannot contradict the table
    qlora.speedup_batch = 2.0
    assert "2.0x faster than the baseline at batch 32" in insights.variant_sentence(qlora, 32)


def test_flatten_renders_any_block():
    rows = dict(flatten({"modules": ["Linear", "Embedding"], "observers": {"weight": "MinMax"}, "bits": 8}))
    assert rows == {"modules": "Linear, Embedding", "observers.weight": "MinMax", "bits": "8"}


def test_errors_are_worded(tmp_path, results, capsys):
    with pytest.raises(ReportError, match="make eval-all"):
        load_groups(tmp_path)
    bad = tmp_path / "emotion" / "m" / "x.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(json.dumps({"dataset": "emotion"}))
    with pytest.raises(ReportError, match="missing split_label"):
        load_groups(tmp_path)
    with pytest.raises(SystemExit):
        main(["--results", str(tmp_path), "--no-pdf"])
    assert "error:" in capsys.readouterr().err


def test_group_without_baseline_or_latency_still_renders(tmp_path):
    write_fake_results(tmp_path / "results", n_emotion=120, n_agnews=40, variants=("baseline", "qat"))
    (tmp_path / "results" / "agnews" / "minilm-l6" / "baseline.json").unlink()
    qat_path = tmp_path / "results" / "agnews" / "minilm-l6" / "qat.json"
    qat = json.loads(qat_path.read_text())
    qat.update(latency={}, fidelity={"reference": None, "note": "no baseline"}, size_mb=None)
    qat_path.write_text(json.dumps(qat))
    group = next(g for g in load_groups(tmp_path / "results") if g.dataset == "agnews")
    rows = analyse(group, n_resamples=50)
    assert rows[0].mcnemar is None and rows[0].speedup_batch is None
    assert any("No baseline result" in s for s in insights.group_sentences(rows))
    html = render(tmp_path / "results", tmp_path / "report", pdf=False, n_resamples=50)["html"].read_text()
    # no size and no latency left for agnews: its Pareto figure is skipped, emotion's is still drawn
    assert "pareto_agnews_minilm-l6.png" not in html and "pareto_emotion_minilm-l6.png" in html


def test_method_descriptions_match_names_and_prefixes():
    from report.methods import describe

    assert describe("qlora_sft_smollm2") != describe("qlora") is not None
    assert describe("ptq_dynamic") and describe("unknown_method") is None


def test_variant_on_other_examples_is_not_paired(tmp_path):
    write_fake_results(tmp_path, n_emotion=120, n_agnews=40, variants=("baseline", "qat"))
    path = tmp_path / "emotion" / "minilm-l6" / "qat.json"
    qat = json.loads(path.read_text())
    for key in ("y_true", "y_pred", "probs"):
        qat["predictions"][key] = qat["predictions"][key][:100]
    qat["n_examples"] = 100
    path.write_text(json.dumps(qat))
    group = next(g for g in load_groups(tmp_path) if g.dataset == "emotion")
    row = analyse(group, n_resamples=50)[1]
    assert row.mcnemar is None and row.delta_f1 is None
    assert "not the baseline's" in insights.variant_sentence(row, 32)
