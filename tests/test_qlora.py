"""QLoRA on the embedded MiniLM: NF4 base frozen, adapters + FP32 head trained, saved small,
reloaded through load_variant to the same logits; recipe errors; LLaMA-Factory refuses the file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from data_prep.common import Example, PreparedDataset, write_prepared
from glue import qlora
from glue.recipe import RecipeError, load_recipe
from glue.variant import load_variant

RECIPE = "recipes/emotion/qlora_minilm.yaml"
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
TEXTS = ["i feel so alone tonight", "what a wonderful happy day", "i adore you so much",
         "this makes me furious", "i am scared of the dark", "wow i did not expect that"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    examples = [Example(t, i) for i, t in enumerate(TEXTS)] * 4
    write_prepared(PreparedDataset("emotion", LABELS, {"train": examples, "validation": examples[:6]}, "x"), out)
    return out


def test_qlora_trains_saves_small_and_reloads(prepared, tmp_path):
    out = tmp_path / "qlora"
    recipe = load_recipe(RECIPE, {"dataset_dir": str(prepared), "output_dir": str(out), "num_train_epochs": 1,
                                  "per_device_train_batch_size": 12, "logging_steps": 1})
    qlora.train(recipe)
    manifest = json.loads((out / "variant.json").read_text())
    params = manifest["training"]["parameters"]
    # 6 layers x (query, key, value, attention dense: 8*(384+384); intermediate, output: 8*(384+1536))
    # + the pooler's LoRA 8*(384+384) + the 6-way head 384*6+6.
    assert params["trainable"] == 6 * (4 * 8 * 768 + 2 * 8 * 1920) + 8 * 768 + 384 * 6 + 6
    assert params["total"] > 22_000_000 and params["trainable_pct"] < 2
    assert manifest["training"]["global_steps"] == 2 and manifest["training"]["peak_memory"]["rss_peak_mb"] > 0
    assert manifest["quantization"]["quant_type"] == "nf4" and manifest["variant"] == "qlora"
    assert (out / "adapter_model.safetensors").stat().st_size < 3 * 2**20  # adapters + head only
    assert not list(out.glob("checkpoint-*")) and not (out / "training_args.bin").exists()

    variant = load_variant(out)
    base_linear = variant.model.base_model.model.bert.encoder.layer[0].attention.self.query.base_layer
    assert type(base_linear).__name__ == "Linear4bit"
    assert type(variant.model.base_model.model.classifier.modules_to_save["default"]) is torch.nn.Linear
    logits = variant.logits(TEXTS)
    assert logits.shape == (6, 6) and torch.isfinite(logits).all()
    torch.testing.assert_close(load_variant(out).logits(TEXTS), logits)  # deterministic rebuild


@pytest.mark.parametrize("overrides, message", [
    ({"quantization_bit": 8}, "quantization_bit: 4"),
    ({"finetuning_type": "full"}, "finetuning_type: lora"),
    ({"lora_target": "all"}, "name the LoRA modules"),
])
def test_recipe_errors(prepared, overrides, message):
    recipe = load_recipe(RECIPE, {"dataset_dir": str(prepared), **overrides})
    with pytest.raises(RecipeError, match=message):
        qlora.quantization_block(recipe)
        qlora.lora_config(recipe)


def test_cli_refuses_other_methods(tmp_path):
    with pytest.raises(SystemExit, match="error: .*method 'baseline' is not trained by this job"):
        qlora.main([RECIPE, "method=baseline", f"output_dir={tmp_path}"])


def test_llamafactory_refuses_the_recipe():
    from llamafactory.hparams import get_train_args

    with pytest.raises(ValueError, match="task"):
        get_train_args(yaml.safe_load(Path(RECIPE).read_text()))


def test_bert_base_twin_parses_with_the_same_method():
    bert, minilm = load_recipe("recipes/emotion/qlora_bert.yaml"), load_recipe(RECIPE)
    assert bert.model.model_name_or_path == "google-bert/bert-base-uncased" and bert.glue.method == "qlora"
    assert qlora.quantization_block(bert) == qlora.quantization_block(minilm)
    assert bert.finetuning.lora_target == minilm.finetuning.lora_target
