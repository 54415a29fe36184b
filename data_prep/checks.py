"""Checks run when data is prepared, before any training can start: what would make training
fail late or a result mean something else. Errors stop preparation with one line naming the
file, line or split and the fix; warnings (with counts) go to the terminal and ``meta.json``."""
from __future__ import annotations

from data_prep.common import DataError, PreparedDataset, split_name


def check_prepared(dataset: PreparedDataset) -> list[str]:
    """Raise on an empty split or an eval label train lacks; return the warnings."""
    name, labels, splits = dataset.name, dataset.labels, dataset.splits
    for split, examples in splits.items():
        if not examples:
            raise DataError(f"{split_name(name, split)} is empty; give it rows, or for a carved split a larger "
                            "size (validation_size / test_size in the registry entry)")
    if "train" not in splits:
        raise DataError(f"{name} has no train split; add \"train\" to \"splits\" in the registry entry")
    in_train = {ex.label for ex in splits["train"]}
    for split, examples in splits.items():
        unseen = [ex for ex in examples if ex.label not in in_train]
        if unseen:
            missing = sorted({labels[ex.label] for ex in unseen})
            raise DataError(f"{unseen[0].where}: label {labels[unseen[0].label]!r} of {split_name(name, split)} "
                            f"never occurs in {split_name(name, 'train')} ({len(unseen):,} {split} rows with "
                            f"{', '.join(missing)}); add train examples of it or drop those rows")
    return [*_empty_classes(dataset), *_duplicates(dataset)]


def _empty_classes(dataset: PreparedDataset) -> list[str]:
    warnings = []
    for split in ("train", "test"):
        examples = dataset.splits.get(split)
        present = {ex.label for ex in examples or []}
        absent = [label for i, label in enumerate(dataset.labels) if i not in present]
        if examples and absent:
            consequence = ("the classifier has outputs it never learns" if split == "train" else
                           f"its macro-F1 averages the {len(present)} classes present (each result says so)")
            warnings.append(f"{split_name(dataset.name, split)} has no examples of {len(absent)} of "
                            f"{len(dataset.labels)} classes ({', '.join(absent)}): {consequence}")
    return warnings


def _duplicates(dataset: PreparedDataset) -> list[str]:
    """Texts of a later split that an earlier one already holds (train, validation, test)."""
    warnings, seen = [], {}
    for split, examples in dataset.splits.items():
        repeats = [ex for ex in examples if ex.text in seen and seen[ex.text] != split]
        if repeats:
            others = sorted({seen[ex.text] for ex in repeats})
            warnings.append(f"{len(repeats):,} texts of {split_name(dataset.name, split)} also occur in "
                            f"{', '.join(split_name(dataset.name, s) for s in others)} (first: {repeats[0].where})")
        for ex in examples:
            seen.setdefault(ex.text, split)
    return warnings
