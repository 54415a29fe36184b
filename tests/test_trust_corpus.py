"""Bad and hostile inputs at every trust boundary, as a corpus: one row per case (what is changed,
what must happen). Add a case by adding a row; the builders make the input, the test asserts the
outcome and that nothing was written where it does not belong.

Boundaries: names that become paths (core/names.py), a downloaded release manifest, a model
folder's variant.json and files, a release being packed, a registry entry's files and labels, a
resumed training run, and the paths that results and commands record.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from data_registry import register, write_lines
from test_checkpoints import make_checkpoint

from core.names import UnsafeName, VariantId, name_problem
from core.paths import REPO, portable_values
from data_prep.common import DataError, Example, PreparedDataset, write_prepared
from data_prep.prepare import prepare
from data_prep.prepared import load_split
from eval.evaluate import evaluate_folder, write_result
from glue.folder.manifest import MANIFEST, Manifest, VariantError
from glue.folder.variant import load_variant
from publish.fetch import fetch_variant, read_manifest
from publish.manifest import MANIFEST_NAME, PublishError
from publish.pack import pack
from seqcls.checkpoints import RUN_RECORD, CheckpointError, start_run

KEY = "emotion/tiny-bert/baseline"
URL = "https://github.com/someone/compression-recipes/releases/download/v1"
OK = None  # expected outcome of a row that must be accepted


def escaped(root: Path) -> list[Path]:
    """Files or folders named ``escaped*`` anywhere under ``root``: what a hostile input tried to create."""
    return [p for p in root.rglob("*") if p.name.startswith("escaped")]


# --- names -----------------------------------------------------------------------------------

NAME_ROWS = [
    ("emotion", OK), ("minilm-l6", OK), ("ptq_static", OK), ("v1.2", OK), ("..hidden", OK),
    ("", "not a non-empty name"), (None, "not a non-empty name"), (3, "not a non-empty name"),
    (".", "not a plain name"), ("..", "not a plain name"), ("a/b", "not a plain name"),
    ("../x", "not a plain name"), ("/abs", "not a plain name"), ("a\\b", "not a plain name"),
    ("a\0b", "not a plain name"),
]


@pytest.mark.parametrize("value, expected", NAME_ROWS)
def test_plain_name_rule(value, expected):
    problem = name_problem(value)
    assert problem == expected if expected is None else expected in problem


@pytest.mark.parametrize("names, expected", [
    (("emotion", "tiny-bert", "baseline"), OK),
    (("emotion", "tiny-bert", "../../../escaped"), r"key 'variant': '\.\./\.\./\.\./escaped' is not a plain name"),
    (("..", "tiny-bert", "baseline"), r"key 'dataset': '\.\.'"),
    (("emotion", "a/b", "baseline"), r"key 'model_tag': 'a/b'"),
    (("emotion", "tiny-bert", ""), r"key 'variant': '' is not a non-empty name"),
])
def test_variant_id_checks_its_names(names, expected, tmp_path):
    if expected is None:
        identity = VariantId(*names)
        assert identity.result_path(tmp_path) == tmp_path / "emotion" / "tiny-bert" / "baseline.json"
        assert identity.folder(tmp_path) == tmp_path / "emotion" / "tiny-bert" / "baseline"
        return
    with pytest.raises(UnsafeName, match=expected):
        VariantId(*names, where="variant.json")


def test_variant_id_result_path_refuses_a_linked_folder(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "results" / "emotion").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeName, match="outside"):
        VariantId("emotion", "m", "v").result_path(tmp_path / "results")


# --- a downloaded release manifest -------------------------------------------------------------

def _file(n: int, key: str, value) -> Callable[[dict], str]:
    def change(manifest: dict) -> str:
        manifest["variants"][KEY]["files"][n][key] = value
        return KEY
    return change


def _rekey(new: str, **entry) -> Callable[[dict], str]:
    def change(manifest: dict) -> str:
        manifest["variants"][new] = {**manifest["variants"].pop(KEY), **entry}
        return new
    return change


def _entry(**entry) -> Callable[[dict], str]:
    def change(manifest: dict) -> str:
        manifest["variants"][KEY].update(entry)
        return KEY
    return change


RELEASE_ROWS = [
    ("intact", lambda m: KEY, OK),
    ("file climbs out", _file(0, "file", "../../../../escaped.json"), r"files\[0\]\.file': '\.\./.*not a plain name"),
    ("file absolute", _file(0, "file", "/tmp/escaped.json"), r"files\[0\]\.file': '/tmp/escaped\.json' is not a plain"),
    ("file empty", _file(0, "file", ""), r"files\[0\]\.file': '' is not a non-empty name"),
    ("file in a subfolder", _file(0, "file", "sub/escaped.json"), r"files\[0\]\.file': 'sub/escaped.json'"),
    ("asset climbs out", _file(0, "asset", "../escaped"), r"files\[0\]\.asset': '\.\./escaped'"),
    ("size is a string", _file(0, "size", "123"), r"files\[0\]\.size': '123' is not a whole number of bytes"),
    ("size negative", _file(0, "size", -1), r"files\[0\]\.size': -1 is not a whole number"),
    ("size boolean", _file(0, "size", True), r"files\[0\]\.size': True is not a whole number"),
    ("sha256 short", _file(0, "sha256", "abc"), r"files\[0\]\.sha256': 'abc' is not a sha256 hex digest"),
    ("key climbs out", _rekey("../../escaped", dataset="..", model_tag="..", variant="escaped"),
     r"key 'dataset': '\.\.' is not a plain name"),
    ("key of two names", _rekey("emotion/escaped"), r"variant key 'emotion/escaped' is not <dataset>/<model_tag>"),
    ("key with a backslash", _rekey("emotion/..\\escaped/x"), r"key 'model_tag': '\.\.\\\\escaped'"),
    ("entry names another variant", _entry(variant="escaped"), r"describes emotion/tiny-bert/escaped"),
    ("sha256 of another file", _file(0, "sha256", "0" * 64), r"checksum error: .* has sha256 .*nothing was loaded"),
    ("size of another file", _file(0, "size", 1), r"checksum error: .* bytes, the manifest says 1"),
    ("files not a list", _entry(files="escaped"), r"files is not a list"),
    ("file entry not an object", _entry(files=["escaped"]), r"files\[0\] lacks file, asset, size, sha256"),
]


@pytest.fixture(scope="module")
def release(tiny_bert_dir: Path, tmp_path_factory) -> Path:
    """A packed release of the tiny baseline (read-only: rows copy it)."""
    root = tmp_path_factory.mktemp("release")
    models = root / "models"
    shutil.copytree(tiny_bert_dir, models / "emotion" / "tiny-bert" / "baseline")
    pack(models, root / "out", URL, "nb.ipynb")
    return root / "out"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A localhost HTTP server over a temporary folder: (base URL, folder)."""
    root = tmp_path_factory.mktemp("served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


@pytest.mark.parametrize("case, change, expected", RELEASE_ROWS, ids=[row[0] for row in RELEASE_ROWS])
def test_hostile_release_manifest(case, change, expected, release, server, tmp_path):
    base, served = server
    folder = served / re.sub(r"\W+", "-", case)
    shutil.copytree(release, folder)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    key = change(manifest)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    url, dest = f"{base}/{folder.name}", tmp_path / "dl" / "inner"
    if expected is None:
        assert load_variant(fetch_variant(read_manifest(url), url, key, dest)).labels
        return
    with pytest.raises(PublishError, match=expected):
        fetch_variant(read_manifest(url), url, key, dest)
    assert not dest.exists() and not escaped(tmp_path)


@pytest.mark.parametrize("case, change, expected", RELEASE_ROWS[1:4], ids=[row[0] for row in RELEASE_ROWS[1:4]])
def test_fetch_checks_a_manifest_it_did_not_parse(case, change, expected, release, tmp_path):
    manifest = read_manifest(str(release))
    key = change(manifest)  # edited after it was read: fetch_variant checks again
    with pytest.raises(PublishError, match=expected):
        fetch_variant(manifest, str(release), key, tmp_path / "dl")
    assert not (tmp_path / "dl").exists() and not escaped(tmp_path)


def test_fetch_refuses_a_download_folder_linked_elsewhere(release, tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "escaped").mkdir()
    (tmp_path / "dl" / "emotion").symlink_to(tmp_path / "escaped")
    with pytest.raises(PublishError, match="outside"):
        fetch_variant(read_manifest(str(release)), str(release), KEY, tmp_path / "dl")
    assert not list((tmp_path / "escaped").iterdir())


# --- a model folder: variant.json names, weights, tokenizer, loader ----------------------------

def _set(**changes) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        manifest = json.loads((folder / MANIFEST).read_text())
        manifest.update(changes)
        (folder / MANIFEST).write_text(json.dumps(manifest))
    return change


def _drop(key: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        manifest = json.loads((folder / MANIFEST).read_text())
        del manifest[key]
        (folder / MANIFEST).write_text(json.dumps(manifest))
    return change


def _zero_tail(name: str, fraction: float = 0.25) -> Callable[[Path], None]:
    """Same size, last part overwritten with zeros: the framing check cannot see it."""
    def change(folder: Path) -> None:
        data = bytearray((folder / name).read_bytes())
        data[-int(len(data) * fraction):] = bytes(int(len(data) * fraction))
        (folder / name).unlink()  # the tiny baseline may be a hard link
        (folder / name).write_bytes(bytes(data))
    return change


def _copy(src: str, dst: str) -> Callable[[Path], None]:
    return lambda folder: shutil.copy(folder / src, folder / dst)


def _remove_tokenizer(folder: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)


FOLDER_ROWS = [
    ("intact", lambda folder: None, OK),
    ("variant climbs out", _set(variant="../../../escaped"), r"key 'variant': '\.\./\.\./\.\./escaped' is not a plain"),
    ("variant absolute", _set(variant="/tmp/escaped"), r"key 'variant': '/tmp/escaped'"),
    ("dataset climbs out", _set(dataset=".."), r"key 'dataset': '\.\.'"),
    ("model_tag with a separator", _set(model_tag="escaped/x"), r"key 'model_tag': 'escaped/x'"),
    ("weights tail zeroed", _zero_tail("model.safetensors"), r"model\.safetensors has sha256 .*damaged or replaced"),
    ("weight file added", _copy("model.safetensors", "escaped.safetensors"),
     r"escaped\.safetensors: weight files variant\.json does not record"),
    ("recorded weight missing", _set(weights_sha256={"gone.safetensors": "0" * 64}), r"gone\.safetensors is missing"),
    ("checksum names a path", _set(weights_sha256={"../model.safetensors": "0" * 64}), r"not a plain file name"),
    ("checksums not a mapping", _set(weights_sha256=["x"]), r"'weights_sha256' must map file names"),
    ("no tokenizer files", _remove_tokenizer, r"no tokenizer files"),
    ("loader is not a loader", _set(loader="glue.folder.variant:load_variant"), r"not a model-folder loader"),
    ("loader is a class", _set(loader="glue.folder.variant:Variant"), r"not a model-folder loader"),
    ("loader is a helper", _set(loader="glue.quant.loader:get_method"), r"not a model-folder loader"),
    ("manifest older than checksums", _drop("weights_sha256"), OK),
]


@pytest.mark.parametrize("case, change, expected", FOLDER_ROWS, ids=[row[0] for row in FOLDER_ROWS])
def test_model_folder(case, change, expected, tiny_bert_dir, prepared_dir, tmp_path, capsys):
    folder = Path(shutil.copytree(tiny_bert_dir, tmp_path / "models" / "emotion" / "tiny-bert" / "baseline"))
    change(folder)
    results = tmp_path / "box" / "results"
    if expected is None:
        result = evaluate_folder(folder, dataset_dir=prepared_dir, results_dir=results, limit=8, latency=False)
        assert write_result(result, results) == results / "emotion" / "tiny-bert" / "baseline.json"
        assert ("records no weight checksums" in capsys.readouterr().err) == (case == "manifest older than checksums")
        return
    with pytest.raises(VariantError, match=expected):
        evaluate_folder(folder, dataset_dir=prepared_dir, results_dir=results, limit=8, latency=False)
    assert not results.exists() and not escaped(tmp_path / "box")


@pytest.mark.parametrize("key, value", [("variant", "../escaped"), ("dataset", "/escaped"), ("model_tag", "a/b"),
                                        ("variant", "")])
def test_a_manifest_naming_a_path_is_never_written(key, value, tmp_path):
    manifest = Manifest(method="m", loader="glue.folder.variant:load_hf_classifier", labels=["a", "b"], **{key: value})
    with pytest.raises(VariantError, match=f"key '{key}'"):
        manifest.write(tmp_path)
    assert not (tmp_path / MANIFEST).exists()


# --- packing a release ---------------------------------------------------------------------------

def _link(name: str, target: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        outside = folder.parent.parent.parent.parent / target
        outside.write_text("secret")
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(outside)
    return change


PACK_ROWS = [
    ("stray text file is not shipped", lambda f: (f / "notes.txt").write_text("private"), OK),
    ("stray link is not shipped", _link("escaped.txt", "outside.txt"), OK),
    ("contract file is a link", _link("vocab.txt", "outside.txt"), r"vocab\.txt: a symbolic link"),
    ("weights damaged after writing", _zero_tail("model.safetensors"), r"model\.safetensors has sha256 .*rebuild"),
]


@pytest.mark.parametrize("case, change, expected", PACK_ROWS, ids=[row[0] for row in PACK_ROWS])
def test_pack(case, change, expected, tiny_bert_dir, tmp_path):
    folder = Path(shutil.copytree(tiny_bert_dir, tmp_path / "models" / "emotion" / "tiny-bert" / "baseline"))
    change(folder)
    if expected is None:
        manifest = pack(tmp_path / "models", tmp_path / "out", URL, "nb.ipynb")
        shipped = {item["file"] for item in manifest["variants"][KEY]["files"]}
        assert MANIFEST in shipped and "model.safetensors" in shipped
        assert not shipped & {"notes.txt", "escaped.txt"}
        assert not any(p.is_symlink() for p in (tmp_path / "out").iterdir())
        return
    with pytest.raises(PublishError, match=expected):
        pack(tmp_path / "models", tmp_path / "out", URL, "nb.ipynb")
    assert not (tmp_path / "out").exists()


# --- a registry entry's files ----------------------------------------------------------------------

TRAIN = [f"text {i};{'joy' if i % 2 else 'sadness'}" for i in range(12)]
TEST = [f"held out {i};{'joy' if i % 2 else 'sadness'}" for i in range(6)]
BASE = {"format": "txt", "separator": ";", "validation_size": 0}


def _outside(name: str = "train.txt") -> str:
    return f"../outside/{name}"


REGISTRY_ROWS = [
    ("plain names", {"splits": {"train": "train.txt", "test": "test.txt"}}, OK),
    ("a subfolder", {"splits": {"train": "sub/train.txt", "test": "test.txt"}}, OK),
    ("split climbs out", {"splits": {"train": _outside(), "test": "test.txt"}},
     r"key 'splits\.train': '\.\./outside/train\.txt' climbs out of its folder.*allow_outside_files"),
    ("split absolute", {"splits": {"train": "<abs>", "test": "test.txt"}},
     r"key 'splits\.train': '/.*' is an absolute path"),
    ("split through a link", {"splits": {"train": "linked.txt", "test": "test.txt"}},
     r"key 'splits\.train': .*outside"),
    ("pair climbs out", {"splits": {"train": {"text": _outside(), "label": "l.txt"}, "test": "test.txt"}},
     r"key 'splits\.train\.text'"),
    ("alternative climbs out", {"splits": {"train": ["train.txt", _outside()], "test": "test.txt"}},
     r"key 'splits\.train\[1\]'"),
    ("file_name climbs out", {"file_name": _outside()}, r"key 'file_name': '\.\./outside/train\.txt'"),
    ("file_name missing", {"file_name": "nope.txt"}, r"nope\.txt: not found .*key 'file_name'"),
    ("label_file climbs out", {"splits": {"train": "train.txt", "test": "test.txt"}, "label_file": _outside("l.txt")},
     r"key 'label_file'"),
    ("outside allowed", {"splits": {"train": _outside(), "test": "test.txt"}, "allow_outside_files": True}, OK),
]


def _data(tmp_path: Path) -> Path:
    """data/ (train.txt, sub/train.txt, test.txt, linked.txt -> ../outside/train.txt) and outside/."""
    data = tmp_path / "data"
    for path in (data / "train.txt", data / "sub" / "train.txt", tmp_path / "outside" / "train.txt"):
        write_lines(path, TRAIN)
    write_lines(data / "test.txt", TEST)
    (data / "linked.txt").symlink_to(tmp_path / "outside" / "train.txt")
    return data


@pytest.mark.parametrize("case, entry, expected", REGISTRY_ROWS, ids=[row[0] for row in REGISTRY_ROWS])
def test_registry_files(case, entry, expected, tmp_path):
    data = _data(tmp_path)
    entry = json.loads(json.dumps(entry).replace('"<abs>"', json.dumps(str(tmp_path / "outside" / "train.txt"))))
    spec = register(tmp_path / "registry", "toy", {**BASE, **entry})
    if expected is None:
        dataset = prepare(spec, data)
        recorded = dataset.sources["train"]["path"]
        assert not os.path.isabs(recorded) and (data / recorded).resolve().read_text().startswith("text 0")
        return
    with pytest.raises(DataError, match=expected):
        prepare(spec, data)


@pytest.mark.parametrize("file_name, expected", [
    ("toy/train.json", OK),
    ("../escaped.json", r"key 'toy_train\.file_name': '\.\./escaped\.json' climbs out.*re-run make data"),
    ("/tmp/escaped.json", r"key 'toy_train\.file_name': '/tmp/escaped\.json' is an absolute path"),
    (None, r"key 'toy_train\.file_name': None is not a non-empty path"),
])
def test_prepared_dataset_info(file_name, expected, tmp_path):
    data = _prepared(tmp_path / "data", ["a", "b", "c", "d"])
    info = json.loads((data / "dataset_info.json").read_text())
    info["toy_train"]["file_name"] = file_name
    (data / "dataset_info.json").write_text(json.dumps(info))
    if expected is None:
        assert len(load_split(data, "toy_train")) == 4
        return
    with pytest.raises(DataError, match=expected):
        load_split(data, "toy_train")


# --- labels ------------------------------------------------------------------------------------------

def _rows(labels: list[str], n: int = 12) -> list[str]:
    return [f"text {i};{labels[i % len(labels)]}" for i in range(n)]


LABEL_ROWS = [
    ("declared", _rows(["joy", "sadness"]), {"labels": ["joy", "sadness"]}, OK),
    ("labels repeated", _rows(["joy", "sadness"]), {"labels": ["joy", "sadness", "joy"]},
     r"key 'labels'.*'joy' is listed 2 times"),
    ("label_names repeated", _rows(["0", "1"]), {"label_names": ["neg", "pos", "neg"]},
     r"key 'label_names'.*'neg' is listed 2 times"),
    ("label file repeated", _rows(["0", "1"]), {"label_file": "names.txt"}, r"names\.txt.*'neg' is listed 2 times"),
    ("one class", _rows(["joy"]), {}, r"1 class \(joy\); a classifier needs at least two"),
    ("one class declared", _rows(["joy"]), {"labels": ["joy"]}, r"1 class"),
    ("case variants", _rows(["joy", "sadness", "Joy"]), {},
     r"labels 'Joy' \(4 rows\), 'joy' \(4 rows\) differ only in case"),
    ("case variants declared", _rows(["joy", "sadness", "Joy"]), {"labels": ["Joy", "joy", "sadness"]}, OK),
    ("case variant of a declared label", _rows(["joy", "sadness", "Joy"]), {"labels": ["joy", "sadness"]},
     r"label 'Joy' should be 'joy'"),
]


@pytest.mark.parametrize("case, train, entry, expected", LABEL_ROWS, ids=[row[0] for row in LABEL_ROWS])
def test_labels(case, train, entry, expected, tmp_path):
    write_lines(tmp_path / "train.txt", train)
    write_lines(tmp_path / "test.txt", train[:6])
    write_lines(tmp_path / "names.txt", ["neg", "pos", "neg"])
    spec = register(tmp_path, "toy", {**BASE, "splits": {"train": "train.txt", "test": "test.txt"}, **entry})
    if expected is None:
        assert sorted(prepare(spec).labels) == sorted(entry["labels"])
        return
    with pytest.raises(DataError, match=expected):
        prepare(spec)


# --- resuming a training run ------------------------------------------------------------------------

def _prepared(out: Path, texts: list[str]) -> Path:
    examples = [Example(text, i % 2) for i, text in enumerate(texts)]
    splits = {"train": examples, "validation": examples[:2]}
    write_prepared(PreparedDataset("toy", ["a", "b"], splits, "Classify."), out)
    return out


RECIPE = {"dataset": "toy_train", "eval_dataset": "toy_validation", "learning_rate": 1e-4, "output_dir": "x"}
RESUME_ROWS = [
    ("nothing changed", {}, None, OK),
    ("only where it logs", {"output_dir": "y", "logging_steps": 5}, None, OK),
    ("train data changed", {}, ["another text", "b", "c", "d"],
     r"other data \(toy_train: sha256 .*overwrite_output_dir=true"),
    ("recipe changed", {"learning_rate": 2e-4}, None,
     r"another recipe \(learning_rate: 0\.0001 -> 0\.0002\).*overwrite_output_dir=true"),
]


@pytest.mark.parametrize("case, recipe_change, new_texts, expected", RESUME_ROWS, ids=[row[0] for row in RESUME_ROWS])
def test_resume(case, recipe_change, new_texts, expected, tmp_path):
    data = _prepared(tmp_path / "data", ["a", "b", "c", "d"])
    recipe = {**RECIPE, "dataset_dir": str(data)}
    first = start_run(recipe, tmp_path / "work")
    folder = make_checkpoint(tmp_path / "work", 4, first.fingerprint)
    record = json.loads((folder / RUN_RECORD).read_text())
    (folder / RUN_RECORD).write_text(json.dumps({**record, "inputs": first.inputs}))  # as RunRecord.on_save writes it
    if new_texts:
        _prepared(data, new_texts)
    if expected is None:
        assert start_run({**recipe, **recipe_change}, tmp_path / "work").resumed_from == str(folder)
        return
    with pytest.raises(CheckpointError, match=expected):
        start_run({**recipe, **recipe_change}, tmp_path / "work")
    assert folder.is_dir()  # refused, nothing removed


# --- paths that results and commands record -------------------------------------------------------

ABSOLUTE = re.compile(r"(^|[\s=(\"'])/")
PATH_ROWS = [
    ("a command with paths", f"llamafactory-cli train {REPO}/recipes/baseline_minilm.yaml output_dir=/tmp/x/o",
     "llamafactory-cli train recipes/baseline_minilm.yaml output_dir=o"),
    ("a note naming a file", "no /tmp/r/emotion/m/baseline.json: evaluate the baseline first",
     "no baseline.json: evaluate the baseline first"),
    ("a quoted path", 'dataset_dir="/data/x"', 'dataset_dir="x"'),
    ("a URL is kept", "https://example.org/a/b", "https://example.org/a/b"),
    ("relative paths are kept", "outputs/models/emotion Sci/Tech", "outputs/models/emotion Sci/Tech"),
]


@pytest.mark.parametrize("case, text, expected", PATH_ROWS, ids=[row[0] for row in PATH_ROWS])
def test_recorded_text_holds_no_absolute_path(case, text, expected):
    assert portable_values({"command": text}) == {"command": expected}


def test_a_manifest_and_its_result_hold_no_absolute_path(tiny_bert_dir, prepared_dir, tmp_path):
    folder = Path(shutil.copytree(tiny_bert_dir, tmp_path / "models" / "emotion" / "tiny-bert" / "baseline"))
    manifest = Manifest.read(folder)
    manifest.command = f"python -m glue.quantize {tmp_path}/r.yaml output_dir={folder}"
    manifest.write(folder)
    results = tmp_path / "results"
    path = write_result(evaluate_folder(folder, dataset_dir=prepared_dir, results_dir=results, limit=8,
                                        latency=False), results)
    for text in ((folder / MANIFEST).read_text(), path.read_text()):
        assert str(tmp_path) not in text
    assert not ABSOLUTE.search(json.loads(path.read_text())["command"])
