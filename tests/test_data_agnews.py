"""AG News through the generic path: headerless CSV, 1-based class indices named by classes.txt,
title + description joined, and offline (test.csv only) a held-out test carved from test.csv."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_registry import prepare_into

from data_prep.common import DataError, Example
from data_prep.prepare import main, prepare
from data_prep.prepared import load_split
from data_prep.registry import dataset_spec
from data_prep.splits import class_quotas, stratified_split

LABELS = ["World", "Sports", "Business", "Sci/Tech"]
ROWS = [("3", "Stocks fall", "Markets slid on Monday."), ("1", "Summit ends", "Leaders met in Geneva."),
        ("2", "Cup final", "The home side won 2-1."), ("4", "New chip", "A faster CPU was announced.")]


def write_csv(folder: Path, rows, name: str = "test.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ['"' + '","'.join(field.replace('"', '""') for field in row) + '"' for row in rows]
    (folder / name).write_text("\n".join(lines) + "\n")
    (folder / "classes.txt").write_text("\n".join(LABELS) + "\n")
    return folder / name


def many(n: int, prefix: str = "t") -> list[tuple[str, str, str]]:
    return [(str(i % 4 + 1), f"{prefix} title {i}", f"description {i}") for i in range(n)]


def agnews(folder: Path, **kwargs):
    return prepare(dataset_spec("agnews"), folder, strict=False, **kwargs)


def test_csv_rows_join_title_and_description(tmp_path):
    write_csv(tmp_path, ROWS * 3, "train.csv")
    write_csv(tmp_path, ROWS)
    dataset = agnews(tmp_path)
    assert dataset.splits["test"][0] == Example(text="Stocks fall Markets slid on Monday.", label=2)
    assert [LABELS[e.label] for e in dataset.splits["test"]] == ["Business", "World", "Sports", "Sci/Tech"]


@pytest.mark.parametrize("bad_row, message", [
    (("5", "t", "d"), r"label '5' is not in .*classes\.txt \(1=World, 2=Sports"),
    (("2", "only two"), "2 fields, no column 2 for the text"),
    (("2", " ", " "), "empty text"),
])
def test_bad_rows_name_file_and_line(tmp_path, bad_row, message):
    write_csv(tmp_path, [*many(8), bad_row])
    with pytest.raises(DataError, match=rf"test\.csv:9: {message}"):
        agnews(tmp_path)


def test_missing_folder_file_and_misordered_classes(tmp_path):
    with pytest.raises(DataError, match="agnews data folder .* does not exist"):
        agnews(tmp_path / "nope")
    with pytest.raises(DataError, match=r"missing the test split \(looked for test\.csv"):
        agnews(tmp_path)
    write_csv(tmp_path, many(8))
    (tmp_path / "classes.txt").write_text("Sports\nWorld\nBusiness\nSci/Tech\n")
    with pytest.raises(DataError, match="classes.txt lists .* would be misread"):
        agnews(tmp_path)


def test_stratified_split_is_balanced_disjoint_and_seeded():
    examples = [Example(f"text {i}", i % 4) for i in range(100)]
    rest, held = stratified_split(examples, 20, 4, 42, "here")
    assert len(held) == 20 and len(rest) == 80
    assert [sum(e.label == c for e in held) for c in range(4)] == [5, 5, 5, 5]
    assert not {e.text for e in held} & {e.text for e in rest}
    assert stratified_split(examples, 20, 4, 42, "here")[1] == held
    assert stratified_split(examples, 20, 4, 7, "here")[1] != held
    with pytest.raises(DataError, match="here: cannot hold out 100 of 100 rows"):
        stratified_split(examples, 100, 4, 42, "here")


def test_class_quotas_are_proportional_and_leave_every_class_in_train():
    assert class_quotas([50, 30, 20], 10) == [5, 3, 2]
    assert class_quotas([1, 1, 8], 5) == [0, 0, 4]  # proportional 0.5/0.5/4 -> rounding, never the last example
    assert sum(class_quotas([7, 5, 3], 6)) == 6


def test_offline_prepare_carves_train_and_held_out_test_from_test_csv(tmp_path):
    write_csv(tmp_path / "ag", many(40))
    spec = dataset_spec("agnews")
    spec.test_size = 8
    out = prepare_into(spec, tmp_path / "out", tmp_path / "ag", strict=False)
    meta = json.loads((out / "agnews/meta.json").read_text())
    assert meta["split_sizes"] == {"train": 32, "test": 8}  # every row not held out trains; no validation
    assert meta["split_labels"]["test"] == ("AG News held-out subset of test.csv (8 of 40 rows, stratified, "
                                            "seed 42; not the official AG News test set)")
    assert "train.csv (120,000 rows) was not available" in meta["notes"]
    test, train = load_split(out, "agnews_test"), load_split(out, "agnews_train")
    assert sorted(test.labels) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert not set(test.texts) & set(train.texts)


def test_with_train_csv_the_official_test_stays_whole_and_validation_is_opt_in(tmp_path):
    write_csv(tmp_path, many(12), "test.csv")
    write_csv(tmp_path, many(40, "r"), "train.csv")
    dataset = agnews(tmp_path)
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 40, "test": 12}
    assert dataset.split_labels == {} and dataset.notes == ""
    spec = dataset_spec("agnews")
    spec.validation_size = 4
    dataset = prepare(spec, tmp_path, strict=False)
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 36, "validation": 4, "test": 12}
    assert dataset.split_labels["validation"] == "AG News validation part of train.csv (4 of 40 rows)"


def test_cli_reports_errors_without_traceback(tmp_path):
    write_csv(tmp_path, [("9", "t", "d")])
    with pytest.raises(SystemExit, match=r"^error: .*test\.csv:1"):
        main(["agnews", "--data-dir", str(tmp_path), "--out", str(tmp_path / "out"), "--any-copy"])
