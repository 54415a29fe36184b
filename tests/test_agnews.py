"""AG News preparation: CSV parsing, validation errors, the offline stratified split."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep import agnews
from data_prep.common import DataError, Example
from data_prep.prepared import load_split

ROWS = [("3", "Stocks fall", "Markets slid on Monday."), ("1", "Summit ends", "Leaders met in Geneva."),
        ("2", "Cup final", "The home side won 2-1."), ("4", "New chip", "A faster CPU was announced.")]


def write_csv(folder: Path, rows, name: str = "test.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ['"' + '","'.join(field.replace('"', '""') for field in row) + '"' for row in rows]
    (folder / name).write_text("\n".join(lines) + "\n")
    return folder / name


def test_read_csv_joins_title_and_description(tmp_path):
    examples = agnews.read_csv_file(write_csv(tmp_path, ROWS))
    assert examples[0] == Example(text="Stocks fall Markets slid on Monday.", label=2)  # class 3 = Business
    assert [agnews.LABELS[e.label] for e in examples] == ["Business", "World", "Sports", "Sci/Tech"]


@pytest.mark.parametrize("bad_row, message", [
    (("5", "t", "d"), "class index '5' is not 1-4"),
    (("2", "only two"), "2 fields, expected 3"),
    (("2", " ", " "), "empty title and description"),
])
def test_bad_rows_name_file_and_line(tmp_path, bad_row, message):
    path = write_csv(tmp_path, [ROWS[0], ROWS[1], bad_row])
    with pytest.raises(DataError, match=rf"test\.csv:3: .*{message}"):
        agnews.read_csv_file(path)


def test_missing_folder_and_file_and_wrong_classes(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        agnews.from_local(tmp_path / "nope", 4, 4)
    with pytest.raises(DataError, match="missing test.csv"):
        agnews.from_local(tmp_path, 4, 4)
    write_csv(tmp_path, ROWS)
    (tmp_path / "classes.txt").write_text("Sports\nWorld\nBusiness\nSci/Tech\n")
    with pytest.raises(DataError, match="would be misread"):
        agnews.from_local(tmp_path, 4, 4)


def balanced(n_per_class: int) -> list[Example]:
    return [Example(f"text {i}", i % 4) for i in range(4 * n_per_class)]


def test_stratified_split_is_balanced_disjoint_and_seeded():
    examples = balanced(25)
    rest, held = agnews.stratified_split(examples, 20)
    assert len(held) == 20 and len(rest) == 80
    assert [sum(e.label == c for e in held) for c in range(4)] == [5, 5, 5, 5]
    assert not {e.text for e in held} & {e.text for e in rest}
    assert agnews.stratified_split(examples, 20)[1] == held
    assert agnews.stratified_split(examples, 20, seed=7)[1] != held
    with pytest.raises(DataError, match="not a multiple of 4"):
        agnews.stratified_split(examples, 10)


def test_offline_prepare_labels_every_split_as_a_subset(tmp_path):
    rows = [(str(i % 4 + 1), f"title {i}", f"description {i}") for i in range(40)]
    write_csv(tmp_path / "ag", rows)
    agnews.main(["--data-dir", str(tmp_path / "ag"), "--out", str(tmp_path / "out"),
                 "--test-size", "8", "--validation-size", "4"])
    meta = json.loads((tmp_path / "out/agnews/meta.json").read_text())
    assert meta["split_sizes"] == {"train": 28, "validation": 4, "test": 8}
    assert "held-out subset of test.csv" in meta["split_labels"]["test"]
    assert "not the official" in meta["split_labels"]["test"] and "train.csv" in meta["notes"]
    test = load_split(tmp_path / "out", "agnews_test")
    train = load_split(tmp_path / "out", "agnews_train")
    assert len(test) == 8 and sorted(test.labels) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert not set(test.texts) & set(train.texts)


def test_with_train_csv_the_official_test_stays_whole(tmp_path):
    write_csv(tmp_path, [(str(i % 4 + 1), f"t{i}", "d") for i in range(12)], "test.csv")
    write_csv(tmp_path, [(str(i % 4 + 1), f"r{i}", "d") for i in range(40)], "train.csv")
    dataset = agnews.from_local(tmp_path, 8, 4)
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 36, "validation": 4, "test": 12}
    assert dataset.split_labels == {} and dataset.notes == ""


def test_cli_reports_errors_without_traceback(tmp_path):
    write_csv(tmp_path, [("9", "t", "d")])
    with pytest.raises(SystemExit, match=r"^error: .*test\.csv:1"):
        agnews.main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "out")])
