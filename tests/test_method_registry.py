"""The method registry: a method is one module in glue/quant/ plus one recipe (shown with a toy
method that goes through quantize, save, load and evaluate like the real ones), its facts feed
the reports and the Makefile's variant lists, lookups do not re-import, and applying a method
leaves the caller's config and recipe as they were."""
from __future__ import annotations

import copy
import importlib
import textwrap
from pathlib import Path

import pytest
import torch
from conftest import REPO

import glue.quant
from glue.quant import DataNeed, get_method, method_facts, method_of, methods, quantize, variant_titles, variants
from glue.quant.tracks import makefile_lists

TOY_MODULE = '''
"""A toy method: every Linear's weight rounded to a grid of 2**-bits."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from glue.quant.base import Applied, QuantConfig, QuantContext, QuantMethod, QuantReport, layer_filter, replace_modules
from glue.quant.facts import DataNeed


@dataclass
class ToyConfig(QuantConfig):
    bits: int = 6


class RoundedLinear(torch.nn.Linear):
    @classmethod
    def like(cls, linear: torch.nn.Linear) -> "RoundedLinear":
        new = cls(linear.in_features, linear.out_features, linear.bias is not None)
        new.load_state_dict(linear.state_dict())
        return new


class Toy(QuantMethod):
    name = "toy"
    config_cls = ToyConfig
    title = "Toy rounding"
    description = "Rounds each Linear's weights to a fixed grid."
    data = DataNeed.NONE
    families = ("encoder", "decoder")
    backend = "plain torch"

    def is_quantized(self, module: torch.nn.Module) -> bool:
        return isinstance(module, RoundedLinear)

    def apply(self, model: torch.nn.Module, config: ToyConfig, context: QuantContext) -> Applied:
        model = self.rebuild(model, config)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, RoundedLinear):
                    module.weight.copy_(torch.round(module.weight * 2 ** config.bits) / 2 ** config.bits)
        return model, QuantReport(config)

    def rebuild(self, model: torch.nn.Module, config: ToyConfig) -> torch.nn.Module:
        replace_modules(model, layer_filter(config), RoundedLinear.like)
        return model.eval()


METHOD = Toy()
'''

TOY_RECIPE = """
model_name_or_path: {base}
task: sequence_classification
method: toy
base_model_dir: {base}
quant_config:
  bits: 6
dataset_dir: {data}
dataset: emotion_train
cutoff_len: 64
output_dir: {out}
report_to: none
seed: 42
"""


