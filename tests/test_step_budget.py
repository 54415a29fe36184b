"""The QLoRA recipes' step budget and validation selection, on generated datasets of 2 and 50
labels: recipes/qlora_minilm.yaml (a tiny body, six steps, an evaluation every two) completes,
keeps the step of the best validation macro-F1, records it with the reason, and builds a head as
wide as the label set. Without a validation split it trains to the end and says so; killed after
a checkpoint and rerun, it resumes and still chooses among every evaluation of the run."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import REPO, save_tiny_body
from data_registry import prepare_into, register, write_lines
from safetensors.torch import load_file
from transformers import TrainerCallback

from glue.schema.recipe import read_yaml
from seqcls.workflow import run_from_cli, work_dir

STEPS, EVERY, BATCH = 6, 2, 8
WORDS = ["calm", "angry", "bright", "dull", "quick", "slow", "warm", "cold", "soft", "loud"]


def labels_of(n: int) -> list[str]:
    return [f"topic{k:02d}" for k in range(n)]


def dataset(root: Path, name: str, n_labels: int, per_label: int) -> Path:
    """A CSV dataset in the registry's format, prepared: ``per_label`` train rows and one validation
    and test row per label, each text carrying words of its label."""
    names = labels_of(n_labels)
    for split, per in (("train", per_label), ("validation", 1), ("test", 1)):
        rows = [f"{WORDS[k % 10]} {WORDS[(k // 10) % 10]} {split} note {i},{names[k]}"
                for i in range(per) for k in range(n_labels)]
        write_lines(root / f"{split}.csv", ["text,label", *rows])
    spec = register(root, name, {"splits": {s: f"{s}.csv" for s in ("train", "validation", "test")}})
    return prepare_into(spec, root / "prepared")


@pytest.fixture(scope="module")
def tiny_body(tmp_path_factory, minilm_path) -> Path:
    """A random BERT body without a head, as the QLoRA recipes' base models are; hidden 64:
    bitsandbytes' NF4 CPU kernel fails on rows of 32."""
    return save_tiny_body(tmp_path_factory.mktemp("tiny_body"), minilm_path, hidden=64)


def train(model: Path, data: Path, name: str, out: Path, callbacks: tuple = (), **extra) -> dict:
    """recipes/qlora_minilm.yaml on ``name`` with a tiny budget, through the stage's entry; the manifest."""
    raw = {**read_yaml(REPO / "recipes/qlora_minilm.yaml"), "model_name_or_path": str(model),
           "dataset_dir": str(data), "dataset": f"{name}_train", "eval_dataset": f"{name}_validation",
           "output_dir": str(out), "max_steps": STEPS, "eval_steps": EVERY, "save_steps": EVERY,
           "per_device_train_batch_size": BATCH, "logging_steps": 1, "warmup_ratio": 0.0, **extra}
    run_from_cli(raw, list(callbacks))
    return json.loads((out / "variant.json").read_text())


class HeadAtEvaluations(TrainerCallback):
    """The classification head's weights at every evaluation during training (the first at a step:
    the stage evaluates the kept weights once more at the last step), to tell which was exported."""

    def __init__(self) -> None:
        self.weights: dict[int, torch.Tensor] = {}

    def on_evaluate(self, args, state, control, model=None, **kwargs) -> None:
        head = [p for n, p in model.named_parameters()
                if p.requires_grad and "classifier" in n and n.endswith("weight")]
        self.weights.setdefault(state.global_step, head[0].detach().clone())


def check_best_of_all(training: dict, steps: list[int]) -> None:
    """The kept step is the first best of the recorded evaluations, the exported weights score it."""
    record = training["selection"]
    assert [e["step"] for e in record["evaluations"]] == steps
    scores = [e["eval_macro_f1"] for e in record["evaluations"]]
    best = scores.index(max(scores))
    assert (record["selected_step"], record["selected_eval_macro_f1"]) == (steps[best], scores[best])
    assert record["kept"] == "best" and record["reason"].startswith(f"best validation macro-F1 of {len(steps)} evaluations")
    assert training["validation"]["eval_macro_f1"] == pytest.approx(scores[best], abs=1e-12)


@pytest.mark.parametrize("n_labels, per_label", [(2, 12), (50, 2)])
def test_best_validation_step_is_kept_and_recorded(n_labels, per_label, tiny_body, tmp_path):
    name = f"gen{n_labels}"
    data = dataset(tmp_path / "registry", name, n_labels, per_label)
    out = tmp_path / "models" / name / "tiny" / "qlora"
    heads = HeadAtEvaluations()
    manifest = train(tiny_body, data, name, out, callbacks=(heads,))
    training, record = manifest["training"], manifest["training"]["selection"]
    check_best_of_all(training, list(range(EVERY, STEPS + 1, EVERY)))
    steps_per_epoch = math.ceil(n_labels * per_label / BATCH)
    assert (record["max_steps"], record["eval_strategy"], record["eval_every_steps"]) == (STEPS, "steps", EVERY)
    assert record["epochs"] == training["epochs"] == round(STEPS / steps_per_epoch, 2)
    assert manifest["labels"] == labels_of(n_labels)
    head = [t for k, t in load_file(out / "adapter_model.safetensors").items()
            if "classifier" in k and k.endswith("weight")]
    assert len(head) == 1 and head[0].shape[0] == n_labels
    exported_at = [step for step, weights in heads.weights.items() if torch.equal(weights, head[0])]
    assert exported_at == [record["selected_step"]]


def test_without_a_validation_split_it_trains_to_the_end_and_says_so(tiny_body, tmp_path, capsys):
    data = dataset(tmp_path / "registry", "noval", 2, 12)
    manifest = train(tiny_body, data, "noval", tmp_path / "models" / "noval" / "tiny" / "qlora", eval_dataset=None)
    record = manifest["training"]["selection"]
    assert record["selected_step"] == manifest["training"]["global_steps"] == STEPS
    assert record["evaluations"] == [] and record["eval_every_steps"] is None
    assert record["kept"] == "last" and record["reason"].startswith("no validation split")
    assert manifest["training"]["validation"] == {}
    assert "no validation split" in capsys.readouterr().out


class Crash(Exception):
    pass


class CrashAfter(TrainerCallback):
    """Stops the run as the step after ``step`` begins, once checkpoint-``step`` is complete."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs) -> None:
        if state.global_step == self.step:
            raise Crash(f"stopped after step {self.step}")


def test_a_resumed_run_chooses_among_every_evaluation(tiny_body, tmp_path):
    data = dataset(tmp_path / "registry", "resumed", 2, 12)
    out = tmp_path / "models" / "resumed" / "tiny" / "qlora"
    with pytest.raises(Crash):
        train(tiny_body, data, "resumed", out, callbacks=(CrashAfter(2 * EVERY),))
    assert (work_dir(out) / f"checkpoint-{2 * EVERY}").is_dir() and not out.exists()
    manifest = train(tiny_body, data, "resumed", out)
    assert manifest["training"]["resumes"] == 1
    check_best_of_all(manifest["training"], list(range(EVERY, STEPS + 1, EVERY)))
