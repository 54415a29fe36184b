"""The dataset registry: ``data/dataset_info.json``, one entry per dataset, in the spirit of
LLaMA-Factory's own ``dataset_info.json`` (``file_name`` or ``hf_hub_url``, ``subset``, a
``columns`` map), plus the keys a classifier needs (labels, splits, carving sizes).

Registering a dataset is editing that file, never code. ``DatasetSpec`` below is the one schema
of its keys; docs/datasets.md's reference is generated from it (``python -m data_prep.registry_docs``).
Unknown or ill-typed keys are errors naming entry and key, so a typo cannot silently fall back to
a default.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from data_prep.common import DataError

REGISTRY = Path(__file__).resolve().parent.parent / "data" / "dataset_info.json"
SPLITS = ("train", "validation", "test")
FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "txt")
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".parquet": "parquet",
              ".txt": "txt"}
DEFAULT_CARVE = 0.1
Column = str | int
SplitFile = str | dict[str, str]  # a file, or {"text": file, "label": file} read line by line in step


def schema_key(types: tuple[type, ...], value: str, help: str, **default: Any) -> Any:
    """A registry key: a field whose metadata holds the JSON types it accepts, the value to write
    (quoted when a value is ill-typed) and what it does (docs/datasets.md is generated from it)."""
    return field(metadata={"types": types, "value": value, "help": help}, **default)


@dataclass
class DatasetSpec:
    """One registry entry, validated. The fields declared with ``key`` are the registry's keys, in
    the order docs/datasets.md lists them; ``source`` names the entry in messages (file and entry)."""

    name: str
    source: str
    root: Path  # the registry's folder: relative file names resolve here when no data folder is given
    title: str = schema_key(
        (str,), "a display name, e.g. \"AG News\"",
        "How results and reports name the dataset (default: the entry's name).", default="")
    file_name: str | None = schema_key(
        (str,), "one file holding every row (splits are carved from it)",
        "One file with every row; validation and test are carved from it (`validation_size`, `test_size`).",
        default=None)
    splits: dict[str, list[SplitFile]] = schema_key(
        (dict,), "{\"train\": \"train.csv\", ...}; a list gives alternatives, "
                 "{\"text\": \"train_text.txt\", \"label\": \"train_labels.txt\"} a pair of line files",
        "Files per split (`train`, `validation`, `test`). A list gives alternatives (the first that exists is "
        "read); `{\"text\": ..., \"label\": ...}` is a pair of line files, line N of each belonging together. "
        "A split not given is carved from train.", default_factory=dict)
    hf_hub_url: str | None = schema_key(
        (str,), "a hub dataset id, e.g. \"dair-ai/emotion\"",
        "A hub dataset, read with `datasets.load_dataset` when no data folder is given; its ClassLabel ids "
        "become names.", default=None)
    subset: str | None = schema_key(
        (str,), "the hub dataset's config name", "The hub dataset's config name.",
        default=None)
    format: str | None = schema_key(
        (str,), " or ".join(FORMATS),
        f"File format: {', '.join(FORMATS)} (`json`: an array or JSON lines; `txt`: "
        "`text;label` lines split at the last `separator`). Default: from the extension.",
        default=None)
    header: bool | None = schema_key(
        (bool,), "true or false (csv/tsv: is the first row column names?)",
        "CSV/TSV: whether the first row holds column names (default true).", default=None)
    separator: str | None = schema_key(
        (str,), "one character, e.g. \";\"",
        "The field separator, one character (default: `,` for CSV, tab for TSV, `;` for "
        "txt).", default=None)
    columns: dict[str, Any] = schema_key(
        (dict,), "{\"text\": \"sentence\", \"label\": \"label\"} (names, or 0-based indices)",
        "Which columns hold the text and the label: names, or 0-based positions in files without names; "
        "`\"text\": [1, 2]` joins several columns with a space. Default: `text` and `label`.",
        default_factory=dict)
    labels: list[str] | None = schema_key(
        (list,), "the label names in id order, e.g. [\"negative\", \"positive\"]",
        "The label names in id order. Without it the order is the train split's (integers by value, names "
        "alphabetically).", default=None)
    label_names: list[str] | dict[str, str] | None = schema_key(
        (list, dict), "[\"neg\", \"pos\"] (index -> name) or {\"0\": \"neg\", \"1\": \"pos\"}",
        "Integer labels to names: a list (indexed from `label_index_base`) or a `{\"value\": \"name\"}` map. "
        "Not with `label_file`.", default=None)
    label_file: str | None = schema_key(
        (str,), "a .txt (one name per line) or .json (list or mapping) file of label names",
        "Integer labels to names from a file: `.txt` with a name per line or `value<TAB>name` lines, or `.json` "
        "(a list or a map).", default=None)
    label_index_base: int = schema_key(
        (int,), "0 or 1: the integer label of the first name in a names list",
        "The integer label of the first name in a names list.", default=0)
    validation_size: int | float = schema_key(
        (int, float), "rows (e.g. 500) or a fraction of train (e.g. 0.1); 0 = no validation",
        "When no validation file is given, carve one from train, stratified by class: rows, or a fraction of "
        "train; 0 means no validation split.", default=DEFAULT_CARVE)
    test_size: int | float = schema_key(
        (int, float), "rows or a fraction of train, used when no test file is given",
        "When no test file is given, carve one from train the same way.",
        default=DEFAULT_CARVE)
    seed: int = schema_key(
        (int,), "an integer (stratified carving)", "The seed of the stratified carving.", default=42)
    train_fallback: str | None = schema_key(
        (str,), "\"test\": without a train file, carve train from the test file",
        "`\"test\"`: when no train file is found, carve train from the test file (AG News offline).",
        default=None)
    expected_rows: dict[str, int] = schema_key(
        (dict,), "{\"train\": 16000, ...} rows of each source split",
        "Rows of each source split, checked while preparing unless `--any-copy` is given.",
        default_factory=dict)
    sha256: dict[str, str] = schema_key(
        (dict,), "{\"train.txt\": \"<sha256>\", ...} checksums of source files",
        "sha256 of each source file by file name, checked unless `--any-copy` is given.", default_factory=dict)
    instruction: str = schema_key(
        (str,), "the alpaca instruction; {labels} becomes the label list",
        "The alpaca instruction for LLaMA-Factory's SFT stage; `{labels}` becomes the label list.",
        default="Classify the text as one of: {labels}.")
    allow_outside_files: bool = schema_key(
        (bool,), "true: file names may leave the data folder (../ or absolute paths)",
        "File names are read inside the data folder only; `true` allows `../` or absolute paths (meta.json "
        "records the real path).", default=False)

    def text_columns(self, hub: bool = False) -> list[Column]:
        """The column(s) joined (by a space) into the text, e.g. AG News' title and description."""
        text = self._column("text", 0, hub)
        return text if isinstance(text, list) else [text]

    def label_column(self, hub: bool = False) -> Column:
        return self._column("label", 1, hub)

    def _column(self, role: str, position: int, hub: bool) -> Any:
        """``columns[role]``; by default the role's name, or its position in files without names
        (no header, ``text;label`` lines). Hub datasets have names: positions give way to defaults."""
        if hub:
            value = self.columns.get(role, role)
            return role if any(isinstance(v, int) for v in (value if isinstance(value, list) else [value])) else value
        return self.columns.get(role, position if self.header is False or self.format == "txt" else role)


