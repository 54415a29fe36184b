"""Evaluate one model folder on one prepared split and write its result JSON (eval/SCHEMA.md).

    python -m eval.evaluate outputs/models/emotion/minilm-l6/ptq_dynamic [--split emotion_test]

The folder's ``variant.json`` says how to load it; nothing here depends on the method.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from core.cli import positive_int
from core.io import atomic_write_json
from core.memory import PeakMemory
from core.names import UnsafeName, VariantId
from core.paths import portable_values
from core.provenance import provenance
from core.quiet import quiet
from data_prep.common import DataError, split_name, split_parts
from data_prep.prepared import Split, load_split
from eval.grid import grid_shares, weight_matrices
from eval.latency import measure_latency
from eval.metrics import classification_metrics, fidelity, softmax
from eval.plots import save_confusion_matrix
from eval.results import BASELINE, stored_predictions
from eval.size import model_size
from glue.folder.manifest import MANIFEST, Manifest, VariantError
from glue.folder.variant import Variant, load_variant

SCHEMA_VERSION = 1


def predict_logits(variant: Variant, texts: list[str], batch_size: int = 64, desc: str = "predict") -> np.ndarray:
    """Logits for every text; batches are formed from length-sorted texts (little padding),
    then restored to the input order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), len(variant.labels)), dtype=np.float32)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", leave=False):
        idx = order[start:start + batch_size]
        out[idx] = variant.logits([texts[i] for i in idx]).numpy()
    return out


def split_label(split: Split, limit: int | None = None) -> str:
    label = split.meta.get("split_labels", {}).get(split_parts(split.name)[1]) or \
        f"{split.name.replace('_', ' ')} ({len(split):,})"
    return f"{label}; first {len(split):,} examples only" if limit is not None else label


def predictions(variant: Variant, data: Split, batch_size: int, name: str) -> dict[str, Any]:
    """The result's ``predictions`` block: labels, predicted labels, probabilities (six decimals)."""
    logits = predict_logits(variant, data.texts, batch_size, desc=f"{name} {data.name}")
    probs = softmax(logits)
    return {"y_true": data.labels, "y_pred": probs.argmax(-1).tolist(), "probs": np.round(probs, 6).tolist(),
            "batch_size": batch_size}


def reference_predictions(folder: Path, names: tuple[str, str], data: Split, results_dir: Path,
                          batch_size: int, device: str) -> tuple[dict[str, Any] | None, str]:
    """The reference's predictions on ``data``'s examples and where they came from: its stored
    result (results/<dataset>/<model>/<reference>.json) when it measured the reference folder's
    weights on the same examples, else the reference folder beside ``folder`` predicted now, so the
    order of evaluations does not matter."""
    dataset, model_tag = names
    ref_folder = folder.parent / BASELINE
    if not (ref_folder / MANIFEST).is_file():
        return None, f"no {ref_folder / MANIFEST}: build the {BASELINE} to measure fidelity against it"
    stored = stored_predictions(results_dir, dataset, model_tag, BASELINE, Manifest.read(ref_folder).weights_sha256)
    if stored is not None and stored["y_true"] == data.labels:
        return stored, "stored"
    reference = load_variant(ref_folder, device)
    if reference.labels != data.label_names:
        return None, f"{ref_folder} predicts {reference.labels}, not {data.name}'s labels"
    return predictions(reference, data, batch_size, BASELINE), "predicted in this run"


def reference_fidelity(preds: dict[str, Any], reference: dict[str, Any] | None, note: str) -> dict[str, Any]:
    """Fidelity against the reference's predictions on the same examples."""
    if reference is None:
        return {"reference": None, "note": note}
    return {"reference": BASELINE, "source": note,
            **fidelity(preds["y_true"], reference["y_pred"], np.asarray(reference["probs"]),
                       preds["y_pred"], np.asarray(preds["probs"]))}


