"""Datasets other than emotion, end to end: registry -> prepared data -> baseline (a tiny random
BERT, two steps of the seq_cls stage on the shipped recipe, overridden) -> one quantization
(dynamic INT8, the shipped recipe) -> evaluation. The first dataset trains through the literal
`llamafactory-cli train` command; the others call the stage in-process (the same code, without
a second CLI start-up). Three shapes: integer labels
with a mapping file (tweet_eval's layout, 4 labels), string labels in a CSV (3 labels, one class
missing from test), and JSONL (2 labels)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, save_tiny_body
from data_registry import prepare_into, register, write_lines

from eval.evaluate import evaluate_folder, write_result
from glue.quantize import quantize_recipe
from glue.schema.recipe import load_recipe, read_yaml
from seqcls.workflow import parse, run_seq_cls

CLI = Path(sys.executable).with_name("llamafactory-cli")

WORDS = ["calm", "angry", "bright", "dull", "quick", "slow", "warm", "cold"]


def texts(n: int, tag: str) -> list[str]:
    return [f"{tag} {WORDS[i % 8]} {WORDS[(3 * i) % 8]} sentence {i}" for i in range(n)]


def tweet_pairs(root: Path) -> dict:
    for split, n in (("train", 48), ("val", 12), ("test", 16)):
        write_lines(root / f"{split}_text.txt", texts(n, split))
        write_lines(root / f"{split}_labels.txt", [str(i % 4) for i in range(n)])
    write_lines(root / "mapping.txt", [f"{i}\t{name}" for i, name in enumerate(["anger", "joy", "optimism", "sadness"])])
    return {"splits": {s: {"text": f"{f}_text.txt", "label": f"{f}_labels.txt"}
                       for s, f in (("train", "train"), ("validation", "val"), ("test", "test"))},
            "label_file": "mapping.txt"}


def string_csv(root: Path) -> dict:
    names = ["billing", "delivery", "refund"]
    write_lines(root / "train.csv", ["message,topic", *[f"{t},{names[i % 3]}" for i, t in enumerate(texts(48, "tr"))]])
    write_lines(root / "test.csv", ["message,topic", *[f"{t},{names[i % 2]}" for i, t in enumerate(texts(10, "te"))]])
    return {"splits": {"train": "train.csv", "test": "test.csv"}, "columns": {"text": "message", "label": "topic"}}


def jsonl(root: Path) -> dict:
    write_lines(root / "all.jsonl", [json.dumps({"text": t, "label": ["no", "yes"][i % 2]})
                                     for i, t in enumerate(texts(60, "j"))])
    return {"file_name": "all.jsonl"}


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory, minilm_path) -> Path:
    """A random 2-layer BERT encoder without a head: each dataset's baseline adds its own."""
    return save_tiny_body(tmp_path_factory.mktemp("tiny_encoder"), minilm_path, hidden=32)


def train_baseline(overrides: dict, in_process: bool) -> None:
    """baseline_minilm.yaml with ``overrides``, by the CLI or by the stage's own entry in-process."""
    if in_process:
        raw = {**read_yaml(REPO / "recipes/baseline_minilm.yaml"), **overrides}
        run_seq_cls(*parse(raw, "test")[:4], [], Path(overrides["output_dir"]), raw, "test")
        return
    done = subprocess.run([str(CLI), "train", "recipes/baseline_minilm.yaml", *(f"{k}={v}" for k, v in overrides.items())],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{CLI.parent}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("name, write, labels, absent, in_process", [
    ("tweetemo", tweet_pairs, ["anger", "joy", "optimism", "sadness"], [], False),
    ("tickets", string_csv, ["billing", "delivery", "refund"], ["refund"], True),
    ("yesno", jsonl, ["no", "yes"], [], True),
])
def test_dataset_runs_end_to_end(tmp_path, tiny_encoder, name, write, labels, absent, in_process):
    data, models, results = tmp_path / "data", tmp_path / "models" / name / "tiny", tmp_path / "results"
    spec = register(tmp_path / "registry", name, write(tmp_path / "registry"))
    prepare_into(spec, data)
    baseline, common = models / "baseline", {"dataset_dir": str(data), "dataset": f"{name}_train"}
    train_baseline({**common, "model_name_or_path": str(tiny_encoder), "output_dir": str(baseline), "max_steps": 2,
                    "per_device_train_batch_size": 8, "save_strategy": "no", "eval_strategy": "no",
                    "logging_steps": 1, "eval_dataset": f"{name}_validation"}, in_process)
    quantized = quantize_recipe(load_recipe(REPO / "recipes/quantize/ptq_dynamic.yaml", {
        **common, "model_name_or_path": str(baseline), "base_model_dir": str(baseline),
        "output_dir": str(models / "ptq_dynamic")}))
    for folder in (baseline, quantized):
        result = evaluate_folder(folder, dataset_dir=data, results_dir=results, latency=False)
        assert (result["dataset"], result["split"], result["labels"]) == (name, f"{name}_test", labels)
        assert result["metrics"]["classes_without_examples"] == absent
        assert len(result["metrics"]["macro_over"]) == len(labels) - len(absent)
        assert result["fidelity"]["reference"] == "baseline"  # the quantized variant is compared with it
        write_result(result, results)
    assert (results / name / "tiny" / "ptq_dynamic.json").is_file()
