"""Damaged, foreign or pickle-only model folders: one-line errors naming the file and the fix."""
import json
import shutil
from pathlib import Path

import pytest
import torch

import glue
from glue.folder.manifest import MANIFEST, VariantError
from glue.folder.variant import find_loader, load_variant
from glue.folder.weights import TORCH_STATE, folder_problem
from glue.schema.recipe import RecipeError, load_recipe

REPO = Path(__file__).resolve().parent.parent
PTQ = REPO / "recipes" / "quantize" / "ptq_dynamic.yaml"


@pytest.fixture
def folder(tiny_bert_dir, tmp_path) -> Path:
    """A private copy of the tiny baseline, free to damage."""
    return Path(shutil.copytree(tiny_bert_dir, tmp_path / "baseline"))


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _manifest(folder: Path, **changes) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest.update(changes)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_intact_copy_loads(folder):
    assert load_variant(folder).labels[0] == "sadness"


@pytest.mark.parametrize("old, new", [("glue.variant:load_hf_classifier", "glue.folder.variant:load_hf_classifier"),
                                      ("glue.sft_classifier:load", "glue.sft.classifier:load")])
def test_a_loader_named_before_its_module_moved_is_the_moved_loader(tmp_path, old, new):
    """Folders built or downloaded before a loader's module moved name the old module."""
    assert find_loader(tmp_path, old) is find_loader(tmp_path, new)


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.5, 0.999])
def test_truncated_safetensors(folder, keep):
    _truncate(folder / "model.safetensors", keep)
    with pytest.raises(VariantError, match=r"baseline: model.safetensors.*rebuild"):
        load_variant(folder)


@pytest.mark.parametrize("text, message", [
    ('{"method": "baseline", "loader": "glue.var', "not valid JSON"),
    ("", "not valid JSON"),
    ('["method"]', "a JSON object is expected"),
    ('{"method": "baseline"}', "missing loader, labels"),
    ('{"method": "b", "loader": "glue.folder.variant:load_hf_classifier", "labels": "joy"}', "'labels' must be"),
])
def test_truncated_or_invalid_manifest(folder, text, message):
    (folder / MANIFEST).write_text(text)
    with pytest.raises(VariantError, match=rf"{MANIFEST}: {message}"):
        load_variant(folder)


def test_manifest_that_is_not_utf8(folder):
    (folder / MANIFEST).write_bytes(b'{"method": "\xff"}')
    with pytest.raises(VariantError, match="not UTF-8"):
        load_variant(folder)


@pytest.mark.parametrize("loader, message", [
    ("glue.folder.variant:no_such_loader", "unknown loader"),
    ("glue.no_such_module:load", "unknown loader"),
    ("glue.folder.variant", "not of the form"),
    (["glue.folder.variant:load_hf_classifier"], "not of the form"),
    ("os:system", "outside glue"),
])
def test_unknown_loader(folder, loader, message):
    _manifest(folder, loader=loader)
    with pytest.raises(VariantError, match=message):
        load_variant(folder)


@pytest.mark.parametrize("loader", ["glue.no_such_package.module:load", "seqcls.no_such_module:load"])
def test_a_missing_loader_module_is_an_unknown_loader(tmp_path, loader):
    with pytest.raises(VariantError, match=rf"unknown loader '{loader}' \(no such function in this checkout\)"):
        find_loader(tmp_path, loader)


