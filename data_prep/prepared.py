"""Read a prepared split back, the way LLaMA-Factory resolves a dataset name: look the name
up in ``dataset_dir/dataset_info.json`` and read the alpaca file it points to."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.io import sha256_file
from core.names import inside, relative_problem
from data_prep.common import DataError, split_name, split_parts
from data_prep.labels import unknown_label


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


def read_json(path: Path) -> object:
    """A prepared JSON file; a broken one is an error naming file and line, not a traceback."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg}); re-run make data") from None


def _remake(dataset: str) -> str:
    return f"re-run make data DATASET={split_parts(dataset)[0]}"


def dataset_file(dataset_dir: str | Path, dataset: str) -> Path:
    """The prepared file a dataset name stands for, looked up in ``dataset_info.json``."""
    info_path = Path(dataset_dir) / "dataset_info.json"
    if not info_path.is_file():
        raise DataError(f"{info_path} not found: prepare the data first (make data)")
    info = read_json(info_path)
    if dataset not in info:
        raise DataError(f"dataset {dataset!r} is not registered in {info_path}; known: {', '.join(sorted(info))}")
    name = info[dataset].get("file_name") if isinstance(info[dataset], dict) else None
    problem = relative_problem(name)
    if problem:
        raise DataError(f"{info_path}: key '{dataset}.file_name': {name!r} {problem}; {_remake(dataset)}")
    path = inside(dataset_dir, Path(dataset_dir) / name, str(info_path), f"{dataset}.file_name", DataError,
                  _remake(dataset))
    if not path.is_file():
        raise DataError(f"{path} not found (registered as {dataset!r} in {info_path}); {_remake(dataset)}")
    return path


def registered(dataset_dir: str | Path, dataset: str) -> bool:
    """Whether ``dataset_info.json`` names ``dataset`` (AG News, prepared offline, has no validation split)."""
    info_path = Path(dataset_dir) / "dataset_info.json"
    return info_path.is_file() and dataset in read_json(info_path)


def dataset_meta(dataset_dir: str | Path, dataset: str, also: tuple[str, ...] = ()) -> dict:
    """``meta.json`` (labels, label2id, instruction, sources) of the dataset a name belongs to,
    checked for the labels and for the keys in ``also`` the caller reads."""
    path = dataset_file(dataset_dir, dataset).parent / "meta.json"
    if not path.is_file():
        raise DataError(f"{path} not found (it holds {dataset}'s labels); {_remake(dataset)}")
    meta = read_json(path)
    for key in ("labels", "label2id", *also):
        if key not in meta:
            raise DataError(f"{path}: no {key!r} key; {_remake(dataset)}")
    return meta


def _label_ids(path: Path, rows: list[dict], label2id: dict[str, int], dataset: str) -> list[int]:
    ids = []
    for i, row in enumerate(rows, start=1):
        if row.get("output") not in label2id:
            raise unknown_label(str(row.get("output")), label2id, f"{path}: row {i}",
                                f"meta.json's label2id does not have it; {_remake(dataset)}")
        ids.append(label2id[row["output"]])
    return ids


def _check_seen_in_train(split: Split) -> None:
    """An eval split's labels must all occur in train: a classifier cannot learn the others."""
    dataset, part = split_parts(split.name)
    train_counts = split.meta.get("class_counts", {}).get("train")
    if part == "train" or train_counts is None:
        return
    unseen = sorted({split.label_names[y] for y in split.labels if not train_counts.get(split.label_names[y])})
    if unseen:
        raise DataError(f"{split.name} has labels that {dataset}_train never shows ({', '.join(unseen)}); "
                        f"add train examples of them and {_remake(split.name)}")


def check_same_labels(train: Split, evaluation: Split) -> None:
    """Train and eval splits must share label names in the same order (ids are positions)."""
    if train.label_names != evaluation.label_names:
        raise DataError(f"eval_dataset {evaluation.name} has labels {evaluation.label_names}, dataset {train.name} "
                        f"has {train.label_names}; ids would mean different classes: evaluate on a split of the "
                        f"same dataset (e.g. eval_dataset={split_name(split_parts(train.name)[0], 'validation')})")


def load_split(dataset_dir: str | Path, dataset: str, limit: int | None = None) -> Split:
    path = dataset_file(dataset_dir, dataset)
    meta = dataset_meta(dataset_dir, dataset)
    rows = read_json(path)
    if limit is not None:
        rows = rows[:limit]
    split = Split(
        name=dataset,
        texts=[row["input"] for row in rows],
        labels=_label_ids(path, rows, meta["label2id"], dataset),
        label_names=meta["labels"],
        sha256=sha256_file(path),
        meta=meta,
    )
    _check_seen_in_train(split)
    return split
