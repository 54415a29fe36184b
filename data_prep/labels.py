"""Label names and ids: raw labels (names, or integers with a names list or mapping) become
names, and names become ids in one order, declared in the registry or taken from train.

Labels are case-sensitive (``Joy`` is not ``joy``); a label that differs from a known one only in
case gets an error that says which spelling is expected. Without a declared list, train labels
that differ only in case are an error too (docs/decisions.md): declaring both in ``labels`` is how
to say they are distinct classes. A list of names with a repeat, or fewer than two classes, is an
error: a repeat adds a phantom class or merges two, and one class is not a classification task.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from data_prep.common import DataError, Example
from data_prep.files import entry_file
from data_prep.readers import Record, decode
from data_prep.registry import DatasetSpec


def unknown_label(label: str, known: Iterable[str], where: str, fix: str) -> DataError:
    """The error for a label outside ``known``, with the expected spelling when only case differs."""
    known = list(known)
    same = [k for k in known if k.lower() == label.lower()]
    if same:
        return DataError(f"{where}: label {label!r} should be {same[0]!r} (labels are case-sensitive)")
    shown = ", ".join(known[:50]) + (f", ... ({len(known)} in all)" if len(known) > 50 else "")
    return DataError(f"{where}: unknown label {label!r}; expected one of {shown}; {fix}")


def _numeric_first(name: str) -> tuple[int, int | str]:
    """Sort key: integer-like names by value (2 before 10), then the rest alphabetically."""
    return (0, int(name)) if name.lstrip("-").isdigit() else (1, name)


def _names_from_lines(rows: list[str]) -> list[str] | dict[str, str]:
    """One name per line, or ``value<TAB>name`` on every line (tweet_eval's mapping.txt)."""
    pairs = [row.split("\t") for row in rows]
    return {p[0].strip(): p[1].strip() for p in pairs} if rows and all(len(p) == 2 for p in pairs) else rows


@dataclass
class LabelNames:
    """What the registry declares about names: a raw -> name mapping (from ``label_names`` or
    ``label_file``) and the declared order, if any."""

    mapping: dict[str, str]
    order: list[str]
    source: str

    @classmethod
    def from_spec(cls, spec: DatasetSpec, folder: Path) -> LabelNames:
        names, source = spec.label_names, f"{spec.source}: key 'label_names'"
        if spec.label_file:
            path = entry_file(spec, folder, spec.label_file, "label_file")
            if not path.is_file():
                raise DataError(f"{path}: label file not found ({spec.source}: key 'label_file')")
            source, text = str(path), decode(path)
            if path.suffix.lower() == ".json":
                try:
                    names = json.loads(text)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
            else:
                names = _names_from_lines([line.strip() for line in text.splitlines() if line.strip()])
        if spec.labels is not None:
            _check_repeats(spec.labels, f"{spec.source}: key 'labels'")
        if isinstance(names, list):
            _check_repeats([str(name) for name in names], source)
            mapping = {str(spec.label_index_base + i): str(name) for i, name in enumerate(names)}
        elif isinstance(names, dict):
            mapping = {str(key): str(name) for key, name in names.items()}
        elif names is None:
            mapping = {}
        else:
            raise DataError(f"{source}: expected a list of names or a {{value: name}} mapping")
        order = list(dict.fromkeys(mapping.values()))
        if spec.labels is not None:
            if isinstance(names, list) and order != spec.labels:
                raise DataError(f"{source} lists {order}, but {spec.source} declares labels {spec.labels}: "
                                "the integer labels would be misread; make the two agree")
            order = list(spec.labels)
        return cls(mapping, order, source)

    def name(self, record: Record) -> str:
        """The label name of a record: mapped when a mapping exists (names pass through)."""
        raw = str(record.label)
        if not self.mapping or raw in self.order:
            return raw
        if raw not in self.mapping:
            pairs = ", ".join(f"{k}={v}" for k, v in list(self.mapping.items())[:20])
            raise DataError(f"{record.where}: label {raw!r} is not in {self.source} ({pairs})")
        return self.mapping[raw]


def _check_repeats(names: list[str], source: str) -> None:
    repeated = [name for name, n in Counter(names).items() if n > 1]
    if repeated:
        raise DataError(f"{source}: {repeated[0]!r} is listed {names.count(repeated[0])} times; each class is named "
                        "once (a repeat adds a class no row has, or gives two ids one name): remove the repeat")


def label_order(names: LabelNames, train: list[Record]) -> list[str]:
    """Declared order, else the train split's names, integers by value, the rest alphabetically."""
    counts = Counter(names.name(r) for r in train)
    order = names.order or sorted(counts, key=_numeric_first)
    where = names.source if names.order else (train[0].where.rpartition(":")[0] if train else "train split")
    if not names.order:
        by_case: dict[str, list[str]] = {}
        for label in order:
            by_case.setdefault(label.casefold(), []).append(label)
        clash = next((group for group in by_case.values() if len(group) > 1), None)
        if clash:
            shown = ", ".join(f"{label!r} ({counts[label]:,} rows)" for label in clash)
            raise DataError(f"{where}: labels {shown} differ only in case; correct the rows to one spelling, or "
                            "declare \"labels\" in the registry entry listing each if they are distinct classes")
    if len(order) < 2:
        raise DataError(f"{where}: {len(order)} class ({', '.join(order) or 'none'}); a classifier needs at least "
                        "two: add rows of the other classes, or declare them in \"labels\"")
    return order


def encode(records: list[Record], names: LabelNames, labels: list[str], train_source: str) -> list[Example]:
    """Records as examples with label ids; a label outside ``labels`` names its row."""
    label2id = {label: i for i, label in enumerate(labels)}
    fix = ("add it to \"labels\" in the registry entry" if names.order
           else f"labels come from the train split ({train_source}): add train examples of it or drop the row")
    examples = []
    for record in records:
        name = names.name(record)
        if name not in label2id:
            integer = name.lstrip("-").isdigit() and not names.mapping
            raise unknown_label(name, labels, record.where, "integer labels need \"label_names\" or "
                                "\"label_file\" in the registry entry to name them" if integer else fix)
        examples.append(Example(text=record.text, label=label2id[name], where=record.where))
    return examples
