"""Ordinary public datasets registered without code: the shapes of SST-2, TREC, tweet_eval's
emotion (text file + integer label file + mapping), string-label JSONL, headerless TSV, Parquet."""
from __future__ import annotations

import json

import pytest
from data_registry import prepare_into, register, write_lines

from data_prep.common import DataError
from data_prep.prepared import load_split

WORDS = ["good", "bad", "fine", "awful", "great", "poor"]


def sentences(n: int, tag: str = "") -> list[str]:
    return [f"{tag}the {WORDS[i % len(WORDS)]} film number {i}" for i in range(n)]


def sizes(out, name: str) -> dict[str, int]:
    return json.loads((out / name / "meta.json").read_text())["split_sizes"]


def test_sst2_like_csv_integer_labels_validation_carved(tmp_path):
    rows = [f'"{s}",{i % 2}' for i, s in enumerate(sentences(60))]
    write_lines(tmp_path / "sst2/train.csv", ["sentence,label", *rows])
    write_lines(tmp_path / "sst2/test.csv", ["sentence,label", *[f"{s},{i % 2}" for i, s in enumerate(sentences(10, "t "))]])
    spec = register(tmp_path, "sst2", {"splits": {"train": "sst2/train.csv", "test": "sst2/test.csv"},
                                       "columns": {"text": "sentence", "label": "label"}})
    out = prepare_into(spec, tmp_path / "out")
    assert sizes(out, "sst2") == {"train": 54, "validation": 6, "test": 10}
    split = load_split(out, "sst2_validation")
    assert split.label_names == ["0", "1"] and sorted(split.labels) == [0, 0, 0, 1, 1, 1]
    meta = json.loads((out / "sst2/meta.json").read_text())
    assert meta["split_labels"]["validation"] == "sst2 validation part of train.csv (6 of 60 rows)"
    assert "test" not in meta["split_labels"]


def test_trec_like_named_columns_and_a_names_list(tmp_path):
    coarse = ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]
    write_lines(tmp_path / "trec.jsonl", [json.dumps({"text": f"question {i}?", "coarse_label": i % 6, "fine_label": i})
                                          for i in range(120)])
    spec = register(tmp_path, "trec", {"file_name": "trec.jsonl", "columns": {"text": "text", "label": "coarse_label"},
                                       "label_names": coarse, "test_size": 30, "validation_size": 0.1})
    out = prepare_into(spec, tmp_path / "out")
    assert sizes(out, "trec") == {"train": 78, "validation": 12, "test": 30}
    test = load_split(out, "trec_test")
    assert test.label_names == coarse and [test.labels.count(c) for c in range(6)] == [5] * 6


def test_tweet_eval_like_text_file_label_file_and_mapping(tmp_path):
    """The issue's case: 4 labels none of which emotion knows ('optimism'), ids in a mapping file."""
    names = ["anger", "joy", "optimism", "sadness"]
    folder = tmp_path / "raw"
    write_lines(folder / "mapping.txt", [f"{i}\t{name}" for i, name in enumerate(names)])
    for split, n in (("train", 40), ("val", 8), ("test", 12)):
        write_lines(folder / f"{split}_text.txt", sentences(n, f"{split} "))
        write_lines(folder / f"{split}_labels.txt", [str(i % 4) for i in range(n)])
    spec = register(tmp_path, "tweetemo", {
        "splits": {s: {"text": f"{f}_text.txt", "label": f"{f}_labels.txt"}
                   for s, f in (("train", "train"), ("validation", "val"), ("test", "test"))},
        "label_file": "mapping.txt"})
    out = prepare_into(spec, tmp_path / "out", folder)
    test = load_split(out, "tweetemo_test")
    assert test.label_names == names and test.label_names[test.labels[2]] == "optimism"
    assert test.texts[0] == "test the good film number 0"
    meta = json.loads((out / "tweetemo/meta.json").read_text())
    assert meta["sources"]["train"]["label_path"].endswith("train_labels.txt")
    write_lines(folder / "test_labels.txt", ["0"] * 11)
    with pytest.raises(DataError, match=r"test_text\.txt has 12 lines but .*test_labels\.txt has 11"):
        prepare_into(spec, tmp_path / "out", folder)


def test_jsonl_string_labels_one_file_everything_carved(tmp_path):
    labels = ["positive", "negative", "neutral"]
    write_lines(tmp_path / "reviews.jsonl", [json.dumps({"review": s, "sentiment": labels[i % 3]})
                                             for i, s in enumerate(sentences(90))])
    spec = register(tmp_path, "reviews", {"file_name": "reviews.jsonl",
                                          "columns": {"text": "review", "label": "sentiment"}})
    out = prepare_into(spec, tmp_path / "out")
    assert sizes(out, "reviews") == {"train": 72, "validation": 9, "test": 9}
    test = load_split(out, "reviews_test")
    assert test.label_names == sorted(labels)  # taken from train: alphabetical
    assert test.meta["split_labels"]["test"] == "reviews held-out subset of reviews.jsonl (9 of 90 rows, stratified, seed 42)"
    assert not set(test.texts) & set(load_split(out, "reviews_train").texts)


def test_headerless_tsv_columns_by_position_and_declared_labels(tmp_path):
    write_lines(tmp_path / "train.tsv", [f"{['spam', 'ham'][i % 2]}\t{s}" for i, s in enumerate(sentences(40))])
    write_lines(tmp_path / "test.tsv", [f"{['spam', 'ham'][i % 2]}\t{s}" for i, s in enumerate(sentences(8, "x "))])
    spec = register(tmp_path, "sms", {"splits": {"train": "train.tsv", "test": "test.tsv"}, "header": False,
                                      "columns": {"label": 0, "text": 1}, "labels": ["ham", "spam"],
                                      "validation_size": 0})
    out = prepare_into(spec, tmp_path / "out")
    assert sizes(out, "sms") == {"train": 40, "test": 8}
    assert load_split(out, "sms_test").labels[:2] == [1, 0]


def test_parquet_and_json_array(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {"text": sentences(30), "label": [["a", "b", "c"][i % 3] for i in range(30)]}
    pq.write_table(pa.table(rows), tmp_path / "train.parquet")
    (tmp_path / "test.json").write_text(json.dumps([{"text": f"q {i}", "label": "abc"[i % 3]} for i in range(6)]))
    spec = register(tmp_path, "pq", {"splits": {"train": "train.parquet", "test": "test.json"}})
    out = prepare_into(spec, tmp_path / "out")
    assert sizes(out, "pq") == {"train": 27, "validation": 3, "test": 6}
    assert load_split(out, "pq_test").labels == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("n_labels", [2, 50])
def test_two_to_fifty_labels(tmp_path, n_labels):
    names = [f"class{i:02d}" for i in range(n_labels)]
    write_lines(tmp_path / "d.csv", ["text,label", *[f"row {i} {names[i % n_labels]},{names[i % n_labels]}"
                                                     for i in range(20 * n_labels)]])
    spec = register(tmp_path, "many", {"file_name": "d.csv"})
    out = prepare_into(spec, tmp_path / "out")
    test = load_split(out, "many_test")
    assert test.label_names == names and len(set(test.labels)) == n_labels
