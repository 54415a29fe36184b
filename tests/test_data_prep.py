import json

import pytest

from data_prep.common import DataError, sha256_file
from data_prep.emotion import LABELS, from_local, main, read_split_file
from data_prep.prepared import load_split


def test_prepared_form_round_trips(prepared_dir, emotion_raw_dir):
    info = json.loads((prepared_dir / "dataset_info.json").read_text())
    assert {"emotion_train", "emotion_validation", "emotion_test"} <= set(info)
    assert info["emotion_train"]["formatting"] == "alpaca"
    meta = json.loads((prepared_dir / "emotion" / "meta.json").read_text())
    assert meta["labels"] == LABELS
    assert meta["split_sizes"] == {"train": 96, "validation": 48, "test": 48}
    assert meta["sources"]["test"]["sha256"] == sha256_file(emotion_raw_dir / "test.txt")
    split = load_split(prepared_dir, "emotion_test")
    raw = (emotion_raw_dir / "test.txt").read_text().splitlines()
    text, _, label = raw[0].rpartition(";")
    assert (split.texts[0], split.label_names[split.labels[0]]) == (text, label)
    assert len(split) == 48 and len(load_split(prepared_dir, "emotion_test", limit=5)) == 5


def test_val_txt_is_accepted_for_validation(tmp_path, emotion_raw_dir):
    for name in ("train.txt", "test.txt"):
        (tmp_path / name).write_text((emotion_raw_dir / name).read_text())
    (tmp_path / "val.txt").write_text((emotion_raw_dir / "validation.txt").read_text())
    assert len(from_local(tmp_path, strict_sizes=False).splits["validation"]) == 48


@pytest.mark.parametrize("content, message", [
    ("i feel fine;joy\nno separator here\n", "txt:2: no ';' separator"),
    ("i feel fine;joy\ni feel odd;confused\n", "txt:2: unknown label 'confused'"),
    ("", "is empty"),
    ("   ;joy\n", "txt:1: empty text"),
])
def test_malformed_lines_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "train.txt"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as err:
        read_split_file(path)
    assert str(path) in str(err.value)


def test_wrong_split_size_and_missing_split(tmp_path, emotion_raw_dir):
    for name in ("train.txt", "validation.txt", "test.txt"):
        (tmp_path / name).write_text((emotion_raw_dir / name).read_text())
    with pytest.raises(DataError, match="train split has 96 examples, expected 16,000"):
        from_local(tmp_path)
    (tmp_path / "test.txt").unlink()
    with pytest.raises(DataError, match="missing the test split"):
        from_local(tmp_path, strict_sizes=False)


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit, match="error: .*does not exist"):
        main(["--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])


def test_unregistered_dataset_name_is_named(prepared_dir):
    with pytest.raises(DataError, match="'emotion_tset' is not registered"):
        load_split(prepared_dir, "emotion_tset")
