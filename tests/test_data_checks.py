"""Each check before training has a test: bad bytes, over-long lines, missing columns, empty
splits, labels train lacks, wrong case, broken prepared files, and the two warnings."""
from __future__ import annotations

import json

import pytest
from data_registry import prepare_into, register, write_lines

from data_prep.common import DataError
from data_prep.prepare import prepare
from data_prep.prepared import check_same_labels, load_split
from data_prep.readers import MAX_LINE_CHARS
from data_prep.registry import dataset_spec

HEADER = "text,label"


def rows(n: int, labels=("pos", "neg"), tag: str = "") -> list[str]:
    return [f"{tag}text number {i},{labels[i % len(labels)]}" for i in range(n)]


def csv_dataset(tmp_path, train: list[str], test: list[str], **entry):
    write_lines(tmp_path / "train.csv", [HEADER, *train])
    write_lines(tmp_path / "test.csv", [HEADER, *test])
    return register(tmp_path, "toy", {"splits": {"train": "train.csv", "test": "test.csv"}, "validation_size": 0,
                                      **entry})


def test_non_utf8_bytes_name_file_and_line(tmp_path):
    spec = csv_dataset(tmp_path, rows(6), rows(4, tag="t "))
    (tmp_path / "test.csv").write_bytes(b"text,label\nfine,pos\ncaf\xe9 au lait,neg\n")
    with pytest.raises(DataError, match=r"test\.csv:3: byte 0xe9 at column 4 is not UTF-8; re-save the file as UTF-8"):
        prepare(spec)


def test_utf8_bom_is_dropped_from_the_first_text(tmp_path):
    (tmp_path / "train.txt").write_bytes("\ufeffi feel fine;joy\ni feel low;sadness\n".encode())
    (tmp_path / "test.txt").write_text("i am ok;joy\ni am sad;sadness\n")
    spec = register(tmp_path, "bom", {"splits": {"train": "train.txt", "test": "test.txt"}, "format": "txt",
                                      "validation_size": 0})
    assert prepare(spec).splits["train"][0].text == "i feel fine"


def test_a_line_over_the_limit_is_refused_with_file_and_line(tmp_path):
    long_line = "x" * (MAX_LINE_CHARS + 1) + ",pos"
    spec = csv_dataset(tmp_path, [*rows(4), long_line], rows(4, tag="t "))
    with pytest.raises(DataError, match=rf"train\.csv:6: line is {len(long_line):,} characters long, over the "
                                        rf"{MAX_LINE_CHARS:,} limit"):
        prepare(spec)


def test_a_long_json_text_is_refused_with_file_and_line(tmp_path):
    long_line = json.dumps({"text": "y" * (MAX_LINE_CHARS + 1), "label": "a"})
    write_lines(tmp_path / "d.jsonl", [json.dumps({"text": "ok", "label": "a"}), long_line])
    spec = register(tmp_path, "long", {"file_name": "d.jsonl"})
    with pytest.raises(DataError, match=rf"d\.jsonl:2: line is {len(long_line):,} characters long"):
        prepare(spec)


@pytest.mark.parametrize("columns, message", [
    ({"text": "sentence"}, r"train\.csv:2: no text column 'sentence' \(columns: text, label\); set \"columns\""),
    ({"label": "gold"}, r"train\.csv:2: no label column 'gold' \(columns: text, label\)"),
])
def test_a_missing_column_names_the_key_to_set(tmp_path, columns, message):
    spec = csv_dataset(tmp_path, rows(6), rows(4, tag="t "), columns=columns)
    with pytest.raises(DataError, match=message) as err:
        prepare(spec)
    assert "entry 'toy'" in str(err.value)


def test_empty_split_file_and_empty_carved_split(tmp_path):
    spec = csv_dataset(tmp_path, rows(6), [])
    with pytest.raises(DataError, match=r"test\.csv: the file has no rows"):
        prepare(spec)
    write_lines(tmp_path / "one.csv", [HEADER, *rows(6)])
    spec = register(tmp_path, "tiny", {"file_name": "one.csv", "test_size": 0.01})
    with pytest.raises(DataError, match=r"key 'test_size': cannot hold out 0 of 6 rows"):
        prepare(spec)


def test_test_label_unseen_in_train_is_an_error(tmp_path):
    spec = csv_dataset(tmp_path, rows(6), [*rows(3, tag="t "), "a new kind,optimism"])
    with pytest.raises(DataError, match=r"test\.csv:5: unknown label 'optimism'; expected one of neg, pos; "
                                        r"labels come from the train split"):
        prepare(spec)
    spec = csv_dataset(tmp_path, rows(6), [*rows(3, tag="t "), "a new kind,maybe"], labels=["pos", "neg", "maybe"])
    with pytest.raises(DataError, match=r"test\.csv:5: label 'maybe' of toy_test never occurs in toy_train "
                                        r"\(1 test rows with maybe\)"):
        prepare(spec)