@pytest.fixture
def toy_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """glue.quant with one more module, as if toy_round.py had been added to the package."""
    folder = tmp_path / "methods"
    folder.mkdir()
    (folder / "toy_round.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.setattr(glue.quant, "__path__", [*glue.quant.__path__, str(folder)])
    glue.quant._registry.cache_clear()
    yield
    glue.quant._registry.cache_clear()


def test_a_new_method_is_one_module_and_one_recipe(toy_package, tiny_bert_dir: Path, prepared_dir: Path,
                                                   tmp_path: Path) -> None:
    from eval.evaluate import evaluate_folder
    from glue.folder.variant import load_variant
    from glue.quantize import quantize_recipe
    from glue.schema.recipe import load_recipe

    recipes, models = tmp_path / "recipes", tmp_path / "models" / "emotion" / "tiny-bert"
    recipes.mkdir()
    models.mkdir(parents=True)
    (models / "baseline").symlink_to(tiny_bert_dir, target_is_directory=True)
    recipe = recipes / "toy_round6.yaml"
    recipe.write_text(TOY_RECIPE.format(base=models / "baseline", data=prepared_dir, out=models / "toy_round6"))
    assert method_facts()["toy"].title == "Toy rounding" and method_facts()["toy"].data is DataNeed.NONE
    assert variants("decoder", recipes) == {"toy_round6": "toy", "qlora": "qlora", "qlora_sft": "qlora_sft"}

    folder = quantize_recipe(load_recipe(recipe))
    block = load_variant(folder).manifest.quantization
    assert block["method"] == "toy" and block["quantized"]["count"] == 12  # 2 layers x 6 Linears, heads kept
    result = evaluate_folder(folder, dataset_dir=prepared_dir, results_dir=tmp_path / "results", latency=False)
    assert (result["variant"], result["method"], result["n_examples"]) == ("toy_round6", "toy", 48)
    assert result["fidelity"]["reference"] == "baseline" and result["fidelity"]["source"] == "predicted in this run"
    assert result["fidelity"]["flips"] <= 2  # weights rounded to 1/64: nearly the baseline's predictions


def test_unknown_methods_in_recipes_are_named(tmp_path: Path) -> None:
    from glue.schema.recipe import RecipeError

    (tmp_path / "odd.yaml").write_text("method: nonesuch\n")
    with pytest.raises(RecipeError, match=r"odd.yaml: method 'nonesuch' is not a quantization method; known: bnb"):
        variants(recipes=tmp_path)


def test_the_makefile_lists_are_the_registry_s() -> None:
    written = (REPO / "mk" / "variants.mk").read_text()
    assert written == makefile_lists(), "mk/variants.mk is stale: python -m glue.quant.tracks --mk > mk/variants.mk"
    assert "qlora" in variants("encoder") and "qlora_sft" in variants("decoder")
    assert set(variants("decoder")) < set(variants())  # the decoder track builds no torch.ao method


def test_every_method_states_its_facts() -> None:
    for name, method in methods().items():
        f = method.facts
        assert (f.name, f.devices) == (name, method.devices) and f.title and f.description and f.families
        assert isinstance(f.data, DataNeed)
    assert {"baseline", "qlora", "qlora_sft"} <= set(method_facts())
    assert get_method("ptq_dynamic").data_for({"smooth_alpha": 0.75}) is DataNeed.CALIBRATION
    assert get_method("ptq_dynamic").data_for({"smooth_alpha": 0.0}) is DataNeed.NONE


def test_every_variant_has_its_own_reader_name() -> None:
    titles = variant_titles()
    assert set(variants()) | {"baseline"} <= set(titles)
    shown = {v: t for v, t in titles.items() if v in variants() or v == "baseline"}
    assert len(set(shown.values())) == len(shown), "two variants share a reader name"
    assert (titles["bnb_int8"], titles["bnb_nf4"]) == ("LLM.int8() (bitsandbytes)", "NF4 (bitsandbytes)")
    for name, method in methods().items():  # a renamed recipe cannot leave a title behind
        assert all(variants().get(v) == name for v in method.variant_titles), name


def test_the_reports_take_variant_names_from_the_registry() -> None:
    from report import names

    for variant, title in variant_titles().items():
        assert names.variant(variant) == title
    assert names.variant("qlora_sft_smollm2") == variant_titles()["qlora_sft"]  # a longer name reads as its prefix
    assert names.variant("mydata_own") == "mydata own"


def test_lookups_do_not_import_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from glue.quant.scratch_int8 import ScratchConfig

    methods()
    imported = []
    monkeypatch.setattr(importlib, "import_module", lambda *args, **kwargs: imported.append(args))
    assert method_of(ScratchConfig()) is get_method("scratch_int8") and "qat" in methods()
    assert imported == []


def test_quantize_leaves_the_config_and_the_recipe_alone(tiny_bert_dir: Path, prepared_dir: Path,
                                                         tmp_path: Path) -> None:
    from data_prep.prepared import load_split
    from glue.folder.variant import load_variant
    from glue.quant.base import QuantContext
    from glue.quant.ptq_static import StaticConfig
    from glue.quantize import quantize_recipe
    from glue.schema.recipe import load_recipe

    baseline = load_variant(tiny_bert_dir)
    config = StaticConfig(outlier_ratio=1.5, outlier_samples=16, calibration_samples=16)
    before = copy.deepcopy(config)
    context = QuantContext(baseline.tokenizer, load_split(prepared_dir, "emotion_train"), baseline.max_length)
    model, report = quantize(copy.deepcopy(baseline.model), config, context)
    assert config == before  # the scan's additions are in the report's config only
    kept = report.outlier_scan["kept_fp32"]
    assert kept and report.config.skip_modules == [*config.skip_modules, *kept]
    assert report.calibration["samples"] == 16 and isinstance(model, torch.nn.Module)

    recipe = load_recipe(REPO / "recipes" / "quantize" / "scratch_int8_dequant.yaml", {
        "base_model_dir": str(tiny_bert_dir), "model_name_or_path": str(tiny_bert_dir),
        "dataset_dir": str(prepared_dir), "output_dir": str(tmp_path / "scratch")})
    training = copy.copy(vars(recipe.training))
    quantize_recipe(recipe)
    assert vars(recipe.training) == training
