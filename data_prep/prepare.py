"""Prepare any registered dataset: raw files (or the hub) -> checked splits -> the prepared form.

    python -m data_prep.prepare emotion --data-dir ../shared/data/emotion --out outputs/data
    python -m data_prep.prepare mydata            # files resolved next to data/dataset_info.json

(``make data DATASET=name [DATA_DIR=folder]`` runs this.) Files come from ``--data-dir`` when
given, else from the hub when the entry has ``hf_hub_url``, else from the registry's folder.
Splits the entry does not give are carved from train (stratified, fixed seed), and every result
on a carved split is labelled as such (``meta.json``'s ``split_labels``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.io import sha256_file
from core.paths import relative_path
from data_prep.checks import check_prepared
from data_prep.common import DataError, Example, PreparedDataset, split_name, write_prepared
from data_prep.files import check_entry_files, entry_file
from data_prep.labels import LabelNames, encode, label_order
from data_prep.readers import Record, read_file, read_hub, read_line_pair
from data_prep.registry import REGISTRY, SPLITS, DatasetSpec, SplitFile, dataset_spec
from data_prep.splits import carve_size, stratified_split


def _paths(spec: DatasetSpec, folder: Path, candidate: SplitFile, key: str) -> list[Path]:
    """The file(s) one candidate names: one file, or a text file and its label file."""
    if isinstance(candidate, str):
        return [entry_file(spec, folder, candidate, key)]
    return [entry_file(spec, folder, candidate[role], f"{key}.{role}") for role in ("text", "label")]


def _shown(candidate: SplitFile) -> str:
    return candidate if isinstance(candidate, str) else f"{candidate['text']} + {candidate['label']}"


def _locate(spec: DatasetSpec, folder: Path) -> dict[str, list[Path]]:
    """split -> file; with ``train_fallback`` a missing train file is allowed (carved from test)."""
    if not folder.is_dir():
        hub = f", or leave DATA_DIR empty for the hub ({spec.hf_hub_url})" if spec.hf_hub_url else ""
        raise DataError(f"{spec.name} data folder {folder} does not exist; pass the folder holding its files "
                        f"(make data DATASET={spec.name} DATA_DIR=...){hub}")
    if spec.file_name:
        path = entry_file(spec, folder, spec.file_name, "file_name")
        if not path.is_file():
            raise DataError(f"{path}: not found ({spec.source}: key 'file_name'); pass the folder holding it "
                            f"(make data DATASET={spec.name} DATA_DIR=...) or correct the name")
        return {"train": [path]}
    if not spec.splits:
        raise DataError(f"{spec.source}: no files to read from {folder}; add \"splits\" or \"file_name\"")
    found = {}
    for split, candidates in spec.splits.items():
        options = [_paths(spec, folder, c, f"splits.{split}") for c in candidates]
        paths = next((p for p in options if all(path.is_file() for path in p)), None)
        if paths is not None:
            found[split] = paths
        elif not (split == "train" and spec.train_fallback and "test" in spec.splits):
            raise DataError(f"{folder}: missing the {split} split (looked for "
                            f"{' or '.join(map(_shown, candidates))}; "
                            f"{spec.source}: key 'splits')")
    return found


def _check_source(spec: DatasetSpec, split: str, n_rows: int, where: str, digests: dict[Path, str]) -> None:
    """Registered row counts and checksums, so a truncated or different copy cannot pass unseen."""
    expected = spec.expected_rows.get(split)
    if expected is not None and n_rows != expected:
        raise DataError(f"{where}: {split} split has {n_rows:,} examples, expected {expected:,} "
                        f"({spec.source}: key 'expected_rows'); pass --any-copy for a subset or another copy")
    for path, digest in digests.items():
        registered = spec.sha256.get(path.name)
        if registered is not None and digest != registered:
            raise DataError(f"{path}: sha256 {digest[:16]}... differs from the registered {registered[:16]}... "
                            f"({spec.source}: key 'sha256'); pass --any-copy to accept another copy")


def read_sources(spec: DatasetSpec, data_dir: Path | None, strict: bool = True
                 ) -> tuple[dict[str, list[Record]], dict[str, dict[str, Any]], Path]:
    """Records and a provenance entry per source split, plus the folder label files resolve in."""
    if data_dir is None and spec.hf_hub_url:
        read = read_hub(spec)
        if "train" not in read and not spec.train_fallback:
            raise DataError(f"{spec.hf_hub_url} has no train split (splits: {', '.join(read)})")
        for split, (records, _) in read.items():
            if strict:
                _check_source(spec, split, len(records), f"{spec.hf_hub_url}[{split}]", {})
        return {s: r for s, (r, _) in read.items()}, {s: src for s, (_, src) in read.items()}, spec.root
    check_entry_files(spec)
    folder = Path(data_dir) if data_dir is not None else spec.root
    records, sources = {}, {}
    for split, paths in _locate(spec, folder).items():
        records[split] = read_file(paths[0], spec) if len(paths) == 1 else read_line_pair(*paths)
        digests = {path: sha256_file(path) for path in paths}
        if strict:
            _check_source(spec, split, len(records[split]), str(paths[0]), digests)
        # Relative to the data folder the user named (or the repository): never this machine's paths.
        sources[split] = {"path": relative_path(paths[0], folder), "sha256": digests[paths[0]],
                          "rows": len(records[split])}
        if len(paths) == 2:
            sources[split].update(label_path=relative_path(paths[1], folder), label_sha256=digests[paths[1]])
    return records, sources, folder


def _carve(spec: DatasetSpec, examples: dict[str, list[Example]], sources: dict[str, dict], n_classes: int
           ) -> tuple[dict[str, list[Example]], dict[str, str], str]:
    """Fill in the missing splits from train (or, with ``train_fallback``, train from test);
    return the splits, the split labels results print, and a note (both empty if none was carved)."""
    def source_name(split: str) -> str:
        source = sources[split]
        return Path(source["path"]).name if "path" in source else f"{source['hub']}[{split}]"

    train, validation, test = (examples.get(s) for s in SPLITS)
    fallback = train is None
    pool_split = "test" if fallback else "train"
    pool, src = examples[pool_split], source_name(pool_split)
    where = f"{spec.source} ({src})"
    if fallback or test is None:
        train, test = stratified_split(pool, carve_size(spec.test_size, len(pool)), n_classes, spec.seed,
                                       f"{where}: key 'test_size'")
    n_validation = carve_size(spec.validation_size, len(pool))
    if validation is None and n_validation > 0:
        train, validation = stratified_split(train, n_validation, n_classes, spec.seed + 1,
                                             f"{where}: key 'validation_size'")
    splits = {s: x for s, x in (("train", train), ("validation", validation), ("test", test)) if x is not None}
    made = [s for s in ("validation", "test") if s in splits and (s not in examples or fallback and s == "test")]
    if not made:
        return splits, {}, ""
    return splits, *_describe(spec, splits, ["train", *made], src, len(pool), fallback)


def _describe(spec: DatasetSpec, splits: dict[str, list[Example]], carved: list[str], src: str, n: int,
              fallback: bool) -> tuple[dict[str, str], str]:
    """How results name carved splits (never as the official test set) and a note on the carving."""
    title, test = spec.title, splits["test"]
    official = "; not the official " + title + " test set" if fallback else ""
    labels = {s: f"{title} {s} part of {src} ({len(splits[s]):,} of {n:,} rows)" for s in SPLITS if s in carved}
    if "test" in carved:
        labels["test"] = (f"{title} held-out subset of {src} ({len(test):,} of {n:,} rows, stratified, "
                          f"seed {spec.seed}{official})")
    parts = [f"{len(splits[s]):,} {'held-out ' * (s == 'test')}{s}" for s in SPLITS if s in carved]
    how = f"a stratified seeded split (seed {spec.seed}) into {', '.join(parts[:-1])} and {parts[-1]} rows"
    if fallback:
        expected = spec.expected_rows.get("train")
        missing = (" or ".join(map(_shown, spec.splits.get("train", []))) or "train split") + (
            f" ({expected:,} rows)" if expected else "")
        notes = (f"The official {missing} was not available, so every split comes from the official "
                 f"{src} ({n:,} rows): {how}. Results on {split_name(spec.name, 'test')} are on that held-out "
                 f"subset and are not comparable with published {title} test numbers.")
    else:
        notes = f"Splits not given were carved from {src} ({n:,} rows): {how}."
    return labels, notes


def prepare(spec: DatasetSpec, data_dir: Path | None = None, strict: bool = True) -> PreparedDataset:
    """Read, label, carve and check one registered dataset; nothing is written."""
    records, sources, folder = read_sources(spec, data_dir, strict)
    names = LabelNames.from_spec(spec, folder)
    train_split = "train" if "train" in records else "test"
    labels = label_order(names, records[train_split])
    train_where = sources[train_split].get("path") or spec.hf_hub_url
    examples = {split: encode(rows, names, labels, train_where) for split, rows in records.items()}
    splits, split_labels, notes = _carve(spec, examples, sources, len(labels))
    dataset = PreparedDataset(spec.name, labels, splits, spec.instruction.replace("{labels}", ", ".join(labels)),
                              sources, notes, split_labels)
    dataset.warnings = check_prepared(dataset)
    return dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="an entry of the registry, e.g. emotion")
    parser.add_argument("--data-dir", default="", help="folder with the entry's files; empty: the hub if the "
                                                        "entry has hf_hub_url, else the registry's folder")
    parser.add_argument("--registry", default=str(REGISTRY), help="the dataset_info.json listing datasets")
    parser.add_argument("--out", default="outputs/data", help="prepared-data folder (dataset_dir in recipes)")
    parser.add_argument("--any-copy", action="store_true",
                        help="accept row counts and checksums other than the registered ones (a subset, a copy)")
    args = parser.parse_args(argv)
    try:
        spec = dataset_spec(args.dataset, Path(args.registry))
        dataset = prepare(spec, Path(args.data_dir) if args.data_dir else None, strict=not args.any_copy)
        out = write_prepared(dataset, Path(args.out))
    except DataError as err:
        raise SystemExit(f"error: {err}") from None
    for warning in dataset.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in dataset.splits.items())
    subset = f" - {dataset.split_labels['test']}" if "test" in dataset.split_labels else ""
    print(f"{spec.title} prepared in {out} ({sizes}){subset}")


if __name__ == "__main__":
    main()
