"""The reports render from fake result JSONs alone: page limits, nothing wider than the page,
and the numbers in the PDFs' text equal the JSONs."""
from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pytest
from fake_results import LINEARS, selection_block, skipped_tuning_block, tuning_block, write_fake_results
from pypdf import PdfReader

from eval.results import ResultsError, load_groups
from report import blocks, names
from report import render as render_module
from report.render import main, overflowing, render
from report.results import ReportError

QUANT_DOCS = ("emotion", "agnews", "appendix")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    write_fake_results(out, n_emotion=300, n_agnews=120)
    for dataset, variant, key, block in (("emotion", "ptq_static", "quantization", tuning_block()),
                                         ("emotion", "qlora", "training", selection_block()),
                                         ("agnews", "bnb_nf4", "quantization", skipped_tuning_block())):
        path = out / dataset / "minilm-l6" / f"{variant}.json"
        result = json.loads(path.read_text())
        result.setdefault(key, {})["tuning" if key == "quantization" else "selection"] = block
        path.write_text(json.dumps(result))
    for path in (out / "emotion" / "minilm-l6").glob("*.json"):  # a bert-base-sized track beside MiniLM
        result = json.loads(path.read_text())
        result["model_tag"] = "mpnet-base"
        (out / "emotion" / "mpnet-base").mkdir(exist_ok=True)
        (out / "emotion" / "mpnet-base" / path.name).write_text(json.dumps(result))
    (out / "bench").mkdir()
    (out / "bench" / "minilm-l6-amx.json").write_text(json.dumps({  # the shape bench/run.py writes
        "peak": {"model_name": "Intel Xeon", "cpu_kind": "amx", "cores": 2, "isa_summary": "amx_int8"},
        "rows": [{"variant": "baseline", "backend": "torch", "macro_f1": 0.9,
                  "timings": {"real_b32": {"throughput_ex_per_s": {"median": 100.0}, "ms_per_batch": {"median": 320.0},
                                           "speedup_vs_baseline": 1.0}}}],
        "target": {"met": False, "shortfalls": ["int8 below 2x"]}}))
    (out / "bench" / "other.json").write_text(json.dumps({"unknown_shape": 7}))
    figure = plt.figure(figsize=(2, 1))
    figure.savefig(out / "bench" / "minilm-l6-amx_throughput.png")
    plt.close(figure)
    return out


@pytest.fixture(scope="module")
def rendered(results, tmp_path_factory):
    return render(results, tmp_path_factory.mktemp("report"), pdf=True, n_resamples=100, only=QUANT_DOCS)


def _pdf_text(path) -> str:
    return " ".join(page.extract_text() for page in PdfReader(path).pages)


def test_page_limits_and_outputs(rendered):
    assert set(rendered) == set(QUANT_DOCS)
    assert 3 <= rendered["emotion"].pages <= 5 and rendered["agnews"].pages <= 5
    for r in rendered.values():
        assert r.pdf.read_bytes().startswith(b"%PDF") and len(PdfReader(r.pdf).pages) == r.pages
    figures = rendered["emotion"].pdf.parent / "figures"
    for name in ("pipelines.png", "qlora.png", "handin_confusion_emotion_minilm-l6.png", "tradeoff_emotion_minilm-l6.png",
                 "confusion_agnews_minilm-l6.png"):
        assert (figures / name).stat().st_size > 5000


def test_bert_base_sized_track_leads(rendered):
    html = rendered["emotion"].html.read_text()
    assert html.index("Result in brief</b>: mpnet-base") < html.index("The same methods on minilm-l6")
    assert "all-mpnet-base-v2" in html


def test_numbers_in_the_pdf_text_equal_the_jsons(rendered, results):
    for doc, dataset in (("emotion", "emotion"), ("agnews", "agnews")):
        text = _pdf_text(rendered[doc].pdf)
        for path in sorted((results / dataset / "minilm-l6").glob("*.json")):
            r = json.loads(path.read_text())
            for number in (f"{r['metrics']['macro_f1']:.3f}", f"{r['metrics']['accuracy']:.3f}",
                           f"{r['size_mb']:.1f}", f"{r['latency']['ms_per_example']:.2f}"):
                assert number in text, f"{doc}.pdf lacks {number} ({r['variant']})"


