"""What every dataset preparer shares: validation errors, the split naming rule, the prepared
(alpaca + dataset_info.json + meta.json) output."""
from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ProjectError
from core.io import atomic_write_json


class DataError(ProjectError):
    """A problem with the input data, worded for the user (file, line, fix)."""


@dataclass
class Example:
    text: str
    label: int
    where: str = field(default="", compare=False)  # "file:line" of the source row, for messages


def split_name(dataset: str, split: str) -> str:
    """The LLaMA-Factory dataset name of one split (``emotion`` + ``test`` -> ``emotion_test``):
    the one place that spells the rule; ``split_parts`` reverses it."""
    return f"{dataset}_{split}"


def split_parts(name: str) -> tuple[str, str]:
    """``emotion_test`` -> (``emotion``, ``test``); split names never contain ``_``."""
    dataset, _, split = name.rpartition("_")
    return dataset, split


@dataclass
class PreparedDataset:
    """A dataset ready to be written: splits of examples plus what produced them."""

    name: str
    labels: list[str]
    splits: dict[str, list[Example]]
    instruction: str
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str = ""
    # split -> how to name it in results when it is not the official split (e.g. AG News offline,
    # where train and test are both carved from the official test.csv); empty: official splits.
    split_labels: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # from data_prep.checks, kept in meta.json


def write_prepared(dataset: PreparedDataset, out_dir: Path) -> Path:
    """Write alpaca JSON per split, ``meta.json``, and register the splits in
    ``out_dir/dataset_info.json`` as ``<name>_<split>`` (LLaMA-Factory's dataset names)."""
    out_dir = Path(out_dir)
    ds_dir = out_dir / dataset.name
    sizes, entries = {}, {}
    for split, examples in dataset.splits.items():
        rows = [
            {"instruction": dataset.instruction, "input": ex.text, "output": dataset.labels[ex.label]}
            for ex in examples
        ]
        file_name = f"{dataset.name}/{split}.json"
        atomic_write_json(out_dir / file_name, rows)
        entries[split_name(dataset.name, split)] = {
            "file_name": file_name,
            "formatting": "alpaca",
            "columns": {"prompt": "instruction", "query": "input", "response": "output"},
        }
        sizes[split] = len(examples)
    meta = {
        "name": dataset.name,
        "labels": dataset.labels,
        "label2id": {label: i for i, label in enumerate(dataset.labels)},
        "split_sizes": sizes,
        "class_counts": {
            split: {dataset.labels[i]: sum(ex.label == i for ex in exs) for i in range(len(dataset.labels))}
            for split, exs in dataset.splits.items()
        },
        "instruction": dataset.instruction,
        "sources": dataset.sources,
        "notes": dataset.notes,
        "split_labels": dataset.split_labels,
        "warnings": dataset.warnings,
    }
    atomic_write_json(ds_dir / "meta.json", meta)
    register_datasets(out_dir, dataset.name, entries)
    return ds_dir


def register_datasets(out_dir: Path, name: str, entries: dict[str, dict]) -> None:
    """Replace dataset ``name``'s entries in ``dataset_info.json`` under a file lock: two preparers
    run side by side (``make -j``) must not drop each other's datasets, and a split this preparation
    no longer has (AG News' validation, say) must not stay registered."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info_path = out_dir / "dataset_info.json"
    with open(out_dir / ".dataset_info.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        others = {key: entry for key, entry in info.items() if not entry["file_name"].startswith(f"{name}/")}
        atomic_write_json(info_path, {**others, **entries})
