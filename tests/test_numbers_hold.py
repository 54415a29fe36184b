"""Numbers do not move: a tiny run end to end (train a baseline with the seq_cls stage, every
quantization recipe, evaluate every folder) predicts exactly what tests/golden/tiny_run.json holds,
and the order of the evaluations does not change any variant's fidelity.

The run is self-contained (synthetic data, a random 2-layer BERT, single-threaded), so it is
deterministic. A change that means to move the numbers regenerates the file and says why:

    GOLDEN_WRITE=1 OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/test_numbers_hold.py

Probabilities are compared to 1e-6 (the result JSONs store six decimals; int8 kernels may round
the last one differently on another CPU); predicted labels, metrics and flip counts exactly.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import REPO
from data_registry import prepare_into, register, write_lines

from eval.evaluate import evaluate_folder, write_result
from glue.quantize import quantize_recipe
from glue.schema.recipe import load_recipe, read_yaml
from seqcls.workflow import parse, run_seq_cls

GOLDEN = REPO / "tests" / "golden" / "tiny_run.json"
RECIPES = REPO / "recipes" / "quantize"
VARIANTS = ["ptq_dynamic", "ptq_static", "ptq_pt2e", "qat", "qat_pt2e", "scratch_int8_dequant", "scratch_int8_intmm",
            "bnb_int8", "bnb_nf4"]
LABELS = ["calm", "angry", "happy"]
CUES = {"calm": ["quiet", "still", "gentle"], "angry": ["furious", "shout", "rage"],
        "happy": ["smile", "joy", "bright"]}
FILLER = ["the", "day", "was", "and", "then", "we", "went", "home", "with", "a", "dog"]
TOLERANCE = 1e-6


def texts(n: int, offset: int) -> list[dict[str, str]]:
    rows = []
    for i in range(offset, offset + n):
        label = LABELS[i % 3]
        words = [FILLER[(i * k) % len(FILLER)] for k in range(1, 2 + i % 5)] + [CUES[label][i % 3]]
        rows.append({"text": " ".join(words[i % 2:] + words[:i % 2]), "label": label})
    return rows


def tiny_encoder(folder: Path, tokenizer_path: str) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=128, max_position_embeddings=128)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def quantize_overrides(variant: str) -> dict[str, object]:
    """The shipped recipe with a small calibration sample and three QAT steps."""
    values: dict[str, object] = {}
    config = dict(load_recipe(RECIPES / f"{variant}.yaml").glue.quant_config)
    if variant in ("qat", "qat_pt2e"):
        values.update(max_train_samples=32, per_device_train_batch_size=8, max_steps=3, logging_steps=1)
    if "calibration_samples" in config or variant in ("ptq_static", "ptq_dynamic"):
        config.update(calibration_samples=16, calibration_batch_size=8)
    if variant in ("ptq_pt2e", "qat_pt2e"):
        config["compile"] = False  # the converted graph run eagerly: the same int8 math, no compile time
    return {**values, "quant_config": config}


def build(root: Path, tokenizer_path: str) -> tuple[Path, Path]:
    """Train the baseline and quantize it with every recipe: (data folder, models folder)."""
    data, models = root / "data", root / "models" / "tiny" / "bert"
    write_lines(root / "registry" / "tiny.jsonl", [json.dumps(r) for r in texts(240, 0)])
    prepare_into(register(root / "registry", "tiny", {"file_name": "tiny.jsonl"}), data)
    baseline = models / "baseline"
    raw = {**read_yaml(REPO / "recipes/baseline_minilm.yaml"), "dataset_dir": str(data), "dataset": "tiny_train",
           "eval_dataset": "tiny_validation", "model_name_or_path": str(tiny_encoder(root / "encoder", tokenizer_path)),
           "output_dir": str(baseline), "max_steps": 80, "learning_rate": 1e-3, "per_device_train_batch_size": 8,
           "save_strategy": "no", "eval_strategy": "no", "logging_steps": 4, "warmup_ratio": 0.0}
    run_seq_cls(*parse(raw, "golden")[:4], [], baseline, raw, "golden")
    common = {"dataset_dir": str(data), "dataset": "tiny_train", "model_name_or_path": str(baseline),
              "base_model_dir": str(baseline)}
    for variant in VARIANTS:
        quantize_recipe(load_recipe(RECIPES / f"{variant}.yaml", {
            **common, **quantize_overrides(variant), "output_dir": str(models / variant)}))
    return data, models


def evaluate(data: Path, models: Path, results: Path, order: list[str]) -> dict[str, dict]:
    """Evaluate the folders in ``order``, writing each result: the numbers the golden file keeps."""
    out = {}
    for variant in order:
        result = evaluate_folder(models / variant, dataset_dir=data, results_dir=results, latency=False, batch_size=8)
        write_result(result, results)
        out[variant] = {"y_pred": result["predictions"]["y_pred"], "probs": result["predictions"]["probs"],
                        "macro_f1": result["metrics"]["macro_f1"], "accuracy": result["metrics"]["accuracy"],
                        "fidelity": {k: result["fidelity"].get(k) for k in ("reference", "flips", "fixed", "broken")},
                        "kl_mean": result["fidelity"].get("kl_mean")}
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory, minilm_path) -> tuple[Path, Path]:
    return build(tmp_path_factory.mktemp("golden"), minilm_path)


@pytest.fixture(scope="module")
def tiny_run(built: tuple[Path, Path], tmp_path_factory) -> dict[str, dict]:
    return evaluate(*built, tmp_path_factory.mktemp("results"), ["baseline", *VARIANTS])


def test_tiny_run_matches_the_golden_numbers(tiny_run: dict[str, dict]) -> None:
    if os.environ.get("GOLDEN_WRITE"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(tiny_run, indent=1) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(tiny_run) == sorted(golden)
    for variant, expected in golden.items():
        got = tiny_run[variant]
        assert got["y_pred"] == expected["y_pred"], variant
        probs, golden_probs = torch.tensor(got["probs"]), torch.tensor(expected["probs"])
        assert torch.allclose(probs, golden_probs, rtol=0, atol=TOLERANCE), variant
        assert (got["macro_f1"], got["accuracy"], got["fidelity"]) == \
            (expected["macro_f1"], expected["accuracy"], expected["fidelity"]), variant
        assert got["kl_mean"] == pytest.approx(expected["kl_mean"], abs=TOLERANCE), variant


def test_fidelity_does_not_depend_on_the_evaluation_order(built: tuple[Path, Path], tiny_run: dict[str, dict],
                                                          tmp_path: Path) -> None:
    """Variants evaluated before their baseline predict it in the same run and get the same fidelity."""
    first = ["bnb_nf4", "qat", "baseline"]
    again = evaluate(*built, tmp_path, first)
    for variant in first:
        assert again[variant]["fidelity"] == tiny_run[variant]["fidelity"], variant
        assert again[variant]["kl_mean"] == tiny_run[variant]["kl_mean"], variant
    sources = {v: json.loads((tmp_path / "tiny" / "bert" / f"{v}.json").read_text())["fidelity"]["source"]
               for v in first}
    assert sources == {"bnb_nf4": "predicted in this run", "qat": "predicted in this run", "baseline": "itself"}
