"""Prepare dair-ai/emotion ("split" config: 16,000 / 2,000 / 2,000) from a local folder of
the original ``text;label`` files, or from the Hugging Face hub when no folder is given.

    python -m data_prep.emotion --data-dir ../shared/data/emotion --out outputs/data
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.paths import portable
from data_prep.common import DataError, Example, PreparedDataset, sha256_file, write_prepared

NAME = "emotion"
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
SPLIT_SIZES = {"train": 16_000, "validation": 2_000, "test": 2_000}
# Alternative file names seen in the wild, in order of preference.
SPLIT_FILES = {"train": ["train.txt"], "validation": ["validation.txt", "val.txt"], "test": ["test.txt"]}
INSTRUCTION = "Classify the emotion expressed in the text as one of: " + ", ".join(LABELS) + "."
HUB_ID = "dair-ai/emotion"


def read_split_file(path: Path) -> list[Example]:
    """Parse one ``text;label`` file, naming the file and line of anything malformed."""
    label2id = {label: i for i, label in enumerate(LABELS)}
    examples = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            text, sep, label = line.rpartition(";")
            if not sep:
                raise DataError(f"{path}:{lineno}: no ';' separator (expected 'text;label'): {line[:80]!r}")
            label = label.strip()
            if label not in label2id:
                raise DataError(
                    f"{path}:{lineno}: unknown label {label!r}; expected one of {', '.join(LABELS)}"
                )
            if not text.strip():
                raise DataError(f"{path}:{lineno}: empty text before the ';'")
            examples.append(Example(text=text, label=label2id[label]))
    if not examples:
        raise DataError(f"{path}: the file is empty; expected {LABELS[0]}-style 'text;label' lines")
    return examples


def _check_size(split: str, n: int, where: str, strict: bool) -> None:
    if strict and n != SPLIT_SIZES[split]:
        raise DataError(
            f"{where}: {split} split has {n:,} examples, expected {SPLIT_SIZES[split]:,} "
            "(dair-ai/emotion 'split' config). Pass --allow-any-size for a custom subset."
        )


def from_local(data_dir: Path, strict_sizes: bool = True) -> PreparedDataset:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"emotion data folder {data_dir} does not exist; set DATA_DIR to the folder "
                        "holding train.txt / validation.txt / test.txt, or leave it empty to use the hub")
    splits, sources = {}, {}
    for split, candidates in SPLIT_FILES.items():
        path = next((data_dir / c for c in candidates if (data_dir / c).is_file()), None)
        if path is None:
            raise DataError(f"{data_dir}: missing the {split} split (looked for {' or '.join(candidates)})")
        examples = read_split_file(path)
        _check_size(split, len(examples), str(path), strict_sizes)
        splits[split] = examples
        sources[split] = {"path": portable(path, data_dir), "sha256": sha256_file(path), "rows": len(examples)}
    return PreparedDataset(NAME, LABELS, splits, INSTRUCTION, sources)


def from_hub(strict_sizes: bool = True) -> PreparedDataset:
    """The hub path, for users with network access (not reachable on the project's machines)."""
    import hashlib

    from datasets import load_dataset

    try:
        ds = load_dataset(HUB_ID, "split")
    except Exception as exc:  # the datasets library raises many types for "offline"
        raise DataError(
            f"could not load {HUB_ID} from the hub ({type(exc).__name__}: {str(exc)[:200]}). "
            "Offline, point DATA_DIR at a folder with the original train.txt / validation.txt / test.txt."
        ) from None
    splits, sources = {}, {}
    for split in SPLIT_SIZES:
        rows = ds[split]
        examples = [Example(text=t, label=int(y)) for t, y in zip(rows["text"], rows["label"])]
        _check_size(split, len(examples), f"{HUB_ID}[{split}]", strict_sizes)
        digest = hashlib.sha256("\n".join(f"{e.text};{LABELS[e.label]}" for e in examples).encode()).hexdigest()
        splits[split] = examples
        sources[split] = {"hub": HUB_ID, "fingerprint": rows._fingerprint, "sha256_of_text_label_lines": digest,
                          "rows": len(examples)}
    return PreparedDataset(NAME, LABELS, splits, INSTRUCTION, sources)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="", help="folder with the original files; empty: the hub")
    parser.add_argument("--out", default="outputs/data", help="prepared-data folder (dataset_dir in recipes)")
    parser.add_argument("--allow-any-size", action="store_true", help="accept split sizes other than 16k/2k/2k")
    args = parser.parse_args(argv)
    try:
        dataset = (from_local(Path(args.data_dir), not args.allow_any_size) if args.data_dir
                   else from_hub(not args.allow_any_size))
        out = write_prepared(dataset, Path(args.out))
    except DataError as err:
        raise SystemExit(f"error: {err}") from None
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in dataset.splits.items())
    print(f"emotion prepared in {out} ({sizes})")


if __name__ == "__main__":
    main()