# key -> (accepted JSON types, the value to write): the validator's view of the schema above.
KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    f.name: (f.metadata["types"], f.metadata["value"]) for f in fields(DatasetSpec) if "help" in f.metadata}


def _fail(spec_source: str, key: str, message: str) -> DataError:
    return DataError(f"{spec_source}: key '{key}': {message}")


def _check_column(source: str, key: str, value: Any, many: bool) -> None:
    values = value if many and isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
        raise _fail(source, key, f"{value!r} is not a column name or 0-based index"
                                 f"{' (or a list of them)' if many else ''}")


def _check_columns(source: str, key: str, columns: dict) -> None:
    for name, value in columns.items():
        if name not in ("text", "label"):
            raise _fail(source, f"{key}.{name}", "unknown column role; use \"text\" and \"label\"")
        _check_column(source, f"{key}.{name}", value, many=name == "text")


def _is_pair(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"text", "label"} and all(
        isinstance(v, str) and v for v in value.values())


def _check_sizes(source: str, key: str, value: int | float) -> None:
    if isinstance(value, float) and not 0 < value < 1 or isinstance(value, int) and value < 0:
        raise _fail(source, key, f"{value!r} is neither a row count >= 0 nor a fraction between 0 and 1")


def parse_entry(name: str, raw: Any, source: str, root: Path) -> DatasetSpec:
    """Validate one entry: every key known and well-typed, a data source given, splits named."""
    where = f"{source}: entry '{name}'"
    if not isinstance(raw, dict):
        raise DataError(f"{where} is {type(raw).__name__}, expected an object {{\"file_name\": ...}}")
    for key, value in raw.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(KEYS)}"
            raise _fail(where, key, f"unknown key ({hint})")
        types, expected = KEYS[key]
        if not isinstance(value, types) or isinstance(value, bool) and bool not in types:
            raise _fail(where, key, f"{value!r} is not valid; expected {expected}")
    if "_" in name or not name:
        raise DataError(f"{where}: dataset names may not contain '_' (it separates dataset and split, "
                        f"as in {name.replace('_', '-')}_train); rename the entry")
    if not any(key in raw for key in ("file_name", "splits", "hf_hub_url")):
        raise DataError(f"{where}: no data source; add \"file_name\", \"splits\" or \"hf_hub_url\"")
    splits = {}
    for split, files in raw.get("splits", {}).items():
        if split not in SPLITS:
            raise _fail(where, f"splits.{split}", f"unknown split; use {', '.join(SPLITS)}")
        files = files if isinstance(files, list) else [files]
        if not files or not all(isinstance(f, str) and f or _is_pair(f) for f in files):
            raise _fail(where, f"splits.{split}", f"{files!r} is not a file name, a list of alternatives, "
                                                  "or {\"text\": file, \"label\": file}")
        splits[split] = files
    if "file_name" in raw and splits:
        raise DataError(f"{where}: give either \"file_name\" (one file, splits carved) or \"splits\", not both")
    if raw.get("format", "csv") not in FORMATS:
        raise _fail(where, "format", f"{raw['format']!r} is not one of {', '.join(FORMATS)}")
    if len(raw.get("separator", ",")) != 1:
        raise _fail(where, "separator", f"{raw['separator']!r} is not one character")
    _check_columns(where, "columns", raw.get("columns", {}))
    for key in ("validation_size", "test_size"):
        _check_sizes(where, key, raw.get(key, DEFAULT_CARVE))
    if raw.get("train_fallback", "test") != "test":
        raise _fail(where, "train_fallback", f"{raw['train_fallback']!r}: only \"test\" is supported")
    if "label_names" in raw and "label_file" in raw:
        raise DataError(f"{where}: give \"label_names\" or \"label_file\", not both")
    return DatasetSpec(name=name, source=where, root=root, splits=splits, title=raw.get("title", name),
                       **{k: v for k, v in raw.items() if k not in ("splits", "title")})


def load_registry(path: Path = REGISTRY) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset registry {path} not found; create it (see docs/datasets.md)")
    try:
        registry = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(registry, dict):
        raise DataError(f"{path}: expected an object of dataset entries, got {type(registry).__name__}")
    return registry


def dataset_spec(name: str, path: Path = REGISTRY) -> DatasetSpec:
    """The validated entry ``name`` of the registry at ``path``."""
    registry = load_registry(path)
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise DataError(f"dataset '{name}' is not registered in {path}; {hint}registered: {', '.join(registry)}")
    return parse_entry(name, registry[name], str(path), Path(path).parent)
