"""Prepare AG News (Zhang et al. 2015; 4 topics) from a folder of the original CSVs, or from
the Hugging Face hub (``fancyzhx/ag_news``: 120,000 train / 7,600 test) when no folder is given.

    python -m data_prep.agnews --data-dir ../shared/data/ag_news --out outputs/data

Offline only ``test.csv`` may exist. Then train, validation and test are all carved out of
it (stratified, seeded), and every result on them must be labelled as that subset, never as
"AG News test": ``meta.json`` says so in ``split_labels`` (the names evaluation prints) and ``notes``. With ``train.csv``
present (or the hub), the official test set is kept whole and validation comes from train.
"""
from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from core.paths import portable
from data_prep.common import (
    DataError,
    Example,
    PreparedDataset,
    sha256_file,
    write_prepared,
)

NAME = "agnews"
LABELS = ["World", "Sports", "Business", "Sci/Tech"]  # class index 1..4 of classes.txt
OFFICIAL_SIZES = {"train": 120_000, "test": 7_600}
INSTRUCTION = "Classify the topic of the news article as one of: " + ", ".join(LABELS) + "."
HUB_ID = "fancyzhx/ag_news"
SEED = 42


def join_text(title: str, description: str) -> str:
    """The text the hub's ``ag_news`` loader builds: title, a space, description."""
    return f"{title} {description}"


def read_csv_file(path: Path) -> list[Example]:
    """Parse an original ``"class","title","description"`` file, naming file and line of any bad row."""
    examples = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            lineno = reader.line_num
            if not row or not any(field.strip() for field in row):
                continue
            if len(row) != 3:
                raise DataError(f"{path}:{lineno}: {len(row)} fields, expected 3 "
                                f'("class index","title","description"): {",".join(row)[:80]!r}')
            index, title, description = row
            if index.strip() not in {"1", "2", "3", "4"}:
                raise DataError(f"{path}:{lineno}: class index {index!r} is not 1-4 "
                                f"({', '.join(f'{i + 1}={c}' for i, c in enumerate(LABELS))})")
            if not (title.strip() or description.strip()):
                raise DataError(f"{path}:{lineno}: empty title and description")
            examples.append(Example(text=join_text(title, description), label=int(index) - 1))
    if not examples:
        raise DataError(f"{path}: the file is empty; expected rows like \"3\",\"title\",\"description\"")
    return examples


def check_classes(path: Path) -> None:
    """``classes.txt``, when present, must list the four topics in the order the indices assume."""
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if names != LABELS:
        raise DataError(f"{path}: classes {names} differ from {LABELS}; the class indices would be misread")


