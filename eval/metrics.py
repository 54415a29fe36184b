"""Classification metrics (scikit-learn) and compression fidelity against a reference model.

Fidelity exists because accuracy hides disagreement: two models with equal accuracy can
still predict differently on many examples (one fixes what the other breaks).
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true: list[int], y_pred: list[int], labels: list[str]) -> dict:
    """Macro averages run over the classes with examples in ``y_true``: a class the split lacks
    would add an F1 of 0 whatever the model does. ``macro_over`` and ``classes_without_examples``
    say which classes that was."""
    ids = list(range(len(labels)))
    present = sorted(set(y_true))
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    macro = precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro", zero_division=0)
    weighted = precision_recall_fscore_support(y_true, y_pred, labels=ids, average="weighted", zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=ids)
    row_sums = cm.sum(axis=1, keepdims=True)
    cm_norm = np.divide(cm, row_sums, out=np.zeros_like(cm, dtype=float), where=row_sums > 0)
    return {
        "macro_f1": float(macro[2]), "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(macro[0]), "macro_recall": float(macro[1]),
        "weighted_precision": float(weighted[0]), "weighted_recall": float(weighted[1]),
        "weighted_f1": float(weighted[2]),
        "macro_over": [labels[i] for i in present],
        "classes_without_examples": [label for i, label in enumerate(labels) if i not in present],
        "per_class": {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                              "support": int(support[i])} for i, label in enumerate(labels)},
        "per_class_f1": {label: float(f[i]) for i, label in enumerate(labels)},
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalized": np.round(cm_norm, 4).tolist(),
    }


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """KL(p || q) per row, in nats. ``eps`` keeps a zero in q from making it infinite."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0)
    q = np.clip(np.asarray(q, dtype=np.float64), eps, 1.0)
    p, q = p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)
    return (p * (np.log(p) - np.log(q))).sum(-1)


def fidelity(y_true: list[int], ref_pred: list[int], ref_probs: np.ndarray,
             pred: list[int], probs: np.ndarray) -> dict:
    """How faithfully a variant reproduces its reference: flips (fixed / broken / other) and KL."""
    y, a, b = (np.asarray(v) for v in (y_true, ref_pred, pred))
    flips = a != b
    fixed = int(np.sum(flips & (a != y) & (b == y)))
    broken = int(np.sum(flips & (a == y) & (b != y)))
    return {
        "flip_rate": float(flips.mean()) if len(y) else 0.0,
        "flips": int(flips.sum()), "fixed": fixed, "broken": broken,
        "other_flips": int(flips.sum()) - fixed - broken,
        "kl_mean": float(kl_divergence(ref_probs, probs).mean()) if len(y) else 0.0,
    }
