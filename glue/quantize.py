"""Quantize a fine-tuned baseline as a recipe says and write the variant folder.

    python -m glue.quantize recipes/quantize/ptq_dynamic.yaml [key=value ...] [--force]

Reads the baseline folder (``base_model_dir``) through load_variant, applies the recipe's
``method`` with its ``quant_config`` (glue/quant/), and writes ``output_dir`` atomically
(core.io.staged_output: a hidden staging folder swapped in at the end; a killed run's is
removed by the next): the method's weights, config.json, the tokenizer, and variant.json
with a ``quantization`` block computed by walking the quantized model. A finished folder is
left alone unless ``--force`` is given.
"""
from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

from core import MIB
from core.io import staged_output
from core.memory import PeakMemory
from core.provenance import provenance
from data_prep.common import DataError, split_name
from data_prep.prepared import check_same_labels, load_split, registered
from glue.folder.manifest import MANIFEST, Manifest, VariantError
from glue.folder.variant import copy_tokenizer, load_variant
from glue.folder.weights import weight_bytes
from glue.quant import get_method, quantize
from glue.quant.base import QuantContext
from glue.schema.recipe import Recipe, RecipeError, load_recipe

LOADER = "glue.quant.loader:load_quantized"


def folder_mb(folder: Path) -> float:
    """The folder's weight files in MiB, in every format a folder may hold (a baseline saved as
    pytorch_model.bin with allow_pickle_weights too)."""
    return round(weight_bytes(folder) / MIB, 2)


def quantize_recipe(recipe: Recipe) -> Path:
    glue = recipe.glue
    method = get_method(glue.method)
    config = method.config_cls.from_recipe(glue.quant_config, recipe.model)
    if not glue.base_model_dir:
        raise RecipeError(f"{recipe.path}: key 'base_model_dir' is required (the fine-tuned baseline folder)")
    base = Path(glue.base_model_dir)
    if not (base / MANIFEST).is_file():
        raise RecipeError(f"base_model_dir {base}: no finished model folder there (no {MANIFEST}); "
                          "build the baseline first (make baseline)")
    out = Path(recipe.training.output_dir)
    baseline = load_variant(base)
    split = load_split(recipe.data.dataset_dir, recipe.data.dataset[0], glue.max_train_samples)
    if split.label_names != baseline.labels:
        raise RecipeError(f"dataset {split.name} labels {split.label_names} differ from the baseline's {baseline.labels}")
    validation = None  # read only when a setting is chosen on it; never the test split
    validation_name = split_name(recipe.dataset_name, "validation")
    if config.chooses_on_validation() and registered(recipe.data.dataset_dir, validation_name):
        # without one: built with the recipe's settings, and the manifest says why
        validation = load_split(recipe.data.dataset_dir, validation_name)
        check_same_labels(split, validation)

    with staged_output(out) as staging:
        with tempfile.TemporaryDirectory() as trainer_dir:
            training_args = copy.copy(recipe.training)
            training_args.output_dir = trainer_dir  # QAT's Trainer scratch space, never the variant folder
            context = QuantContext(tokenizer=baseline.tokenizer, split=split, max_length=baseline.max_length,
                                   training_args=training_args, validation=validation)
            start = time.perf_counter()
            with PeakMemory() as memory:
                model, report = quantize(baseline.model, config, context)
            seconds = time.perf_counter() - start
        method.save(model, staging)
        copy_tokenizer(base, staging)
        block = method.describe(model, report.config, config.bits)
        block.update(report.quantization_entries())
        block.update(quantize_time_s=round(seconds, 2), peak_memory=memory.as_dict(),
                     weights_mb=folder_mb(staging), baseline_weights_mb=folder_mb(base))
        block["size_ratio"] = round(block["weights_mb"] / block["baseline_weights_mb"], 4)
        Manifest(method=method.name, loader=LOADER, labels=baseline.labels, max_length=baseline.max_length,
                 dataset=recipe.dataset_name, model_tag=glue.model_tag, variant=glue.variant,
                 base_model_dir=str(base), command=f"python -m glue.quantize {' '.join(sys.argv[1:])}".strip(),
                 base_command=baseline.manifest.command, recipe_path=str(recipe.path), recipe=recipe.raw,
                 data_sha256={"train": split.sha256, **({"validation": validation.sha256} if validation else {})},
                 quantization=block, training=report.training,
                 weights_origin=baseline.manifest.weights_origin,
                 provenance=provenance(seed=recipe.training.seed)).write(staging)
    print(f"saved {out}: {block['quantized']['count']} modules quantized to {config.bits} bits, "
          f"{block['weights_mb']} MiB ({100 * block['size_ratio']:.1f}% of the baseline) in {seconds:.1f} s")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("overrides", nargs="*", help="key=value pairs overriding the recipe")
    parser.add_argument("--force", action="store_true", help="rebuild even if the output folder is complete")
    cli = parser.parse_args(argv)
    try:
        recipe = load_recipe(cli.recipe, cli.overrides)
        out = Path(recipe.training.output_dir)
        if (out / MANIFEST).is_file() and not cli.force:
            print(f"{out} is complete; pass --force to rebuild")
            return
        quantize_recipe(recipe)
    except (RecipeError, DataError, VariantError) as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
