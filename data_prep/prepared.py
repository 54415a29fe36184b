"""Read a prepared split back, the way LLaMA-Factory resolves a dataset name: look the name
up in ``dataset_dir/dataset_info.json`` and read the alpaca file it points to."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from data_prep.common import DataError, sha256_file


@dataclass
class Split:
    name: str            # LLaMA-Factory dataset name, e.g. "emotion_test"
    texts: list[str]
    labels: list[int]
    label_names: list[str]
    sha256: str          # of the prepared file
    meta: dict

    def __len__(self) -> int:
        return len(self.texts)


def dataset_file(dataset_dir: str | Path, dataset: str) -> Path:
    """The prepared file a dataset name stands for, looked up in ``dataset_info.json``."""
    info_path = Path(dataset_dir) / "dataset_info.json"
    if not info_path.is_file():
        raise DataError(f"{info_path} not found: prepare the data first (make data)")
    info = json.loads(info_path.read_text())
    if dataset not in info:
        raise DataError(f"dataset {dataset!r} is not registered in {info_path}; known: {', '.join(sorted(info))}")
    return Path(dataset_dir) / info[dataset]["file_name"]


def dataset_meta(dataset_dir: str | Path, dataset: str) -> dict:
    """``meta.json`` (labels, instruction, sources) of the dataset a name belongs to."""
    return json.loads((dataset_file(dataset_dir, dataset).parent / "meta.json").read_text())


def load_split(dataset_dir: str | Path, dataset: str, limit: int | None = None) -> Split:
    path = dataset_file(dataset_dir, dataset)
    meta = dataset_meta(dataset_dir, dataset)
    label2id = meta["label2id"]
    rows = json.loads(path.read_text())
    if limit is not None:
        rows = rows[:limit]
    return Split(
        name=dataset,
        texts=[row["input"] for row in rows],
        labels=[label2id[row["output"]] for row in rows],
        label_names=meta["labels"],
        sha256=sha256_file(path),
        meta=meta,
    )
