from pathlib import Path

import pytest
import yaml

from glue.schema.recipe import RecipeError, load_recipe, locate_model, resolve_model_path

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "recipes" / "quantize" / "ptq_dynamic.yaml"


def _write(tmp_path, **changes):
    raw = yaml.safe_load(BASELINE.read_text())
    raw.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        raw.pop(key)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_quantize_recipe_parses_with_llamafactory_meanings():
    recipe = load_recipe(BASELINE)
    assert recipe.data.dataset == ["emotion_train"] and recipe.data.cutoff_len == 128
    assert recipe.glue.method == "ptq_dynamic" and recipe.glue.quant_config["bits"] == 8
    assert recipe.glue.model_tag == "minilm-l6" and recipe.glue.variant == "ptq_dynamic"  # from output_dir
    assert recipe.dataset_name == "emotion"
    other = load_recipe(BASELINE, ["output_dir=outputs/models/mydata/mpnet-base/ptq_dyn2"])
    assert other.glue.model_tag == "mpnet-base" and other.glue.variant == "ptq_dyn2"


def test_overrides_apply_with_yaml_types():
    recipe = load_recipe(BASELINE, ["num_train_epochs=1", "learning_rate=3e-5", "max_train_samples=10"])
    assert recipe.training.num_train_epochs == 1
    assert recipe.training.learning_rate == pytest.approx(3e-5)
    assert recipe.glue.max_train_samples == 10


def test_a_nested_override_changes_one_option_and_keeps_the_others():
    qat = REPO / "recipes" / "quantize" / "qat.yaml"
    recipe = load_recipe(qat, ["quant_config.freeze_layers=4"])
    assert recipe.glue.quant_config == {**load_recipe(qat).glue.quant_config, "freeze_layers": 4}
    assert recipe.glue.quant_config["reduce_range"] is False  # the recipe's own value survives


@pytest.mark.parametrize("changes, message", [
    ({"learning_rat": 1e-4}, "unknown key 'learning_rat' \\(did you mean 'learning_rate'\\?\\)"),
    ({"learning_rate": "fast"}, "key 'learning_rate' has value 'fast' of type str, expected float"),
    ({"num_train_epochs": True}, "key 'num_train_epochs'"),
    ({"quant_config": [1, 2]}, "key 'quant_config'"),
    ({"method": None}, "'method' is required"),
    ({"task": None}, "not a glue recipe"),
])
def test_bad_recipes_name_the_key(tmp_path, changes, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(_write(tmp_path, **changes))


def test_missing_recipe_and_bad_yaml(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)


def test_unknown_package_model_path():
    with pytest.raises(RecipeError, match="package 'no_such_pkg' is not installed"):
        resolve_model_path("pkg://no_such_pkg/model")


def test_locate_model_names_what_is_wrong(tmp_path, monkeypatch):
    """A model_name_or_path that cannot be had is one line naming it and the way out."""
    with pytest.raises(RecipeError, match="is missing: name a model folder, a hub id"):
        locate_model("")
    with pytest.raises(RecipeError, match="the folder has no config.json"):
        locate_model(str(tmp_path))
    with pytest.raises(RecipeError, match="no such folder; build it first"):
        locate_model(str(tmp_path / "not_built"))

    def not_cached(name, file, **_):
        raise OSError(f"{name}/{file} is not cached")

    monkeypatch.setattr("transformers.utils.cached_file", not_cached)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(RecipeError, match="not in the Hugging Face cache, and the hub cannot be reached.*pkg://"):
        locate_model("someone/model")


def test_locate_model_finds_a_cached_hub_id(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr("transformers.utils.cached_file", lambda name, file, **_: str(tmp_path / file))
    assert locate_model("someone/model") == str(tmp_path)
    assert locate_model(str(tmp_path)) == str(tmp_path)


def test_llamafactory_rejects_glue_recipes():
    """Handed to llamafactory-cli, a classification recipe must fail at argument parsing."""
    from llamafactory.hparams.parser import _parse_train_args

    with pytest.raises(ValueError, match="Some keys are not used by the HfArgumentParser.*task"):
        _parse_train_args(yaml.safe_load(BASELINE.read_text()))