def test_integer_labels_against_declared_names_ask_for_a_mapping(tmp_path):
    spec = csv_dataset(tmp_path, rows(6, ("0", "1")), rows(4, ("0", "1"), tag="t "), labels=["neg", "pos"])
    with pytest.raises(DataError, match=r"train\.csv:2: unknown label '0'; .*need \"label_names\" or \"label_file\""):
        prepare(spec)


def test_wrong_case_says_what_is_expected(tmp_path):
    spec = csv_dataset(tmp_path, rows(6), ["shouty,POS", *rows(3, tag="t ")])
    with pytest.raises(DataError, match=r"test\.csv:2: label 'POS' should be 'pos' \(labels are case-sensitive\)"):
        prepare(spec)


def test_warnings_count_absent_test_classes_and_duplicates(tmp_path):
    spec = csv_dataset(tmp_path, rows(9, ("a", "b", "c")), ["text number 0,a", "text number 4,b", "fresh,a"])
    warnings = prepare(spec).warnings
    assert warnings == [
        "toy_test has no examples of 1 of 3 classes (c): its macro-F1 averages the 2 classes present "
        "(each result says so)",
        f"2 texts of toy_test also occur in toy_train (first: {tmp_path / 'test.csv'}:2)",
    ]
    out = prepare_into(spec, tmp_path / "out")
    assert json.loads((out / "toy" / "meta.json").read_text())["warnings"] == warnings


@pytest.fixture
def prepared_toy(tmp_path):
    return prepare_into(csv_dataset(tmp_path, rows(6), rows(4, tag="t ")), tmp_path / "out")


def test_missing_meta_json_or_label2id_is_one_line(prepared_toy):
    meta_path = prepared_toy / "toy" / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["label2id"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"meta\.json: no 'label2id' key; re-run make data DATASET=toy"):
        load_split(prepared_toy, "toy_test")
    meta_path.unlink()
    with pytest.raises(DataError, match=r"meta\.json not found \(it holds toy_test's labels\); re-run make data"):
        load_split(prepared_toy, "toy_test")


def test_prepared_label_in_wrong_case_or_unknown(prepared_toy):
    path = prepared_toy / "toy" / "test.json"
    data = json.loads(path.read_text())
    data[1]["output"] = "NEG"
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"test\.json: row 2: label 'NEG' should be 'neg'"):
        load_split(prepared_toy, "toy_test")
    path.write_text("[{")
    with pytest.raises(DataError, match=r"test\.json:1: not valid JSON"):
        load_split(prepared_toy, "toy_test")


def test_load_split_refuses_eval_labels_train_never_shows(prepared_toy):
    meta_path = prepared_toy / "toy" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["class_counts"]["train"]["neg"] = 0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"toy_test has labels that toy_train never shows \(neg\)"):
        load_split(prepared_toy, "toy_test")
    assert len(load_split(prepared_toy, "toy_train")) == 6


def test_train_and_eval_labels_must_agree_in_order(prepared_toy, prepared_dir):
    train = load_split(prepared_toy, "toy_train")
    check_same_labels(train, load_split(prepared_toy, "toy_test"))
    with pytest.raises(DataError, match=r"eval_dataset emotion_validation has labels \[.*\], dataset toy_train has \['neg', 'pos'\].*eval_dataset=toy_validation"):
        check_same_labels(train, load_split(prepared_dir, "emotion_validation"))


@pytest.mark.parametrize("entry, message", [
    ({"file_name": "a.csv", "colums": {}}, "key 'colums': unknown key \\(did you mean 'columns'\\?\\)"),
    ({"file_name": "a.csv", "validation_size": 1.5}, "key 'validation_size': 1.5 is neither"),
    ({"file_name": "a.csv", "header": "yes"}, "key 'header': 'yes' is not valid; expected true or false"),
    ({"splits": {"dev": "a.csv"}}, "key 'splits.dev': unknown split"),
    ({"labels": ["a"]}, "no data source"),
])
def test_registry_mistakes_name_entry_and_key(tmp_path, entry, message):
    with pytest.raises(DataError, match=rf"entry 'bad'.*{message}"):
        register(tmp_path, "bad", entry)


def test_dataset_names_may_not_contain_the_split_separator(tmp_path):
    with pytest.raises(DataError, match="may not contain '_' .* rename the entry"):
        register(tmp_path, "my_data", {"file_name": "a.csv"})


def test_the_shipped_registry_is_valid():
    assert dataset_spec("emotion").labels[0] == "sadness" and dataset_spec("agnews").test_size == 1000


def test_a_long_parquet_text_is_refused_with_file_and_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["ok", "z" * (MAX_LINE_CHARS + 1)], "label": ["a", "b"]}), tmp_path / "d.parquet")
    spec = register(tmp_path, "long", {"file_name": "d.parquet"})
    with pytest.raises(DataError, match=rf"d\.parquet: row 2: text is {MAX_LINE_CHARS + 1:,} characters long"):
        prepare(spec)
