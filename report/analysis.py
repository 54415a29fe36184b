"""Everything the reports say about a group of results, computed once from the JSONs: intervals,
paired tests against the baseline, speed-up ranges over the latency rounds and the verdicts that
follow from them. Templates and sentences read only these rows, so a table and the sentence
beside it cannot disagree."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.results import BASELINE, Group
from report import claims, stats

ALPHA = 0.05


def dig(obj: dict[str, Any] | None, dotted: str) -> Any:
    """``dig(r, "latency.ms_per_batch")``: a nested value, or None when any level is missing."""
    for key in dotted.split("."):
        if not isinstance(obj, dict) or obj.get(key) is None:
            return None
        obj = obj[key]
    return obj


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


@dataclass
class Row:
    variant: str
    method: str
    result: dict[str, Any]
    macro_f1: stats.Interval
    accuracy: stats.Interval
    size_mb: float | None
    ms_example: float | None
    ms_batch: float | None
    batch_size: int | None
    rss_peak_mb: float | None
    delta_f1: stats.Interval | None = None        # paired bootstrap, variant - baseline
    delta_acc: stats.Interval | None = None
    mcnemar: stats.McNemar | None = None
    p_holm: float | None = None
    speed_example: claims.SpeedRange | None = None   # baseline ms / variant ms, over the latency rounds
    speed_batch: claims.SpeedRange | None = None
    reference_size_mb: float | None = None        # the baseline's
    reference_ms: dict[str, float | None] | None = None  # the baseline's median ms: {"example": .., "batch": ..}
    unpaired: str | None = None                   # why there is no paired comparison, when there is a baseline

    @property
    def significant(self) -> bool | None:
        return None if self.p_holm is None else self.p_holm < ALPHA

    @property
    def labels_true(self) -> np.ndarray:
        return np.asarray(self.result["predictions"]["y_true"])

    @property
    def labels_pred(self) -> np.ndarray:
        return np.asarray(self.result["predictions"]["y_pred"])

    @property
    def tuning(self) -> dict[str, Any] | None:
        """The accuracy budget's record (quantization.tuning): its rounds, or why it was not tuned."""
        return dig(self.result, "quantization.tuning")

    @property
    def selection(self) -> dict[str, Any] | None:
        """Which training step became the model (training.selection): every validation score and why."""
        return dig(self.result, "training.selection")

    @property
    def distilled(self) -> bool:
        """Whether its fine-tune learned the FP32 baseline's predictions rather than the labels (training.loss)."""
        return dig(self.result, "training.loss") == "distill"

    def rounds(self, kind: str) -> list[float] | None:
        """Per-round medians of ``example`` (batch 1) or ``batch`` latency, when eval repeated it."""
        return dig(self.result, f"latency.ms_per_{kind}_rounds")

    def speedup(self, kind: str) -> float | None:
        """Baseline median ms / this variant's (no verdict: see speed_b1 / speed_bn)."""
        return ratio((self.reference_ms or {}).get(kind), getattr(self, "ms_" + kind))

    def spread(self, kind: str) -> float | None:
        return claims.spread(self.rounds(kind))

    @property
    def size_ratio(self) -> float | None:
        """Baseline MB / variant MB."""
        return ratio(self.reference_size_mb, self.size_mb)

    @property
    def size_verdict(self) -> claims.Verdict:
        return claims.size(self.reference_size_mb, self.size_mb)

    @property
    def quality(self) -> claims.Verdict:
        return claims.quality(self.delta_f1)

    @property
    def speed_b1(self) -> claims.Verdict:
        return claims.speed(self.speed_example)

    @property
    def speed_bn(self) -> claims.Verdict:
        return claims.speed(self.speed_batch)


def _speed(base: dict[str, Any], row: Row, kind: str) -> claims.SpeedRange | None:
    base_ms, ms = dig(base, f"latency.ms_per_{kind}"), dig(row.result, f"latency.ms_per_{kind}")
    if base_ms is None or not ms:
        return None
    return claims.speed_range(base_ms, ms, dig(base, f"latency.ms_per_{kind}_rounds"), row.rounds(kind))


def paired_delta(a: Row, b: Row, n_labels: int, n_resamples: int = stats.N_RESAMPLES) -> stats.Interval | None:
    """Macro-F1 of ``b`` minus ``a`` on the same resampled examples, or None if not paired."""
    if a.labels_true.shape != b.labels_true.shape or not (a.labels_true == b.labels_true).all():
        return None
    return stats.paired_delta_interval(a.labels_true, a.labels_pred, b.labels_pred, n_labels, "macro_f1",
                                       n_resamples=n_resamples)


def analyse(group: Group, n_resamples: int = stats.N_RESAMPLES) -> list[Row]:
    n_labels = len(group.labels)
    base = group.baseline
    rows = []
    for variant, r in group.results.items():
        t, p = np.asarray(r["predictions"]["y_true"]), np.asarray(r["predictions"]["y_pred"])
        ci = stats.metric_intervals(t, p, n_labels, n_resamples=n_resamples)
        row = Row(variant, r.get("method", variant), r, ci["macro_f1"], ci["accuracy"], r.get("size_mb"),
                  dig(r, "latency.ms_per_example"), dig(r, "latency.ms_per_batch"), dig(r, "latency.batch_size"),
                  dig(r, "memory.rss_peak_mb"))
        if base is not None and variant != BASELINE:
            bt, bp = np.asarray(base["predictions"]["y_true"]), np.asarray(base["predictions"]["y_pred"])
            if bt.shape == t.shape and (bt == t).all():  # paired only on the very same examples
                row.delta_f1 = stats.paired_delta_interval(t, bp, p, n_labels, "macro_f1", n_resamples=n_resamples)
                row.delta_acc = stats.paired_delta_interval(t, bp, p, n_labels, "accuracy", n_resamples=n_resamples)
                row.mcnemar = stats.mcnemar(t, bp, p)
            else:
                row.unpaired = (f"evaluated on {len(t)} examples that are not the baseline's {len(bt)}, "
                                "so it has no paired test")
            row.speed_example, row.speed_batch = _speed(base, row, "example"), _speed(base, row, "batch")
            row.reference_size_mb = base.get("size_mb")
            row.reference_ms = {k: dig(base, f"latency.ms_per_{k}") for k in ("example", "batch")}
        rows.append(row)
    tested = [row for row in rows if row.mcnemar is not None]
    for row, adj in zip(tested, stats.holm([row.mcnemar.p_value for row in tested])):
        row.p_holm = adj
    return rows


@dataclass
class Analysed:
    """One group with its analysed rows: what every document and sentence is built from."""

    group: Group
    rows: list[Row]
    n_resamples: int

    @property
    def batch_size(self) -> int | None:
        return next((r.batch_size for r in self.rows if r.batch_size), None)

    def row(self, variant: str) -> Row | None:
        return next((r for r in self.rows if r.variant == variant), None)


def analyse_group(group: Group, n_resamples: int = stats.N_RESAMPLES) -> Analysed:
    return Analysed(group, analyse(group, n_resamples), n_resamples)