def stratified_split(examples: list[Example], n_held_out: int, seed: int = SEED
                     ) -> tuple[list[Example], list[Example]]:
    """Hold out ``n_held_out`` examples with every class equally represented (the input must be
    balanced, as AG News is); same seed, same split. Both parts keep the input's order."""
    n_classes = len(LABELS)
    if n_held_out % n_classes:
        raise DataError(f"held-out size {n_held_out} is not a multiple of {n_classes} classes")
    rng = random.Random(seed)
    held = set()
    for label in range(n_classes):
        indices = [i for i, ex in enumerate(examples) if ex.label == label]
        if len(indices) < n_held_out // n_classes:
            raise DataError(f"class {LABELS[label]} has {len(indices)} examples, fewer than the "
                            f"{n_held_out // n_classes} to hold out")
        held.update(rng.sample(indices, n_held_out // n_classes))
    return ([ex for i, ex in enumerate(examples) if i not in held],
            [ex for i, ex in enumerate(examples) if i in held])


def _splits(train: list[Example] | None, test: list[Example], test_size: int, validation_size: int
            ) -> tuple[dict[str, list[Example]], dict[str, str], str]:
    """Official train + test when train exists; otherwise everything carved from test.csv."""
    if train is not None:
        train, validation = stratified_split(train, validation_size)
        return {"train": train, "validation": validation, "test": test}, {}, ""
    rest, held_test = stratified_split(test, test_size)
    train, validation = stratified_split(rest, validation_size, SEED + 1)
    n = len(test)
    split_labels = {
        "train": f"AG News train part of test.csv ({len(train):,} of {n:,} rows)",
        "validation": f"AG News validation part of test.csv ({len(validation):,} of {n:,} rows)",
        "test": (f"AG News held-out subset of test.csv ({len(held_test):,} of {n:,} rows, stratified, "
                 f"seed {SEED}; not the official AG News test set)"),
    }
    notes = (f"The official train.csv (120,000 rows) was not available, so all three splits come from the "
             f"official test.csv ({n:,} rows): a stratified seeded split (seed {SEED}) into "
             f"{len(train):,} train, {len(validation):,} validation and {len(held_test):,} held-out test rows. "
             "Results on agnews_test are on that held-out subset and are not comparable with published "
             "AG News test numbers.")
    return {"train": train, "validation": validation, "test": held_test}, split_labels, notes


def from_local(data_dir: Path, test_size: int, validation_size: int) -> PreparedDataset:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"AG News folder {data_dir} does not exist; set AGNEWS_DIR to the folder holding "
                        "the original test.csv (and train.csv if you have it), or leave it empty for the hub")
    if not (data_dir / "test.csv").is_file():
        raise DataError(f"{data_dir}: missing test.csv (the original ag_news_csv release)")
    if (data_dir / "classes.txt").is_file():
        check_classes(data_dir / "classes.txt")
    sources = {}
    read = {}
    for split in ("train", "test"):
        path = data_dir / f"{split}.csv"
        if path.is_file():
            read[split] = read_csv_file(path)
            sources[split] = {"path": portable(path, data_dir), "sha256": sha256_file(path), "rows": len(read[split])}
    splits, split_labels, notes = _splits(read.get("train"), read["test"], test_size, validation_size)
    return PreparedDataset(NAME, LABELS, splits, INSTRUCTION, sources, notes, split_labels)


def from_hub(validation_size: int) -> PreparedDataset:
    """The hub path, for users with network access (not reachable on the project's machines)."""
    import hashlib

    from datasets import load_dataset

    try:
        ds = load_dataset(HUB_ID)
    except Exception as exc:  # noqa: BLE001 - the datasets library raises many types for "offline"
        raise DataError(f"could not load {HUB_ID} from the hub ({type(exc).__name__}: {str(exc)[:200]}). "
                        "Offline, point AGNEWS_DIR at a folder with the original test.csv / train.csv.") from None
    read, sources = {}, {}
    for split, size in OFFICIAL_SIZES.items():
        rows = ds[split]
        read[split] = [Example(text=t, label=int(y)) for t, y in zip(rows["text"], rows["label"])]
        if len(read[split]) != size:
            raise DataError(f"{HUB_ID}[{split}] has {len(read[split]):,} rows, expected {size:,}")
        digest = hashlib.sha256("\n".join(f"{e.label}\t{e.text}" for e in read[split]).encode()).hexdigest()
        sources[split] = {"hub": HUB_ID, "fingerprint": rows._fingerprint, "sha256_of_label_text_lines": digest,
                          "rows": size}
    splits, split_labels, notes = _splits(read["train"], read["test"], 0, validation_size)
    return PreparedDataset(NAME, LABELS, splits, INSTRUCTION, sources, notes, split_labels)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="", help="folder with the original CSVs; empty: the hub")
    parser.add_argument("--out", default="outputs/data", help="prepared-data folder (dataset_dir in recipes)")
    parser.add_argument("--test-size", type=int, default=1_000,
                        help="held-out test rows when only test.csv exists (a multiple of 4)")
    parser.add_argument("--validation-size", type=int, default=200, help="validation rows (a multiple of 4)")
    args = parser.parse_args(argv)
    try:
        dataset = (from_local(Path(args.data_dir), args.test_size, args.validation_size) if args.data_dir
                   else from_hub(args.validation_size))
        out = write_prepared(dataset, Path(args.out))
    except DataError as err:
        raise SystemExit(f"error: {err}") from None
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in dataset.splits.items())
    print(f"AG News prepared in {out} ({sizes}){' - subsets of test.csv' if dataset.split_labels else ''}")


if __name__ == "__main__":
    main()