def evaluate_folder(folder: str | Path, split: str | None = None, dataset_dir: str | Path = "outputs/data",
                    results_dir: str | Path = "results", limit: int | None = None, latency: bool = True,
                    batch_size: int = 64, device: str = "cpu") -> dict:
    """Load a model folder, predict a split, measure size/latency/memory; return the result."""
    folder, results_dir = Path(folder), Path(results_dir)
    manifest = Manifest.read(folder)
    identity = manifest.identity(folder)
    identity.result_path(results_dir)  # a result that could not be written is refused before the work
    dataset, model_tag, variant_name = identity.parts
    data = load_split(dataset_dir, split or split_name(dataset, "test"), limit)
    with PeakMemory() as memory:
        variant = load_variant(folder, device)
        if variant.labels != data.label_names:
            raise VariantError(f"{folder} predicts {variant.labels}, but {data.name} has {data.label_names}")
        start = time.perf_counter()
        preds = predictions(variant, data, batch_size, variant_name)
        pass_s = time.perf_counter() - start
        timing = measure_latency(variant.logits, data.texts) if latency else {}
    result = {
        "schema": SCHEMA_VERSION, "dataset": dataset, "split": data.name, "split_label": split_label(data, limit),
        "model_tag": model_tag, "variant": variant_name, "method": manifest.method,
        "labels": data.label_names, "n_examples": len(data),
        "metrics": classification_metrics(data.labels, preds["y_pred"], data.label_names),
        "size_mb": None, "size": model_size(variant.model, folder),
        "latency": {**timing, "throughput_ex_per_s": round(len(data) / pass_s, 2), "device": device},
        "memory": memory.as_dict(),
        "predictions": preds,
        "recipe": {"path": manifest.recipe_path, "content": manifest.recipe},
        "weights_sha256": manifest.weights_sha256,
    }
    result["size_mb"] = result["size"]["state_dict_mb"]
    for block in ("command", "base_command", "quantization", "training", "weights_origin"):
        if getattr(manifest, block) is not None:
            result[block] = getattr(manifest, block)
    if variant_name == BASELINE and manifest.weights_origin:  # a baseline converted from quantized weights
        result["weights_origin"] = {**manifest.weights_origin,
                                    "grid_share": grid_shares(weight_matrices(variant.model))}
    reference = (preds, "itself") if variant_name == BASELINE else \
        reference_predictions(folder, (dataset, model_tag), data, results_dir, batch_size, device)
    result["fidelity"] = reference_fidelity(preds, *reference)
    result["provenance"] = provenance(
        data_sha256=data.sha256, data_sources=data.meta.get("sources"), limit=limit,
        seed=(manifest.provenance or {}).get("seed"), model_provenance=manifest.provenance)
    return result


def result_path(results_dir: Path, result: dict) -> Path:
    """Where a result is written: ``results/<dataset>/<model_tag>/<variant>.json`` (VariantId's rule)."""
    return VariantId(result["dataset"], result["model_tag"], result["variant"], "result").result_path(results_dir)


def write_result(result: dict, results_dir: Path) -> Path:
    """Write the result JSON (no absolute path of this machine in it) and its figure."""
    path = result_path(results_dir, result)
    atomic_write_json(path, portable_values(result))
    save_confusion_matrix(result["metrics"]["confusion_matrix"], result["labels"],
                          f"{result['model_tag']} {result['variant']} ({result['split_label']})",
                          path.with_suffix(".png"))
    return path


def main(argv: list[str] | None = None) -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a model folder with variant.json")
    parser.add_argument("--split", help="prepared dataset name (default: <dataset>_test)")
    parser.add_argument("--dataset-dir", default="outputs/data")
    parser.add_argument("--results", default="results", help="results root")
    parser.add_argument("--limit", type=positive_int, help="evaluate the first N examples only (smoke tests)")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="prediction batch size (length-sorted batches); a method with per-batch "
                             "activation scales (ptq_dynamic) can predict differently with another")
    parser.add_argument("--threads", type=positive_int, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        result = evaluate_folder(args.folder, args.split, args.dataset_dir, args.results, args.limit,
                                 not args.no_latency, args.batch_size, args.device)
        path = write_result(result, Path(args.results))
    except (VariantError, DataError, UnsafeName) as err:
        raise SystemExit(f"error: {err}") from None
    m, lat = result["metrics"], result["latency"]
    print(f"{result['variant']}: macro-F1 {m['macro_f1']:.4f}  acc {m['accuracy']:.4f}  "
          f"{result['size_mb']:.1f} MiB  {lat.get('ms_per_example', float('nan')):.2f} ms/ex  "
          f"{lat.get('ms_per_batch', float('nan')):.1f} ms/batch  -> {path}")


if __name__ == "__main__":
    main()
