"""Everything the report says about a group of results, computed once from the JSONs: intervals,
paired tests against the baseline, speed-ups and Pareto fronts. Templates and insight sentences
read only these rows, so a table and the sentence beside it cannot disagree."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from report import stats
from report.results import BASELINE, Group

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
    speedup_example: float | None = None          # baseline ms / variant ms
    speedup_batch: float | None = None
    size_ratio: float | None = None               # baseline MB / variant MB
    pareto_size: bool = False
    pareto_latency: bool = False
    unpaired: str | None = None                   # why there is no paired comparison, when there is a baseline

    @property
    def significant(self) -> bool | None:
        return None if self.p_holm is None else self.p_holm < ALPHA


def _pareto(points: list[tuple[float | None, float]]) -> list[bool]:
    """True where no other point is at least as small (cost) and at least as good (score), and
    better in one of the two."""
    flags = []
    for i, (cost, score) in enumerate(points):
        if cost is None:
            flags.append(False)
            continue
        dominated = any(c is not None and c <= cost and s >= score and (c < cost or s > score)
                        for j, (c, s) in enumerate(points) if j != i)
        flags.append(not dominated)
    return flags


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
            row.speedup_example = ratio(dig(base, "latency.ms_per_example"), row.ms_example)
            row.speedup_batch = ratio(dig(base, "latency.ms_per_batch"), row.ms_batch)
            row.size_ratio = ratio(base.get("size_mb"), row.size_mb)
        rows.append(row)
    tested = [row for row in rows if row.mcnemar is not None]
    for row, adj in zip(tested, stats.holm([row.mcnemar.p_value for row in tested])):
        row.p_holm = adj
    for attr, cost in (("pareto_size", "size_mb"), ("pareto_latency", "ms_example")):
        for row, flag in zip(rows, _pareto([(getattr(row, cost), row.macro_f1.estimate) for row in rows])):
            setattr(row, attr, flag)
    return rows
