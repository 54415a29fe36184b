"""Recipe values no training can use, nested overrides, and YAML's ``no``."""
from pathlib import Path

import pytest
import yaml

from glue.schema.recipe import RecipeError, load_recipe

REPO = Path(__file__).resolve().parent.parent
PTQ = REPO / "recipes" / "quantize" / "ptq_dynamic.yaml"


@pytest.mark.parametrize("key, bad", [
    ("lora_rank", 0), ("lora_rank", -4), ("lora_alpha", 0), ("lora_alpha", -2), ("lora_dropout", 1.0),
    ("lora_dropout", -0.1), ("per_device_train_batch_size", 0), ("per_device_eval_batch_size", 0),
    ("gradient_accumulation_steps", 0), ("learning_rate", 0), ("learning_rate", -1e-5),
    ("learning_rate", ".nan"), ("cutoff_len", 0), ("cutoff_len", -128),
])
def test_unusable_values_name_key_and_fix(key, bad):
    with pytest.raises(RecipeError, match=rf"ptq_dynamic.yaml: key '{key}' is .*; set it to "):
        load_recipe(PTQ, [f"{key}={bad}"])


@pytest.mark.parametrize("epochs, steps", [(0, -1), (-1, 0), (0, 0)])
def test_nothing_to_train_is_refused(epochs, steps):
    with pytest.raises(RecipeError, match="nothing would train; set num_train_epochs"):
        load_recipe(PTQ, [f"num_train_epochs={epochs}", f"max_steps={steps}"])


def test_bad_values_in_the_file_are_refused_too(tmp_path):
    raw = yaml.safe_load(PTQ.read_text())
    raw["lora_dropout"] = 1.5
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(RecipeError, match=rf"{path}: key 'lora_dropout' is 1.5"):
        load_recipe(path)


def test_max_steps_alone_is_enough():
    assert load_recipe(PTQ, ["num_train_epochs=0", "max_steps=5"]).training.max_steps == 5


def test_nested_override_changes_one_key_of_the_block():
    written = load_recipe(PTQ).glue.quant_config
    changed = load_recipe(PTQ, ["quant_config.granularity=per_tensor"]).glue.quant_config
    assert changed == {**written, "granularity": "per_tensor"} and len(written) > 1
    as_dict = load_recipe(PTQ, {"quant_config": {"granularity": "per_tensor"}}).glue.quant_config
    assert as_dict == changed


def test_no_on_the_command_line_is_the_string():
    recipe = load_recipe(PTQ, ["save_strategy=no", "eval_strategy=no"])
    assert recipe.raw["save_strategy"] == "no" and recipe.raw["eval_strategy"] == "no"
    assert recipe.training.save_strategy.value == "no"


def test_no_in_the_file_is_the_string_and_real_booleans_stay(tmp_path):
    text = PTQ.read_text() + "\neval_strategy: no\nfp16: no\n"
    path = tmp_path / "r.yaml"
    path.write_text(text)
    recipe = load_recipe(path)
    assert recipe.training.eval_strategy.value == "no"
    assert recipe.raw["fp16"] is False  # a bool key keeps YAML's boolean


def test_override_without_a_key_is_refused():
    with pytest.raises(RecipeError, match="override '=3' is not key=value"):
        load_recipe(PTQ, ["=3"])


def test_recipe_that_is_not_utf8(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(PTQ.read_bytes() + b"\nrun_name: caf\xe9\n")
    with pytest.raises(RecipeError, match=r"r.yaml: not UTF-8 text \(byte \d+\)"):
        load_recipe(path)


def test_the_training_stage_calls_the_same_checks(tiny_bert_dir, prepared_dir, tmp_path, monkeypatch):
    """llamafactory-cli train (stage seq_cls) refuses the same values, before any training."""
    import sys

    from glue.schema.recipe import read_yaml
    from seqcls.workflow import run_from_cli

    raw = read_yaml(REPO / "recipes" / "baseline_minilm.yaml")
    raw.update(model_name_or_path=str(tiny_bert_dir), dataset_dir=str(prepared_dir),
               output_dir=str(tmp_path / "emotion" / "tiny" / "baseline"), learning_rate=0)
    monkeypatch.setattr(sys, "argv", ["llamafactory-cli", "baseline_minilm.yaml"])
    with pytest.raises(SystemExit, match="error: baseline_minilm.yaml: key 'learning_rate' is 0; set it to"):
        run_from_cli(raw, [])
    assert not (tmp_path / "emotion" / "tiny" / "baseline").exists()


def test_a_finished_model_clears_the_work_folder_a_killed_cleanup_left(tmp_path, monkeypatch):
    """A run killed after swapping its model in, before removing its checkpoints, leaves the hidden
    work folder; the rerun finds the model complete and removes the leftover, touching nothing else."""
    import sys

    from core.io import STAGING_TAG
    from seqcls.workflow import run_from_cli, work_dir

    out = tmp_path / "emotion" / "tiny" / "baseline"
    out.mkdir(parents=True)
    (out / "variant.json").write_text("{}")
    (work_dir(out) / "checkpoint-8").mkdir(parents=True)
    (out.parent / f".baseline.{STAGING_TAG}-x1" / "model").mkdir(parents=True)
    monkeypatch.setattr(sys, "argv", ["llamafactory-cli", "baseline_minilm.yaml"])
    run_from_cli({"output_dir": str(out)}, [])
    assert sorted(p.name for p in out.parent.iterdir()) == ["baseline"]
    assert (out / "variant.json").read_text() == "{}"


def test_bitsandbytes_settings_left_out_are_llamafactorys_defaults():
    """An SFT recipe's 4-bit settings fall back on LLaMA-Factory's own defaults, stated only there."""
    import dataclasses

    from llamafactory.hparams import ModelArguments

    from glue.quant import bnb

    default = {f.name: f.default for f in dataclasses.fields(ModelArguments)}
    config = bnb.from_llamafactory_keys({"quantization_bit": 4}, ["lm_head"])
    assert (config.bits, config.quant_type, config.double_quant) == (
        4, default["quantization_type"], default["double_quantization"])
    written = bnb.from_llamafactory_keys({"quantization_bit": 4, "quantization_type": "fp4",
                                          "double_quantization": False}, [])
    assert (written.quant_type, written.double_quant) == ("fp4", False)
    assert bnb.from_llamafactory_keys({"lora_rank": 8}, []) is None
