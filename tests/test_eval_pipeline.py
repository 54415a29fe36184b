import json
import shutil

import pytest

from eval.eval_all import discover
from eval.evaluate import evaluate_folder, write_result
from eval.results import load_groups
from eval.tables import comparison_table, per_class_f1_table
from glue.folder.manifest import VariantError
from glue.folder.variant import load_variant


def test_evaluate_folder_writes_schema(tiny_bert_dir, prepared_dir, tmp_path):
    results = tmp_path / "results"
    result = evaluate_folder(tiny_bert_dir, dataset_dir=prepared_dir, results_dir=results, latency=True)
    path = write_result(result, results)
    assert path == results / "emotion" / "tiny-bert" / "baseline.json"
    saved = json.loads(path.read_text())
    assert path.with_suffix(".png").is_file()
    assert saved["n_examples"] == 48 and len(saved["predictions"]["y_pred"]) == 48
    for key in ("macro_f1", "accuracy", "per_class_f1", "confusion_matrix"):
        assert key in saved["metrics"]
    assert sum(map(sum, saved["metrics"]["confusion_matrix"])) == 48
    assert saved["latency"]["ms_per_example"] > 0 and saved["latency"]["ms_per_batch"] > 0
    assert saved["size_mb"] == saved["size"]["state_dict_mb"] > 0
    assert saved["size"]["disk_mb"] > 0
    assert saved["fidelity"]["reference"] == "baseline" and saved["fidelity"]["flip_rate"] == 0
    assert saved["provenance"]["git_commit"] and saved["provenance"]["data_sha256"]
    assert saved["provenance"]["packages"]["torch"]
    (group,) = load_groups(results)
    table = comparison_table(group)
    assert "| baseline | " in table and "1.00x" in table
    per_class = per_class_f1_table(group).splitlines()
    assert per_class[0] == "| variant | " + " | ".join(saved["labels"]) + " |"
    assert per_class[2].startswith("| baseline | ") and per_class[2].count("|") == len(saved["labels"]) + 2


def test_predictions_do_not_depend_on_batching(tiny_bert_dir, prepared_dir):
    from data_prep.prepared import load_split
    from eval.evaluate import predict_logits

    variant = load_variant(tiny_bert_dir)
    texts = load_split(prepared_dir, "emotion_test").texts[:10]
    a = predict_logits(variant, texts, batch_size=3)
    b = predict_logits(variant, texts, batch_size=10)
    assert a == pytest.approx(b, abs=1e-4)


def test_batch_size_is_recorded_and_checked(tiny_bert_dir, prepared_dir, tmp_path, capsys):
    from eval.evaluate import main

    main([str(tiny_bert_dir), "--dataset-dir", str(prepared_dir), "--results", str(tmp_path), "--no-latency",
          "--limit", "8", "--batch-size", "3"])
    saved = json.loads((tmp_path / "emotion" / "tiny-bert" / "baseline.json").read_text())
    assert saved["predictions"]["batch_size"] == 3 and len(saved["predictions"]["y_pred"]) == 8
    for option, value in (("--batch-size", "0"), ("--limit", "-3"), ("--threads", "two")):
        with pytest.raises(SystemExit):
            main([str(tiny_bert_dir), option, value])
        assert f"argument {option}: '{value}' is not a whole number >= 1" in capsys.readouterr().err


def test_missing_or_foreign_folders_are_clear_errors(tmp_path):
    with pytest.raises(VariantError, match="does not exist"):
        load_variant(tmp_path / "nope")
    with pytest.raises(VariantError, match="has no variant.json"):
        load_variant(tmp_path)
    (tmp_path / "variant.json").write_text(json.dumps({"method": "x", "loader": "os:system", "labels": ["a"]}))
    with pytest.raises(VariantError, match="outside glue., seqcls."):
        load_variant(tmp_path)


def test_discover_puts_baselines_first(tmp_path):
    for variant in ("ptq", "baseline", "qat"):
        (tmp_path / "emotion" / "m" / variant).mkdir(parents=True)
        (tmp_path / "emotion" / "m" / variant / "variant.json").write_text("{}")
    assert [p.name for p in discover(tmp_path)] == ["baseline", "ptq", "qat"]


def test_discover_limits_to_one_dataset_and_skips_hidden_folders(tmp_path):
    from eval.eval_all import discover

    for rel in ("emotion/m/baseline", "emotion/m/ptq", "emotion/m/.ptq.staging-1", "mine/m/baseline"):
        (tmp_path / rel).mkdir(parents=True)
        (tmp_path / rel / "variant.json").write_text("{}")
    names = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path, "emotion")]
    assert names == ["emotion/m/baseline", "emotion/m/ptq"]
    assert len(discover(tmp_path)) == 3


def test_fidelity_reuses_a_stored_baseline_result_only_for_the_weights_it_measured(tiny_bert_dir, prepared_dir,
                                                                                   tmp_path):
    """A baseline result left by another build under the same name (retrained, or trained on another CPU
    kind) must not be the reference: the baseline folder is predicted again."""
    models = tmp_path / "models" / "emotion" / "tiny-bert"
    shutil.copytree(tiny_bert_dir, models / "baseline")
    shutil.copytree(tiny_bert_dir, models / "copy")
    manifest = json.loads((models / "copy" / "variant.json").read_text())
    (models / "copy" / "variant.json").write_text(json.dumps({**manifest, "variant": "copy"}))
    results = tmp_path / "results"
    baseline = evaluate_folder(models / "baseline", dataset_dir=prepared_dir, results_dir=results, latency=False)
    assert baseline["weights_sha256"] == manifest["weights_sha256"]
    stored = write_result(baseline, results)

    def fidelity() -> dict:
        return evaluate_folder(models / "copy", dataset_dir=prepared_dir, results_dir=results, latency=False)["fidelity"]

    assert fidelity()["source"] == "stored"
    other = {**baseline, "weights_sha256": {name: "0" * 64 for name in baseline["weights_sha256"]},
             "predictions": {**baseline["predictions"],
                             "y_pred": [(y + 1) % 6 for y in baseline["predictions"]["y_pred"]]}}
    stored.write_text(json.dumps(other))
    again = fidelity()
    assert again["source"] == "predicted in this run" and again["flips"] == 0