def test_standins_and_blocks_rendered(rendered):
    html = rendered["emotion"].html.read_text()
    assert "instead of bert-base-uncased" in html and "What it does to each conclusion".lower() in html.lower()
    assert "AG News held-out subset of the test file (120 of 7,600 rows" in rendered["agnews"].html.read_text()
    appendix = rendered["appendix"].html.read_text()
    assert "What we ran instead" in appendix and "recipes/baseline_bert.yaml" in appendix
    assert "kept_fp32" in appendix and "real_b32" in appendix and "int8 below 2x" in appendix and "unknown_shape" in appendix
    assert "figures/minilm-l6-amx_throughput.png" in appendix and "esuriddick" in appendix
    assert "Measured on Intel Xeon, amx kind (2 cores; flags: amx_int8)" in appendix


def test_budget_and_kept_step_in_reader_words(rendered, results):
    """The hand-ins count the Linears a budget kept in FP32 and name none; the appendix lists every round."""
    static = json.loads((results / "emotion" / "minilm-l6" / "ptq_static.json").read_text())
    tuning, selection = static["quantization"]["tuning"], selection_block()
    emotion, agnews = (rendered[doc].html.read_text() for doc in ("emotion", "agnews"))
    assert blocks.tuning_phrase(tuning) in emotion and blocks.selection_phrase(selection) in emotion
    assert f"batch 32 · {blocks.selection_phrase(selection)}" in emotion  # its epochs said once
    assert "kept 2 of 36 Linears in FP32 to stay within 0.5 points on validation" in emotion
    assert "not tuned: the dataset has no validation split to choose on" in agnews
    assert not any(name in html for name in LINEARS for html in (emotion, agnews))
    appendix = rendered["appendix"].html.read_text()
    rounds = appendix.split("the accuracy budget of 0.5 points", 1)[1].split("</table>", 1)[0]
    for step in tuning["steps"]:
        assert f"<td>{step['macro_f1']:.4f}</td><td>{step['drop_points']:+.2f}</td>" in rounds
        assert (step["module"] or "–") in rounds
    assert rounds.count("<tr>") == len(tuning["steps"]) + 1
    evaluations = appendix.split("every validation evaluation of its training", 1)[1].split("</table>", 1)[0]
    assert all(f"<td>{e['step']}</td><td>{e['eval_macro_f1']:.4f}</td>" in evaluations
               for e in selection["evaluations"])
    assert f"{names.variant('ptq_static')} (ptq_static)" in appendix  # the hand-ins' names


def test_overflow_check_can_fail(tmp_path):
    from weasyprint import HTML

    wide = HTML(string='<table style="width:400mm"><tr><td>x</td></tr></table>').render()
    assert overflowing(wide) and not overflowing(HTML(string="<p>fits</p>").render())


def test_page_limit_is_an_error(results, tmp_path, monkeypatch):
    monkeypatch.setitem(render_module.PAGE_LIMITS, "agnews", (1, 1))
    with pytest.raises(ReportError, match="agnews.pdf: .* pages, the limit is 1 to 1"):
        render(results, tmp_path, pdf=True, n_resamples=50, only=("agnews",))


def test_bnb_int8_block_drops_nf4_settings_and_rmsnorm_model_drops_layernorm_prose():
    result = {"quantization": {"bits": 8, "config": {"bits": 8, "quant_type": "nf4", "double_quant": True},
                               "quantized": {"by_type": {"Linear8bitLt": 210}},
                               "higher_precision": {"by_type": {"LlamaRMSNorm": 61},
                                                    "weightless_ops_fp32": "Embeddings, LayerNorm, GELU stay FP32"}}}
    block = blocks.quant_block(result)
    assert block["config"] == {"bits": 8} and "weightless_ops_fp32" not in block["higher_precision"]
    summary = blocks.quant_summary(result)
    assert summary["quantized"] == "210 Linear8bitLt; 8-bit" and "nf4" not in json.dumps(summary)


def test_kept_column_counts_the_outlier_scan_apart_from_the_skip_list():
    scanned = {"mpnet.encoder.layer.6.output.dense": 643.2, "mpnet.encoder.layer.7.output.dense": 604.3}
    result = {"quantization": {"bits": 8, "config": {"skip_modules": ["classifier", "pooler", *scanned]},
                               "higher_precision": {"by_type": {"Linear": 4}},
                               "outlier_scan": {"ratio": 32.0, "texts": 256, "kept_fp32": scanned}}}
    kept = blocks.quant_summary(result)["kept"]
    assert kept == ("4 Linear (skip list: classifier, pooler; outlier scan: 2 Linears with a token spread above 32 "
                    "on 256 texts)")


def test_flatten_renders_any_block():
    rows = dict(blocks.flatten({"modules": ["Linear", "Embedding"], "observers": {"weight": "MinMax"}, "bits": 8}))
    assert rows == {"modules": "Linear, Embedding", "observers.weight": "MinMax", "bits": "8"}


