"""Emotion through the generic path (data/dataset_info.json's entry), and the prepared form."""
import hashlib
import json

import pytest
from conftest import EMOTION_LABELS, REPO, SHARED_DATA

from core.io import sha256_file
from data_prep.common import DataError, split_name, split_parts
from data_prep.prepare import main, prepare
from data_prep.prepared import load_split
from data_prep.registry import dataset_spec


def test_prepared_form_round_trips(prepared_dir, emotion_raw_dir):
    info = json.loads((prepared_dir / "dataset_info.json").read_text())
    assert {"emotion_train", "emotion_validation", "emotion_test"} <= set(info)
    assert info["emotion_train"]["formatting"] == "alpaca"
    meta = json.loads((prepared_dir / "emotion" / "meta.json").read_text())
    assert meta["labels"] == EMOTION_LABELS
    assert meta["split_sizes"] == {"train": 96, "validation": 48, "test": 48}
    assert meta["sources"]["test"]["sha256"] == sha256_file(emotion_raw_dir / "test.txt")
    assert meta["split_labels"] == {} and "emotion expressed" in meta["instruction"]
    split = load_split(prepared_dir, "emotion_test")
    raw = (emotion_raw_dir / "test.txt").read_text().splitlines()
    text, _, label = raw[0].rpartition(";")
    assert (split.texts[0], split.label_names[split.labels[0]]) == (text, label)
    assert len(split) == 48 and len(load_split(prepared_dir, "emotion_test", limit=5)) == 5


def test_split_name_rule_round_trips():
    assert split_name("my-data", "validation") == "my-data_validation"
    assert split_parts(split_name("ag-news", "test")) == ("ag-news", "test")


def test_val_txt_is_accepted_for_validation(tmp_path, emotion_raw_dir):
    for name in ("train.txt", "test.txt"):
        (tmp_path / name).write_text((emotion_raw_dir / name).read_text())
    (tmp_path / "val.txt").write_text((emotion_raw_dir / "validation.txt").read_text())
    assert len(prepare(dataset_spec("emotion"), tmp_path, strict=False).splits["validation"]) == 48


@pytest.mark.parametrize("content, message", [
    ("i feel fine;joy\nno separator here\n", r"train\.txt:2: no ';' separator"),
    ("i feel fine;joy\ni feel odd;confused\n", r"train\.txt:2: unknown label 'confused'; expected one of sadness"),
    ("i feel fine;joy\ni feel great;Joy\n", r"train\.txt:2: label 'Joy' should be 'joy' \(labels are case-sensitive\)"),
    ("", "has no rows"),
    ("   ;joy\n", r"train\.txt:1: empty text"),
])
def test_malformed_lines_name_file_and_line(tmp_path, emotion_raw_dir, content, message):
    for name in ("validation.txt", "test.txt"):
        (tmp_path / name).write_text((emotion_raw_dir / name).read_text())
    (tmp_path / "train.txt").write_text(content)
    with pytest.raises(DataError, match=message) as err:
        prepare(dataset_spec("emotion"), tmp_path, strict=False)
    assert str(tmp_path / "train.txt") in str(err.value)


def test_registered_sizes_checksums_and_missing_split(tmp_path, emotion_raw_dir):
    for name in ("train.txt", "validation.txt", "test.txt"):
        (tmp_path / name).write_text((emotion_raw_dir / name).read_text())
    with pytest.raises(DataError, match="train split has 96 examples, expected 16,000 .*--any-copy"):
        prepare(dataset_spec("emotion"), tmp_path)
    (tmp_path / "test.txt").unlink()
    with pytest.raises(DataError, match=r"missing the test split \(looked for test\.txt"):
        prepare(dataset_spec("emotion"), tmp_path, strict=False)


def test_cli_reports_errors_without_traceback(tmp_path):
    with pytest.raises(SystemExit, match="^error: emotion data folder .*nowhere does not exist"):
        main(["emotion", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="^error: dataset 'emotoin' is not registered .*did you mean 'emotion'"):
        main(["emotoin", "--out", str(tmp_path / "out")])


def test_unregistered_dataset_name_is_named(prepared_dir):
    with pytest.raises(DataError, match="'emotion_tset' is not registered"):
        load_split(prepared_dir, "emotion_tset")


def test_hub_path_through_a_stand_in_loader(monkeypatch, tmp_path):
    """The hub code path (datasets.load_dataset) with a local stand-in: ClassLabel ids become names."""
    import datasets

    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=EMOTION_LABELS)})
    hub = datasets.DatasetDict({split: datasets.Dataset.from_dict(
        {"text": [f"{split} text {i}" for i in range(12)], "label": [i % 6 for i in range(12)]}, features=features)
        for split in ("train", "validation", "test")})
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *args: calls.append(args) or hub)
    dataset = prepare(dataset_spec("emotion"), None, strict=False)
    assert calls == [("dair-ai/emotion", "split")]
    assert [EMOTION_LABELS[e.label] for e in dataset.splits["test"][:2]] == ["sadness", "joy"]
    lines = "\n".join(f"{EMOTION_LABELS[i % 6]}\ttrain text {i}" for i in range(12))
    assert dataset.sources["train"]["sha256_of_label_text_lines"] == hashlib.sha256(lines.encode()).hexdigest()
    with pytest.raises(DataError, match=r"dair-ai/emotion\[train\]: train split has 12 examples, expected 16,000"):
        prepare(dataset_spec("emotion"), None)


def test_offline_hub_failure_is_one_line(monkeypatch):
    import datasets

    def offline(*args):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"could not load dair-ai/emotion from the hub \(ConnectionError"):
        prepare(dataset_spec("emotion"), None)


@pytest.mark.skipif(not (SHARED_DATA / "emotion" / "train.txt").is_file(), reason="needs the shared data copy")
def test_real_emotion_and_agnews_test_files_match_the_committed_results(tmp_path):
    """The prepared test files are byte-identical to those the committed results were scored on."""
    main(["emotion", "--data-dir", str(SHARED_DATA / "emotion"), "--out", str(tmp_path)])
    main(["agnews", "--data-dir", str(SHARED_DATA / "ag_news"), "--out", str(tmp_path)])
    for dataset, model in (("emotion", "minilm-l6"), ("agnews", "smollm2-135m")):
        committed = json.loads((REPO / "results" / dataset / model / "baseline.json").read_text())
        assert load_split(tmp_path, f"{dataset}_test").sha256 == committed["provenance"]["data_sha256"]
    meta = json.loads((tmp_path / "agnews" / "meta.json").read_text())
    assert meta["split_sizes"] == {"train": 6600, "test": 1000}
    assert json.loads((tmp_path / "emotion" / "meta.json").read_text())["split_sizes"] == {
        "train": 16000, "validation": 2000, "test": 2000}


def test_a_split_no_longer_prepared_is_unregistered(tmp_path):
    """Re-preparing a dataset without a validation split must not leave the old one registered."""
    import json

    from data_prep.common import Example, PreparedDataset, write_prepared

    rows = [Example("a", 0), Example("b", 1)]
    write_prepared(PreparedDataset("d", ["x", "y"], {"train": rows, "validation": rows}, "i"), tmp_path)
    write_prepared(PreparedDataset("other", ["x", "y"], {"train": rows}, "i"), tmp_path)
    write_prepared(PreparedDataset("d", ["x", "y"], {"train": rows, "test": rows}, "i"), tmp_path)
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert sorted(info) == ["d_test", "d_train", "other_train"]
