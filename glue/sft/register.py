"""Write variant.json for a model folder ``llamafactory-cli train`` produced (stage sft, LoRA or
QLoRA), so the common evaluation can load it as a classifier (glue.sft.classifier).

    llamafactory-cli train recipes/qlora_sft_smollm2.yaml [key=value ...]
    python -m glue.sft.register recipes/qlora_sft_smollm2.yaml [the same key=value ...]

As everywhere, output_dir is outputs/models/<dataset>/<model>/<variant>: the result's name follows it.

Records the recipe, trainable parameters (adapter vs base), wall time and the final loss.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from core.names import UnsafeName, VariantId
from core.provenance import provenance
from data_prep.common import DataError
from data_prep.prepared import dataset_meta
from glue.folder.manifest import Manifest, VariantError
from glue.folder.variant import load_variant, weights_origin
from glue.quant import bnb
from glue.schema.recipe import RecipeError, llamafactory_hints, locate_model, require_keys, training_recipe
from glue.train.training import parameter_block

ADAPTER = "adapter_model.safetensors"
# meta.json keys a registered variant reads besides the labels: the dataset's name (the variant's
# identity) and the instruction the classifier repeats in every prompt.
SFT_META_KEYS = ("name", "instruction")


def safetensors_numel(path: Path) -> int:
    """Parameters stored in a safetensors file or folder, read from headers only."""
    from safetensors import safe_open

    files = [path] if path.is_file() else sorted(path.glob("*.safetensors"))
    total = 0
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a dict
                shape = handle.get_slice(key).get_shape()
                total += math.prod(shape)
    return total


SFT_KEYS = {"stage": "sft", "model_name_or_path": "outputs/base_models/smollm2-135m",
            "output_dir": "outputs/models/agnews/smollm2-135m/qlora_sft", "dataset": "agnews_train",
            "dataset_dir": "outputs/data", "template": "smollm2"}


def read_recipe(path: Path, overrides: list[str]) -> dict[str, Any]:
    """The recipe merged with command-line overrides, read as llamafactory-cli train read it
    (glue.schema.recipe's reader, through seqcls/hook.py)."""
    raw = training_recipe(path, overrides, llamafactory_hints())
    require_keys(raw, SFT_KEYS, path)
    if raw["stage"] != "sft" or raw.get("finetuning_type") != "lora":
        raise RecipeError(f"{path}: expected stage: sft and finetuning_type: lora "
                          f"(got {raw['stage']!r} / {raw.get('finetuning_type')!r})")
    return raw


def register(recipe_path: Path, overrides: list[str]) -> Path:
    raw = read_recipe(recipe_path, overrides)
    out = Path(raw["output_dir"])
    if not (out / ADAPTER).is_file():
        raise RecipeError(f"{out} has no {ADAPTER}: run llamafactory-cli train {recipe_path} first")
    meta = dataset_meta(raw["dataset_dir"], str(raw["dataset"]).split(",")[0].strip(), also=SFT_META_KEYS)
    try:
        identity = VariantId.from_folder(out, meta["name"], where=str(recipe_path))
    except UnsafeName as err:
        raise RecipeError(str(err)) from None
    variant, model_tag = identity.variant, identity.model_tag
    results = json.loads((out / "train_results.json").read_text()) if (out / "train_results.json").is_file() else {}
    state = json.loads((out / "trainer_state.json").read_text()) if (out / "trainer_state.json").is_file() else {}
    trainable = safetensors_numel(out / ADAPTER)
    # The base as llamafactory-cli train found it: a folder, or the Hugging Face cache's copy of a hub id.
    # Its size is read from safetensors headers; a base stored otherwise leaves the total unknown.
    base = safetensors_numel(Path(locate_model(raw["model_name_or_path"])))
    parameters = parameter_block(base + trainable if base else None, trainable)
    quant = bnb.from_llamafactory_keys(raw, skip_modules=["lm_head"])  # LLaMA-Factory keeps lm_head out
    # The block's config first (the loader needs it); the walked block once the model loads.
    quantization = {"method": bnb.METHOD.name, "bits": quant.bits, "config": quant.as_dict()} if quant else None
    (out / "training_args.bin").unlink(missing_ok=True)  # a pickle; the manifest records the recipe
    manifest = Manifest(
        method=variant, loader="glue.sft.classifier:load", labels=meta["labels"], max_length=raw.get("cutoff_len", 256),
        dataset=identity.dataset, model_tag=model_tag, variant=variant, base_model=raw["model_name_or_path"],
        weights_origin=weights_origin(raw["model_name_or_path"]), recipe_path=str(recipe_path), recipe=raw,
        quantization=quantization, extra={"instruction": meta["instruction"], "template": raw["template"]},
        training={"trainer": "llamafactory-cli train (stage sft)", "wall_time_s": results.get("train_runtime"),
                  "s_per_step": (round(results["train_runtime"] / state["global_step"], 3)
                                 if results.get("train_runtime") and state.get("global_step") else None),
                  "train_loss": results.get("train_loss"), "global_steps": state.get("global_step"),
                  "epochs": results.get("epoch"), "train_examples": raw.get("max_samples"),
                  "peak_memory": None,  # measured inside llamafactory-cli's process, which does not report it
                  "parameters": parameters,
                  "log_history": state.get("log_history", [])},
        provenance=provenance(seed=raw.get("seed")),
    ).write(out)
    if quant is not None:
        lm = load_variant(out).model.lm
        manifest.quantization = bnb.block(lm, quant, "base frozen in 4-bit during SFT and at inference; "
                                                     "LoRA adapters full precision")
        manifest.write(out)
    share = f" ({parameters['trainable_pct']:.2f}%)" if base else ""
    print(f"registered {out} as {variant}: {trainable:,} trainable parameters{share}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("overrides", nargs="*", help="the key=value overrides given to llamafactory-cli train")
    args = parser.parse_args(argv)
    try:
        register(Path(args.recipe), args.overrides)
    except (RecipeError, DataError, VariantError) as err:  # VariantError: the folder written fails to load
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
