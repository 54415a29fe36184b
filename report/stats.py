"""Uncertainty for the report: bootstrap confidence intervals and paired McNemar tests.

Each variant is evaluated on the same test examples as its baseline, so differences are judged
with paired statistics (same resampled indices for both; discordant pairs for McNemar). A 0.3
point macro-F1 gap on 2,000 examples is usually noise; these functions say when it is not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

SEED = 20240601
N_RESAMPLES = 2000
CONFIDENCE = 0.95


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Macro-F1 over the last axis (vectorised for the bootstrap); classes absent from both
    truth and prediction in a resample count as F1 0, like scikit-learn's zero_division=0."""
    scores = []
    for c in range(n_labels):
        t, p = y_true == c, y_pred == c
        tp = (t & p).sum(-1)
        denom = t.sum(-1) + p.sum(-1)
        scores.append(np.divide(2 * tp, denom, out=np.zeros(np.shape(tp), float), where=denom > 0))
    return np.mean(scores, axis=0)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return (y_true == y_pred).mean(-1)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def _bootstrap(statistic, data: tuple[np.ndarray, ...], seed: int, n_resamples: int) -> tuple[float, float]:
    res = stats.bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                          confidence_level=CONFIDENCE, method="percentile", batch=200,
                          rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def metric_intervals(y_true, y_pred, n_labels: int, seed: int = SEED,
                     n_resamples: int = N_RESAMPLES) -> dict[str, Interval]:
    """95% percentile-bootstrap intervals of macro-F1 and accuracy, resampling test examples."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    out = {}
    for name, fn in (("macro_f1", lambda a, b, axis=-1: macro_f1(a, b, n_labels)),
                     ("accuracy", lambda a, b, axis=-1: accuracy(a, b))):
        low, high = _bootstrap(fn, (t, p), seed, n_resamples)
        out[name] = Interval(float(fn(t, p)), low, high)
    return out


def paired_delta_interval(y_true, y_base, y_variant, n_labels: int, metric: str = "macro_f1",
                          seed: int = SEED, n_resamples: int = N_RESAMPLES) -> Interval:
    """95% interval of (variant - baseline) with both scored on the same resampled examples."""
    score = (lambda t, p: macro_f1(t, p, n_labels)) if metric == "macro_f1" else accuracy
    data = tuple(np.asarray(a) for a in (y_true, y_base, y_variant))

    def delta(t, b, v, axis=-1):
        return score(t, v) - score(t, b)

    low, high = _bootstrap(delta, data, seed, n_resamples)
    return Interval(float(delta(*data)), low, high)


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test: ``broken`` = baseline right / variant wrong, ``fixed`` = the reverse."""

    broken: int
    fixed: int
    p_value: float


def mcnemar(y_true, y_base, y_variant) -> McNemar:
    """Two-sided exact binomial test on the discordant pairs (p = 1 when there are none)."""
    t, b, v = (np.asarray(a) for a in (y_true, y_base, y_variant))
    if not (t.shape == b.shape == v.shape):
        raise ValueError(f"McNemar needs predictions on the same examples, got shapes {t.shape}, {b.shape}, {v.shape}")
    broken = int(((b == t) & (v != t)).sum())
    fixed = int(((b != t) & (v == t)).sum())
    n = broken + fixed
    p = 1.0 if n == 0 else float(stats.binomtest(min(broken, fixed), n, 0.5).pvalue)
    return McNemar(broken, fixed, p)


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (several variants are each tested against one baseline)."""
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
