"""Measured per-layer sensitivity of dynamic PTQ: quantize one unit at a time (one encoder layer,
one kind of Linear across all layers, or the embeddings) with exactly the ptq_dynamic method and
recipe settings, and record the macro-F1 drop and changed predictions on the test split.

    python -m eval.sensitivity --model outputs/models/emotion/minilm-l6/baseline \\
        [--recipe recipes/quantize/ptq_dynamic.yaml] [--dataset-dir outputs/data] [--results results]

writes results/<dataset>/<model_tag>/sensitivity_ptq_dynamic.json (atomically, with provenance),
which the reports read when it exists.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.io import atomic_write_json
from core.names import UnsafeName
from core.provenance import provenance
from core.quiet import quiet
from data_prep.common import DataError, split_name
from data_prep.prepared import load_split
from eval.evaluate import predict_logits
from eval.metrics import classification_metrics
from eval.results import SENSITIVITY
from glue.folder.manifest import Manifest, VariantError
from glue.folder.variant import load_variant
from glue.quant.base import LAYER_INDEX, QuantContext, embedding_filter, layer_filter, names_module, select
from glue.quant.ptq_dynamic import METHOD, DynamicConfig
from glue.schema.recipe import RecipeError, read_yaml


def units(model: torch.nn.Module, config: DynamicConfig) -> list[dict[str, Any]]:
    """The groups of modules quantized together: each layer, each Linear kind, the embeddings."""
    linears = [name for name, _ in select(model, layer_filter(config))]
    embeddings = [name for name, _ in select(model, embedding_filter(config))]
    by_layer: dict[str, list[str]] = {}
    by_kind: dict[str, list[str]] = {}
    for name in linears:
        match = LAYER_INDEX.search(name)
        if match:
            by_layer.setdefault(f"layer {match.group(1)}", []).append(name)
            by_kind.setdefault(name[match.end():], []).append(name)
    out = [{"unit": k, "kind": "layer", "modules": v} for k, v in by_layer.items()]
    out += [{"unit": k, "kind": "linear type", "modules": v} for k, v in by_kind.items()]
    out += [{"unit": n, "kind": "embedding", "modules": [n]} for n in embeddings]
    return out


def quantize_only(model: torch.nn.Module, config: DynamicConfig, modules: list[str],
                  quantizable: list[str], context: QuantContext) -> torch.nn.Module:
    """A copy of ``model`` with ptq_dynamic applied to ``modules`` (SmoothQuant too, when the recipe
    turns it on) and every other module skipped."""
    unit = copy.deepcopy(config)
    unit.skip_modules = list(config.skip_modules) + [n for n in quantizable if n not in modules]
    unit.embeddings = [e for e in config.embeddings if any(names_module(e, m) for m in modules)]
    return METHOD.apply(copy.deepcopy(model), unit, context)[0]


def measure(folder: Path, recipe: Path, dataset_dir: Path, split: str | None, limit: int | None) -> dict[str, Any]:
    variant = load_variant(folder)
    manifest = variant.manifest
    dataset, model_tag, _ = manifest.identity(folder).parts
    config = DynamicConfig.from_dict(read_yaml(recipe).get("quant_config") or {})
    data = load_split(dataset_dir, split or split_name(dataset, "test"), limit)
    # SmoothQuant's input maxima come from the train split, as in python -m glue.quantize
    calibration = load_split(dataset_dir, split_name(dataset, "train")) if config.smooth_alpha else None
    context = QuantContext(tokenizer=variant.tokenizer, split=calibration, max_length=variant.max_length)

    def score(model: torch.nn.Module) -> tuple[float, np.ndarray]:
        variant.model = model
        pred = predict_logits(variant, data.texts, desc="sensitivity").argmax(-1)
        return classification_metrics(data.labels, pred.tolist(), variant.labels)["macro_f1"], pred

    base_model = variant.model
    base_f1, base_pred = score(base_model)
    groups = units(base_model, config)
    quantizable = sorted({m for g in groups for m in g["modules"]})

    def row(unit: dict[str, Any]) -> dict[str, Any]:
        f1, pred = score(quantize_only(base_model, config, unit["modules"], quantizable, context))
        return {**unit, "macro_f1": f1, "drop_points": (base_f1 - f1) * 100, "flips": int((pred != base_pred).sum())}

    return {
        "schema": 1, "method": METHOD.name, "recipe": str(recipe), "quant_config": config.as_dict(),
        "model_folder": str(folder), "dataset": dataset, "model_tag": model_tag, "split": data.name,
        "n_examples": len(data), "baseline": {"macro_f1": base_f1},
        "units": [row(u) for u in groups],
        "full": row({"unit": "all units (= ptq_dynamic)", "kind": "all", "modules": quantizable}),
        "provenance": provenance(data_sha256=data.sha256, data_sources=data.meta.get("sources"), limit=limit,
                                 seed=None, model_provenance=manifest.provenance),
    }


def main(argv: list[str] | None = None) -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="the fine-tuned baseline model folder")
    parser.add_argument("--recipe", type=Path, default=Path("recipes/quantize/ptq_dynamic.yaml"),
                        help="ptq_dynamic recipe whose quant_config is used")
    parser.add_argument("--dataset-dir", type=Path, default=Path("outputs/data"))
    parser.add_argument("--split", help="prepared dataset name (default: <dataset>_test)")
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--limit", type=int, help="first N examples only (smoke tests)")
    args = parser.parse_args(argv)
    try:
        # the file is named, and refused if it would leave --results, before the work
        path = Manifest.read(args.model).identity(args.model).group_dir(args.results) / SENSITIVITY
        out = measure(args.model, args.recipe, args.dataset_dir, args.split, args.limit)
    except (VariantError, DataError, RecipeError, UnsafeName) as err:
        raise SystemExit(f"error: {err}") from None
    atomic_write_json(path, out)
    worst = max(out["units"], key=lambda u: u["drop_points"])
    print(f"{len(out['units'])} units; largest drop {worst['unit']} {worst['drop_points']:+.2f} points; "
          f"all units {out['full']['drop_points']:+.2f} points -> {path}")


if __name__ == "__main__":
    main()
