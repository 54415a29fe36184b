"""publish/: packing refuses what cannot be trusted (pickles, placeholder URL), the manifest
describes exactly the files shipped, and fetching verifies before a folder appears."""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from glue.folder.manifest import Manifest
from glue.folder.variant import load_variant
from publish.fetch import ChecksumError, fetch_variant, read_manifest
from publish.manifest import MANIFEST_NAME, PublishError, asset_name, parse, release_of
from publish.pack import check_weights_only, pack
from publish.pack import main as pack_main

URL = "https://github.com/someone/compression-recipes/releases/download/v9.9"


@pytest.fixture()
def models(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    """A models tree holding the tiny baseline plus the files training leaves behind."""
    root = tmp_path / "models"
    folder = root / "emotion" / "tiny-bert" / "baseline"
    shutil.copytree(tiny_bert_dir, folder)
    (folder / "trainer_state.json").write_text("{}")
    (folder / "README.md").write_text("model card")
    (folder / "checkpoint-1").mkdir()
    return root


def test_release_url_gives_repo_and_tag():
    assert release_of(URL) == {"repo": "someone/compression-recipes", "tag": "v9.9"}
    assert release_of("http://127.0.0.1:8000/x") is None


def test_pack_describes_exactly_the_shipped_files(models, tmp_path):
    out = tmp_path / "release"
    manifest = pack(models, out, URL, "A2_Doe_Jane.ipynb")
    entry = manifest["variants"]["emotion/tiny-bert/baseline"]
    source = models / "emotion" / "tiny-bert" / "baseline"
    assert {f["file"] for f in entry["files"]} == {p.name for p in source.iterdir() if p.is_file()} - {
        "trainer_state.json", "README.md"}
    for item in entry["files"]:
        data = (out / item["asset"]).read_bytes()
        assert item["asset"] == asset_name("emotion/tiny-bert/baseline", item["file"])
        assert (len(data), hashlib.sha256(data).hexdigest()) == (item["size"], item["sha256"])
    assert entry["devices"] == ["cuda", "cpu"] and manifest["base_url"] == URL
    assert parse((out / MANIFEST_NAME).read_text(), "x") == manifest
    stamped = json.loads((out / "A2_Doe_Jane.ipynb").read_text())
    code = "".join(line for cell in stamped["cells"] for line in cell["source"])
    assert json.dumps({"weights": URL, "repo": "https://github.com/someone/compression-recipes", "tag": "v9.9"}) in code
    assert not list(tmp_path.glob(".release.tmp-*"))


def test_pack_refuses_the_placeholder_url(models, tmp_path):
    with pytest.raises(SystemExit, match="error: RELEASE_URL .* is the placeholder: set it in mk/publish.mk"):
        pack_main(["--models", str(models), "--out", str(tmp_path / "o"),
                   "--base-url", "https://github.com/OWNER/REPO/releases/download/v0.1.0"])


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pickle", "model.pth"])
def test_pack_refuses_pickled_weights(models, tmp_path, name):
    bad = models / "emotion" / "tiny-bert" / "baseline" / name
    torch.save({"w": torch.zeros(2)}, bad)
    Manifest.read(bad.parent).write(bad.parent)  # recorded in variant.json, so only its format is wrong
    with pytest.raises(PublishError, match=rf"{re.escape(name)}: pickled weights are not published"):
        pack(models, tmp_path / "o", URL, "nb.ipynb")
    assert not (tmp_path / "o").exists()


def test_pack_refuses_a_pt_file_that_needs_unpickling(models, tmp_path):
    folder = models / "emotion" / "tiny-bert" / "baseline"
    torch.save(argparse.Namespace(weights=torch.zeros(2)), folder / "state.pt")
    Manifest.read(folder).write(folder)
    with pytest.raises(PublishError, match=r"state\.pt: not loadable with torch.load\(weights_only=True\)"):
        pack(models, tmp_path / "o", URL, "nb.ipynb")


def test_a_pt_file_refused_without_a_message_is_still_one_line(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise EOFError()  # torch's errors do not always say anything

    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(PublishError, match=r"state\.pt: not loadable with torch.load\(weights_only=True\) \(EOFError\)"):
        check_weights_only(tmp_path / "state.pt")


def test_pack_refuses_two_folders_that_claim_one_variant(models, tmp_path):
    tiny = models / "emotion" / "tiny-bert"
    shutil.copytree(tiny / "baseline", tiny / "baseline_old")  # its variant.json still says "baseline"
    with pytest.raises(PublishError, match=r"baseline_old/variant.json and .*/baseline/variant.json both describe "
                                           "emotion/tiny-bert/baseline"):
        pack(models, tmp_path / "o", URL, "nb.ipynb")


def test_fetch_verifies_then_loads(models, tmp_path):
    out = tmp_path / "release"
    pack(models, out, URL, "nb.ipynb")
    manifest = read_manifest(str(out))  # a local folder works like a URL
    folder = fetch_variant(manifest, str(out), "emotion/tiny-bert/baseline", tmp_path / "dl")
    texts = ["i am happy", "i am sad"]
    torch.testing.assert_close(load_variant(folder).logits(texts),
                               load_variant(models / "emotion" / "tiny-bert" / "baseline").logits(texts))
    assert fetch_variant(manifest, str(out), "emotion/tiny-bert/baseline", tmp_path / "dl") == folder  # cached


def test_fetch_stops_on_a_tampered_file_and_leaves_no_folder(models, tmp_path):
    out = tmp_path / "release"
    manifest = pack(models, out, URL, "nb.ipynb")
    weights = next(f for f in manifest["variants"]["emotion/tiny-bert/baseline"]["files"]
                   if f["file"] == "model.safetensors")
    (out / weights["asset"]).unlink()  # a hard link to the model folder: replace, do not edit in place
    (out / weights["asset"]).write_bytes(b"\0" * weights["size"])
    with pytest.raises(ChecksumError, match=f"checksum error: {weights['asset']} .*sha256 .*nothing was loaded"):
        fetch_variant(manifest, str(out), "emotion/tiny-bert/baseline", tmp_path / "dl")
    assert not (tmp_path / "dl" / "emotion" / "tiny-bert" / "baseline").exists()
    assert not list((tmp_path / "dl").rglob("*.safetensors"))


def test_fetch_names_what_the_release_holds(models, tmp_path):
    out = tmp_path / "release"
    manifest = pack(models, out, URL, "nb.ipynb")
    with pytest.raises(PublishError, match="emotion/tiny-bert/qat is not in this release; it holds: "
                                           "emotion/tiny-bert/baseline"):
        fetch_variant(manifest, str(out), "emotion/tiny-bert/qat", tmp_path / "dl")
    with pytest.raises(PublishError, match="HTTP|cannot download"):
        read_manifest(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ('{"schema": 0, "variants": {}}', "schema 0, expected 1"),
    ('{"schema": 1, "variants": {"a/b/c": {"files": []}}}', "variants.a/b/c lacks dataset"),
    ('{"schema": 1, "variants": {"a/b/c": {"dataset": "a", "model_tag": "b", "variant": "c", "method": "m", '
     '"devices": [], "files": [{"file": "x"}]}}}', r"variants.a/b/c.files\[0\] lacks asset, size, sha256"),
])
def test_a_broken_manifest_names_the_key(text, message):
    with pytest.raises(PublishError, match=f"where.json: {message}"):
        parse(text, "where.json")
