"""Helpers for the data tests: a registry of one entry in a temporary folder, prepared data."""
from __future__ import annotations

import json
from pathlib import Path

from data_prep.common import write_prepared
from data_prep.prepare import prepare
from data_prep.registry import DatasetSpec, dataset_spec


def register(folder: Path, name: str, entry: dict) -> DatasetSpec:
    """Write ``folder/dataset_info.json`` holding ``entry`` and return its validated spec."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset_info.json").write_text(json.dumps({name: entry}))
    return dataset_spec(name, folder / "dataset_info.json")


def prepare_into(spec: DatasetSpec, out: Path, data_dir: Path | None = None, strict: bool = True) -> Path:
    """Prepare ``spec`` (files next to its registry unless ``data_dir``) into ``out``."""
    write_prepared(prepare(spec, data_dir, strict), out)
    return out


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
