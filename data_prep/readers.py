"""Raw rows out of CSV, TSV, JSON/JSONL, Parquet, ``text;label`` lines, or the Hugging Face hub.

Every row keeps where it came from (file and line), so each later check can name it. Text files
must be UTF-8 (a leading byte-order mark is dropped), and no line or text may pass
``MAX_LINE_CHARS``: a longer one is almost always a missing quote that swallowed the file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.common import DataError
from data_prep.registry import EXTENSIONS, SPLITS, Column, DatasetSpec

MAX_LINE_CHARS = 100_000


@dataclass
class Record:
    """One raw row: its text, its label as written (name or integer), and where it is."""

    text: str
    label: str | int
    where: str


def file_format(path: Path, spec: DatasetSpec) -> str:
    """The entry's ``format``, else the one the file's extension names."""
    fmt = spec.format or EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: cannot tell the format from '{path.suffix}'; set \"format\" "
                        f"({', '.join(sorted(set(EXTENSIONS.values())))}) in {spec.source}")
    return fmt


def decode(path: Path) -> str:
    """The file as text: strict UTF-8 (an error names the line), BOM dropped, lines bounded."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise DataError(f"{path}:{line}: byte 0x{data[err.start]:02x} at column {column} is not UTF-8; "
                        "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_LINE_CHARS:
        for lineno, line in enumerate(text.split("\n"), start=1):
            check_length(line, f"{path}:{lineno}", "line")
    return text


def check_length(text: str, where: str, what: str = "text") -> None:
    if len(text) > MAX_LINE_CHARS:
        raise DataError(f"{where}: {what} is {len(text):,} characters long, over the {MAX_LINE_CHARS:,} limit "
                        "(often a quote left open); fix or drop it")


def _delimited_rows(path: Path, separator: str, header: bool) -> Iterator[tuple[dict[Column, Any], str]]:
    reader = csv.reader(io.StringIO(decode(path), newline=""), delimiter=separator)
    names: list[str] | None = None
    try:
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if not any(field.strip() for field in row):
                continue
            if header and names is None:
                names = [name.strip() for name in row]
                continue
            if names is not None and len(row) != len(names):
                raise DataError(f"{where}: {len(row)} fields, but the header has {len(names)} "
                                f"({separator.join(names)[:80]})")
            yield dict(zip(names, row)) if names is not None else dict(enumerate(row)), where
    except csv.Error as err:
        raise DataError(f"{path}:{reader.line_num}: {err}") from None


def lines(path: Path) -> list[str]:
    """The file's lines without their ends (``\n``, ``\r\n`` or ``\r``), as Python's text mode reads them."""
    return [line.rstrip("\n") for line in io.StringIO(decode(path), newline=None)]


def _txt_rows(path: Path, separator: str) -> Iterator[tuple[dict[Column, Any], str]]:
    """``text<separator>label`` lines (the emotion release), split at the last separator."""
    for lineno, line in enumerate(lines(path), start=1):
        if not line.strip():
            continue
        text, sep, label = line.rpartition(separator)
        if not sep:
            raise DataError(f"{path}:{lineno}: no {separator!r} separator (expected 'text{separator}label'): "
                            f"{line[:80]!r}")
        yield {0: text, 1: label}, f"{path}:{lineno}"


def _json_rows(path: Path, lines: bool) -> Iterator[tuple[dict[Column, Any], str]]:
    """A JSON array of objects, or one object per line (JSONL; also accepted in a .json file)."""
    text = decode(path)
    if not lines:
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as err:
            if err.msg != "Extra data":
                raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
            lines = True
        else:
            if not isinstance(rows, list):
                raise DataError(f"{path}: expected a JSON array of objects, got {type(rows).__name__}")
            for i, row in enumerate(rows, start=1):
                yield _object(row, f"{path}: record {i}"), f"{path}: record {i}"
    if lines:
        for lineno, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
                yield _object(row, f"{path}:{lineno}"), f"{path}:{lineno}"


def _object(row: Any, where: str) -> dict[Column, Any]:
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected an object like {{\"text\": ..., \"label\": ...}}, "
                        f"got {type(row).__name__}")
    return row


def _parquet_rows(path: Path) -> Iterator[tuple[dict[Column, Any], str]]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {str(exc)[:120]})") from None
    for i, row in enumerate(rows, start=1):
        yield row, f"{path}: row {i}"