def test_errors_are_worded(tmp_path, capsys):
    with pytest.raises(ResultsError, match="make eval-all"):
        load_groups(tmp_path)
    bad = tmp_path / "emotion" / "m" / "x.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(json.dumps({"dataset": "emotion"}))
    with pytest.raises(ResultsError, match="missing split_label"):
        load_groups(tmp_path)
    with pytest.raises(SystemExit):
        main(["--results", str(tmp_path), "--no-pdf"])
    assert "error:" in capsys.readouterr().err


def test_sensitivity_file_beside_results_is_not_a_result(results, tmp_path):
    write_fake_results(tmp_path, n_emotion=60, n_agnews=20, variants=("baseline", "ptq_dynamic"))
    (tmp_path / "emotion" / "minilm-l6" / "sensitivity_ptq_dynamic.json").write_text(json.dumps({"units": []}))
    assert {v for g in load_groups(tmp_path) for v in g.results} == {"baseline", "ptq_dynamic"}


@pytest.mark.parametrize("key, value, message", [
    ("model_tag", "../x", r"key 'model_tag': '\.\./x' is not a plain name .*: fix the field or remove the file$"),
    ("variant", "qat", r"key 'variant' holds 'qat', but the file's place names it 'ptq_dynamic'; move the file to "
                       r"<dataset>/<model_tag>/<variant>\.json or fix the field$"),
    ("dataset", "agnews", r"key 'dataset' holds 'agnews', but the file's place names it 'emotion'"),
])
def test_result_names_must_be_plain_and_its_place(tmp_path, key, value, message):
    """A result's names become report and figure file names: neither a climbing name nor one that is
    not the file's own place is read."""
    write_fake_results(tmp_path, n_emotion=60, n_agnews=20, variants=("baseline", "ptq_dynamic"))
    path = tmp_path / "emotion" / "minilm-l6" / "ptq_dynamic.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), key: value}))
    with pytest.raises(ResultsError, match=message) as err:
        load_groups(tmp_path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_a_dataset_named_as_a_document_is_refused(tmp_path):
    write_fake_results(tmp_path / "fake", n_emotion=60, n_agnews=20, variants=("baseline", "ptq_dynamic"))
    for path in (tmp_path / "fake" / "emotion" / "minilm-l6").glob("*.json"):
        target = tmp_path / "results" / "appendix" / "minilm-l6" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({**json.loads(path.read_text()), "dataset": "appendix"}))
    with pytest.raises(ReportError, match="dataset 'appendix' has a document's name .*: rename the dataset$"):
        render(tmp_path / "results", tmp_path / "report", pdf=False, n_resamples=50, only=("emotion",))


def test_group_without_baseline_or_latency_still_renders(tmp_path):
    write_fake_results(tmp_path / "results", n_emotion=120, n_agnews=40, variants=("baseline", "qat"))
    (tmp_path / "results" / "agnews" / "minilm-l6" / "baseline.json").unlink()
    qat_path = tmp_path / "results" / "agnews" / "minilm-l6" / "qat.json"
    qat = json.loads(qat_path.read_text())
    qat.update(latency={}, fidelity={"reference": None, "note": "no baseline"}, size_mb=None)
    qat_path.write_text(json.dumps(qat))
    html = render(tmp_path / "results", tmp_path / "report", pdf=False, n_resamples=50,
                  only=("agnews",))["agnews"].html.read_text()
    assert "No FP32 baseline was evaluated" in html and "tradeoff_agnews_minilm-l6.png" not in html


def test_method_descriptions_match_names_and_prefixes():
    from report.methods import data_needs, describe

    assert describe("qlora_sft_smollm2") != describe("qlora") is not None
    assert describe("ptq_dynamic") and describe("unknown_method") is None
    assert data_needs("scratch_int8_intmm") == "none" and data_needs("qat") == "labelled training data"
    # SmoothQuant reads unlabelled texts: a data-free method stops being one when its recipe turns it on
    assert data_needs("ptq_dynamic", {"smooth_alpha": 0.0}) == "none"
    assert data_needs("ptq_dynamic", {"smooth_alpha": 0.75}) == "unlabelled calibration texts"


@pytest.mark.parametrize("ranges, said", [
    ("observed", "calibrated on 256 emotion_train texts"),
    ("learned in training", "SmoothQuant maxima from 256 emotion_train texts")])
def test_method_table_says_where_the_activation_ranges_come_from(ranges, said):
    result = {"quantization": {"bits": 8, "config": {"smooth_alpha": 0.75}, "observers": {"activation": "minmax"},
                               "calibration": {"samples": 256, "source": "emotion_train", "input_ranges": ranges}}}
    observers = blocks.quant_summary(result)["observers"]
    assert observers.endswith(said) and ("calibrated" in observers) == (ranges == "observed")


