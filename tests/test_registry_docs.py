"""The registry's keys are declared once (data_prep.registry.DatasetSpec); docs/datasets.md's key
reference is generated from them and must not go stale."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core import docblocks
from data_prep import registry_docs
from data_prep.common import DataError
from data_prep.registry import KEYS, DatasetSpec, parse_entry


def test_the_committed_reference_is_current() -> None:
    text = registry_docs.DOCS.read_text()
    assert docblocks.stale(text, registry_docs.KIND, {registry_docs.KEY: registry_docs.reference()}) == [], \
        "run python -m data_prep.registry_docs"


def test_every_key_is_a_documented_field_and_nothing_else() -> None:
    documented = [f.name for f in dataclasses.fields(DatasetSpec) if "help" in f.metadata]
    assert list(KEYS) == documented
    reference = registry_docs.reference()
    assert all(f"| `{key}` (" in reference for key in documented)
    assert not {"name", "source", "root"} & set(KEYS)


def test_a_stale_reference_fails_the_check_and_is_rewritten(tmp_path: Path) -> None:
    doc = tmp_path / "datasets.md"
    doc.write_text("# D\n<!-- registry:keys:begin -->\n| old |\n<!-- registry:keys:end -->\n")
    with pytest.raises(SystemExit, match="out of date"):
        registry_docs.main(["--docs", str(doc), "--check"])
    registry_docs.main(["--docs", str(doc)])
    registry_docs.main(["--docs", str(doc), "--check"])
    assert registry_docs.reference() in doc.read_text()


def test_a_document_without_the_block_is_an_error(tmp_path: Path) -> None:
    doc = tmp_path / "datasets.md"
    doc.write_text("# no block\n")
    with pytest.raises(SystemExit, match="registry:keys:begin"):
        registry_docs.main(["--docs", str(doc)])


def test_the_schema_drives_validation(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'header'.*expected true or false"):
        parse_entry("d", {"file_name": "a.csv", "header": "yes"}, "reg.json", tmp_path)
    with pytest.raises(DataError, match="did you mean 'label_file'"):
        parse_entry("d", {"file_name": "a.csv", "label_fil": "x.txt"}, "reg.json", tmp_path)
    spec = parse_entry("d", {"file_name": "a.csv"}, "reg.json", tmp_path)
    assert (spec.seed, spec.validation_size, spec.label_index_base) == (42, 0.1, 0)