def test_a_package_missing_inside_a_loader_module_is_named_with_the_fix(tmp_path, monkeypatch):
    """Not "unknown loader": the loader exists, a package its module imports is not installed."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "needs_missing_package.py").write_text("import no_such_package_installed\n")
    monkeypatch.setattr(glue, "__path__", [*glue.__path__, str(extra)])
    with pytest.raises(VariantError, match=r"loader 'glue.needs_missing_package:load' needs the Python module "
                                           r"'no_such_package_installed', which is not installed; .*make setup"):
        find_loader(tmp_path, "glue.needs_missing_package:load")


def _quantized_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ptq"
    folder.mkdir()
    torch.save({"weight": torch.zeros(4096)}, folder / TORCH_STATE)
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n")  # a tokenizer, so the checks reach the loader
    (folder / MANIFEST).write_text(json.dumps({
        "method": "ptq_dynamic", "loader": "glue.quant.loader:load_quantized", "labels": ["a", "b"],
        "quantization": {"method": "ptq_dynamic", "config": {}}}))
    return folder


def test_project_torch_state_is_not_refused_as_pickle(tmp_path):
    assert folder_problem(_quantized_folder(tmp_path)) is None


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.9])
def test_truncated_quantized_state(tmp_path, keep):
    folder = _quantized_folder(tmp_path)
    _truncate(folder / TORCH_STATE, keep)
    with pytest.raises(VariantError, match=rf"{TORCH_STATE} is (empty|not a complete torch.save archive)"):
        load_variant(folder)


@pytest.mark.parametrize("block, message", [
    (None, "no quantization block"), ({"method": "magic", "config": {}}, "method 'magic' is not"),
    ({"method": "ptq_dynamic", "config": {"bogus": 1}}, "quant_config.bogus"),
])
def test_bad_quantization_block(tmp_path, block, message):
    folder = _quantized_folder(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["quantization"] = block
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(VariantError, match=message):
        load_variant(folder)


def _pickle_only(folder: Path) -> Path:
    state = {k: v.contiguous() for k, v in
             __import__("safetensors.torch", fromlist=["load_file"]).load_file(folder / "model.safetensors").items()}
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    manifest = json.loads((folder / MANIFEST).read_text())
    del manifest["weights_sha256"]  # a user's own folder, as its owner would describe it
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


def test_pickle_only_variant_is_refused_unless_the_manifest_allows_it(folder):
    _pickle_only(folder)
    with pytest.raises(VariantError, match=r"only pickle weights \(pytorch_model.bin\).*allow_pickle_weights"):
        load_variant(folder)
    _manifest(folder, allow_pickle_weights=True)
    assert load_variant(folder).labels[0] == "sadness"


def test_pickle_only_model_in_a_recipe_is_refused_unless_allowed(folder):
    _pickle_only(folder)
    with pytest.raises(RecipeError, match=r"ptq_dynamic.yaml: model_name_or_path .*only pickle weights"):
        load_recipe(PTQ, [f"model_name_or_path={folder}"])
    recipe = load_recipe(PTQ, [f"model_name_or_path={folder}", "allow_pickle_weights=true"])
    assert recipe.glue.allow_pickle_weights is True


def test_damaged_model_in_a_recipe_is_refused(folder):
    _truncate(folder / "model.safetensors")
    with pytest.raises(RecipeError, match="model.safetensors holds .* bytes but its header describes"):
        load_recipe(PTQ, [f"model_name_or_path={folder}"])


def test_missing_shard(folder):
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "model-00002.safetensors"}}))
    with pytest.raises(VariantError, match="names missing shard files: model-00002.safetensors"):
        load_variant(folder)


def test_failure_inside_a_loader_is_one_line(folder):
    (folder / "config.json").write_text('{"model_type": "bert", "hidden_size": 999}')
    with pytest.raises(VariantError, match=r"loader glue.folder.variant:load_hf_classifier failed \(.*rebuild"):
        load_variant(folder)


def test_a_project_error_inside_a_loader_keeps_its_own_fix(folder, tmp_path):
    """A base model not built on this machine is no damage to the folder: its RecipeError's advice stands."""
    absent = tmp_path / "absent_base"
    _manifest(folder, loader="seqcls.export:load_adapter", base_model=str(absent))
    with pytest.raises(VariantError) as err:
        load_variant(folder)
    message = str(err.value)
    assert message.startswith(f"{folder}: loader seqcls.export:load_adapter failed: model_name_or_path {absent}: "
                              "no such folder; build it first"), message
    assert "damaged" not in message and "\n" not in message


def test_tokenizer_without_pad_token_is_one_line(folder):
    """A hand-made decoder folder often lacks one; every batch is padded, so loading says so first."""
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["pad_token"] = None
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(VariantError, match=r"tokenizer has no pad token.*set pad_token in tokenizer_config.json"):
        load_variant(folder)