def test_every_handin_item_is_in_the_body(rendered):
    html = rendered["emotion"].html.read_text()
    for item in ("Result in brief", "Roll number", "zero-point", "Per-tensor", "straight-through", "Double quantization",
                 "LLaMA-Factory", "frozen in training", "Per-class F1 of every variant", "Confusion matrices",
                 "One insight per method", "QLoRA:", "Deviations from the assignment", "How to read the statistics",
                 "bootstrap", "McNemar", "Holm", "References", "MiB", "compression"):
        assert item in html, item
    agnews = rendered["agnews"].html.read_text()
    assert "ms per batch of 32" in agnews and "4-bit origin" in agnews and "Precision and recall per class" in agnews


def test_name_and_roll_on_the_first_page(results, tmp_path):
    from report.handin import Student

    out = render(results, tmp_path, pdf=True, n_resamples=50, only=("agnews",), student=Student("Jane Doe", "R42"))
    first = PdfReader(out["agnews"].pdf).pages[0].extract_text()
    assert "Jane Doe" in first and "R42" in first


@pytest.mark.parametrize("text, broken", [
    ("-0.6 points [-1.4, -0.05] lower¶-0.1 points [-0.3, 0.0] no measurable difference", False),
    ("-0.6 points [-1.4, 0.0] lower", True),                     # printed as touching zero, called lower
    ("+0.2 points [0.0, +0.4] higher", True),
    ("1.10x [0.98x, 1.30x] faster", True),
    ("0.85x [0.80x, 0.90x] slower; 1.20x [1.05x, 1.31x] faster", False),
])
def test_the_render_fails_on_a_word_the_printed_interval_does_not_support(text, broken):
    from report import claims

    assert bool(claims.disagreements(text)) is broken


def test_bounds_print_enough_decimals_for_their_word():
    from report import claims

    assert claims.points_interval(-0.014, -0.0003) == "[-1.4, -0.03]"
    assert claims.points_interval(-0.003, 0.0) == "[-0.3, 0.0]"
    assert claims.ratio_interval(1.0004, 1.3) == "[1.0004x, 1.30x]"


def test_a_handin_with_build_words_or_identifiers_fails():
    from report.render import check

    with pytest.raises(ReportError, match="'make '"):
        check("emotion", "<p>Rendered by make report</p>", is_handin=True)
    with pytest.raises(ReportError, match="scratch_int8_intmm"):
        check("emotion", "<p>scratch_int8_intmm is fast</p>", is_handin=True)
    with pytest.raises(ReportError, match="bert.encoder.layer.3.output.dense"):
        check("emotion", "<p>kept bert.encoder.layer.3.output.dense in FP32</p>", is_handin=True)
    check("emotion", '<section class="codenames"><td>scratch_int8_intmm</td></section><p>fine</p>', is_handin=True)
    check("appendix", "<p>results/bench/x.json</p>", is_handin=False)


def test_a_report_for_any_dataset(tmp_path):
    """A made-up dataset's results get the emotion hand-in's structure, over its own labels."""
    write_fake_results(tmp_path / "fake", n_emotion=240, n_agnews=20, variants=("baseline", "ptq_dynamic", "qat", "qlora"))
    labels = ["calm", "tense", "odd", "glad", "grim", "wry"]
    for path in (tmp_path / "fake" / "emotion" / "minilm-l6").glob("*.json"):
        result = json.loads(path.read_text())
        per_class = result["metrics"]["per_class"]
        result["metrics"]["per_class"] = {new: per_class[old] for old, new in zip(result["labels"], labels)}
        result["metrics"]["per_class_f1"] = {new: v["f1"] for new, v in result["metrics"]["per_class"].items()}
        result.update(dataset="mydata", labels=labels, split_label="mydata test (240)")
        target = tmp_path / "results" / "mydata" / "minilm-l6" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result))
    out = render(tmp_path / "results", tmp_path / "report", pdf=True, n_resamples=50, only=("mydata",))
    html = out["mydata"].html.read_text()
    assert out["mydata"].pdf.name == "mydata.pdf" and 1 <= out["mydata"].pages <= 5
    assert all(f"<th>{lab}</th>" in html for lab in labels) and "Result in brief" in html and "QAT" in html
    assert "classifier on mydata" in html and "The setup and what it does to the conclusions" in html
    assert "assignment" not in html and "Colab" not in html and "beside it" not in html
    with pytest.raises(ReportError, match="no results for otherdata"):
        render(tmp_path / "results", tmp_path / "report", pdf=False, n_resamples=50, only=("otherdata",))
