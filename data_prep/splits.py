"""Carving a held-out split out of another, stratified by class, with a fixed seed: the same
input and seed always give the same rows, and each class keeps its share."""
from __future__ import annotations

import random

from data_prep.common import DataError, Example


def carve_size(size: int | float, n_rows: int) -> int:
    """Rows to carve: ``size`` itself, or that fraction of ``n_rows`` (rounded)."""
    return round(size * n_rows) if isinstance(size, float) else size


def class_quotas(counts: list[int], n_held_out: int) -> list[int]:
    """Per-class rows to hold out, proportional to ``counts`` (largest remainders get the rest);
    a class never gives up its last example, so train keeps every class."""
    total = sum(counts)
    exact = [n_held_out * c / total for c in counts]
    quotas = [int(x) for x in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: (quotas[i] - exact[i], i))
    for i in by_remainder[:n_held_out - sum(quotas)]:
        quotas[i] += 1
    return [min(q, max(c - 1, 0)) for q, c in zip(quotas, counts)]


def stratified_split(examples: list[Example], n_held_out: int, n_classes: int, seed: int,
                     where: str) -> tuple[list[Example], list[Example]]:
    """(rest, held out): ``n_held_out`` examples drawn class by class (class ids in order, one
    ``random.Random(seed)``); both parts keep the input's order."""
    if not 0 < n_held_out < len(examples):
        raise DataError(f"{where}: cannot hold out {n_held_out:,} of {len(examples):,} rows; "
                        "choose a size between 1 and the row count (or a fraction like 0.1)")
    by_class = [[i for i, ex in enumerate(examples) if ex.label == c] for c in range(n_classes)]
    rng = random.Random(seed)
    held: set[int] = set()
    for indices, quota in zip(by_class, class_quotas([len(ix) for ix in by_class], n_held_out)):
        held.update(rng.sample(indices, quota))
    return ([ex for i, ex in enumerate(examples) if i not in held],
            [ex for i, ex in enumerate(examples) if i in held])