def _rows(path: Path, spec: DatasetSpec) -> Iterator[tuple[dict[Column, Any], str]]:
    fmt = file_format(path, spec)
    if fmt in ("csv", "tsv"):
        return _delimited_rows(path, spec.separator or ("\t" if fmt == "tsv" else ","), spec.header is not False)
    if fmt == "txt":
        return _txt_rows(path, spec.separator or ";")
    if fmt in ("json", "jsonl"):
        return _json_rows(path, fmt == "jsonl")
    return _parquet_rows(path)


def _column(row: dict[Column, Any], column: Column, where: str, role: str, spec: DatasetSpec) -> Any:
    if column not in row:
        if isinstance(column, int) and all(isinstance(key, int) for key in row):
            raise DataError(f"{where}: {len(row)} fields, no column {column} for the {role} "
                            f"(0-based); fix the row or \"columns\" in {spec.source}")
        raise DataError(f"{where}: no {role} column {column!r} (columns: {', '.join(map(str, row))}); "
                        f"set \"columns\": {{\"{role}\": ...}} in {spec.source}")
    return row[column]


def to_record(row: dict[Column, Any], where: str, spec: DatasetSpec, hub: bool = False) -> Record:
    """The text (its columns joined by a space) and raw label of one row, checked."""
    parts = [_column(row, column, where, "text", spec) for column in spec.text_columns(hub)]
    return make_record(parts, _column(row, spec.label_column(hub), where, "label", spec), where)


def make_record(parts: list[Any], label: Any, where: str) -> Record:
    """A record from text part(s) and a raw label, refusing non-strings, empty text or label, and
    over-long text."""
    if not all(isinstance(part, str) for part in parts):
        raise DataError(f"{where}: text {parts!r} is not a string")
    text = " ".join(parts)
    check_length(text, where)
    if not text.strip():
        raise DataError(f"{where}: empty text")
    if isinstance(label, str):
        label = label.strip()
    if isinstance(label, bool) or not isinstance(label, (str, int)) or label == "":
        raise DataError(f"{where}: label {label!r} is not a name or an integer")
    return Record(text, label, where)


def read_file(path: Path, spec: DatasetSpec) -> list[Record]:
    """Every row of one local file; an empty file is an error."""
    records = [to_record(row, where, spec) for row, where in _rows(path, spec)]
    if not records:
        raise DataError(f"{path}: the file has no rows; expected rows with a text and a label")
    return records


def read_line_pair(text_path: Path, label_path: Path) -> list[Record]:
    """One text per line in one file, its label on the same line of the other (tweet_eval's layout)."""
    texts, labels = lines(text_path), lines(label_path)
    if len(texts) != len(labels):
        raise DataError(f"{text_path} has {len(texts):,} lines but {label_path} has {len(labels):,}; "
                        "line N of the label file must hold the label of line N of the text file")
    records = [make_record([text], label, f"{text_path}:{i}")
               for i, (text, label) in enumerate(zip(texts, labels), start=1) if text.strip() or label.strip()]
    if not records:
        raise DataError(f"{text_path}: the file has no rows; expected one text per line")
    return records


def read_hub(spec: DatasetSpec) -> dict[str, tuple[list[Record], dict[str, Any]]]:
    """Each split the hub dataset has: its records (ClassLabel integers as names) and a source entry.
    Needs network access; the tests run offline with a fake ``load_dataset``."""
    import datasets

    try:
        ds = datasets.load_dataset(spec.hf_hub_url, spec.subset)
    except Exception as exc:  # noqa: BLE001 - the datasets library raises many types for "offline"
        raise DataError(f"could not load {spec.hf_hub_url} from the hub ({type(exc).__name__}: {str(exc)[:200]}); "
                        "offline, pass a folder with the files (make data DATA_DIR=...)") from None
    out = {}
    for split in SPLITS:
        if split not in ds:
            continue
        rows = ds[split]
        names = getattr(rows.features.get(spec.label_column(hub=True)), "names", None)
        records = []
        for i, row in enumerate(rows, start=1):
            record = to_record(row, f"{spec.hf_hub_url}[{split}] row {i}", spec, hub=True)
            if names is not None:
                record.label = names[int(record.label)]
            records.append(record)
        digest = hashlib.sha256("\n".join(f"{r.label}\t{r.text}" for r in records).encode()).hexdigest()
        out[split] = (records, {"hub": spec.hf_hub_url, "subset": spec.subset,
                                "fingerprint": getattr(rows, "_fingerprint", None),
                                "sha256_of_label_text_lines": digest, "rows": len(records)})
    return out
