"""Weight files are checked before anything loads them, so a damaged or unsafe folder is a
one-line error naming the file, not a library traceback from deep inside a loader.

Three checks. Two are cheap (headers and directories only, no tensor data is read):
- integrity: a safetensors file's header must describe exactly the bytes the file holds; a
  ``torch.save`` file is a zip archive whose central directory sits at its end, so a cut-off
  file has none; a sharded index must name shards that exist.
- pickle: a folder whose weights are only pickle files (``.bin``, ``.pt``, ...) is refused
  unless the recipe or manifest allows it explicitly (``allow_pickle_weights: true``):
  unpickling can run code. The exception is this project's own torch.ao state
  (``TORCH_STATE``): quantized tensors cannot go into safetensors, so it is written by
  ``torch.save`` and read back only with ``torch.load(weights_only=True)``, which rebuilds
  tensors and plain containers and never runs code from the file.
The third reads every byte: each weight file's sha256 must be the one ``variant.json`` recorded
when the folder was written, which finds damage the framing hides (a same-size file whose last
megabytes were overwritten) and weight files added or replaced later.
"""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from core import MIB
from core.io import sha256_file
from core.names import UnsafeName, inside, name_problem

TORCH_STATE = "quantized_state.pt"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
HEADER_LIMIT = 100 * MIB  # safetensors refuses larger headers too


def safetensors_problem(path: Path) -> str | None:
    """What is wrong with a safetensors file's framing, or None."""
    size = path.stat().st_size
    if size < 8:
        return f"{path.name} is {size} bytes, too short for a safetensors file"
    with open(path, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if header_len > min(HEADER_LIMIT, size - 8):
            return f"{path.name}: header length {header_len} does not fit in its {size} bytes (truncated or not safetensors)"
        try:
            header = json.loads(handle.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return f"{path.name}: the safetensors header is not valid JSON (truncated or overwritten)"
    ends = [entry["data_offsets"][1] for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry]
    expected = 8 + header_len + max(ends, default=0)
    if size != expected:
        return f"{path.name} holds {size} bytes but its header describes {expected} (truncated or damaged)"
    return None


def torch_file_problem(path: Path) -> str | None:
    """What is wrong with a ``torch.save`` file, or None. Only the archive's directory is read."""
    if path.stat().st_size == 0:
        return f"{path.name} is empty"
    if not zipfile.is_zipfile(path):
        return f"{path.name} is not a complete torch.save archive (truncated, or the legacy format)"
    try:
        with zipfile.ZipFile(path) as archive:
            size = path.stat().st_size
            if any(info.header_offset + info.compress_size > size for info in archive.infolist()):
                return f"{path.name}: its archive directory points past the end of the file (damaged)"
    except (zipfile.BadZipFile, OSError) as err:
        return f"{path.name} is not a readable torch.save archive ({err})"
    return None


def index_problem(path: Path) -> str | None:
    """A sharded checkpoint's index must be JSON naming shards that exist."""
    try:
        shards = set(json.loads(path.read_text())["weight_map"].values())
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return f"{path.name} is not a valid shard index (no weight_map)"
    missing = sorted(s for s in shards if not (path.parent / s).is_file())
    return f"{path.name} names missing shard files: {', '.join(missing)}" if missing else None


def file_problem(path: Path) -> str | None:
    """What is wrong with one weight file, or None (files of other kinds pass)."""
    if path.name.endswith(".index.json"):
        return index_problem(path)
    if path.suffix == ".safetensors":
        return safetensors_problem(path)
    if path.suffix in PICKLE_SUFFIXES:
        return torch_file_problem(path)
    return None


def is_weight_file(path: Path) -> bool:
    return path.is_file() and (path.suffix == ".safetensors" or path.suffix in PICKLE_SUFFIXES)


def weight_files(folder: str | Path) -> list[Path]:
    """The folder's own weight files (not those of subfolders), in name order."""
    return sorted(p for p in Path(folder).iterdir() if is_weight_file(p))


def weight_bytes(folder: str | Path) -> int:
    """What the folder's weight files take on disk."""
    return sum(p.stat().st_size for p in weight_files(folder))


def folder_problem(folder: str | Path, allow_pickle: bool = False) -> str | None:
    """The first problem with a model folder's weights, worded with the fix, or None."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file())
    for path in files:
        problem = file_problem(path)
        if problem:
            return f"{problem}; rebuild or re-download the model folder"
    weights = [p for p in files if is_weight_file(p)]
    pickles = [p.name for p in weights if p.suffix in PICKLE_SUFFIXES and p.name != TORCH_STATE]
    if pickles and len(pickles) == len(weights) and not allow_pickle:
        return (f"the folder holds only pickle weights ({', '.join(pickles)}), which can run code when loaded; convert them "
                "to safetensors, or set allow_pickle_weights: true if you trust their source")
    return None


def checksum_problem(folder: str | Path, recorded: dict[str, str]) -> str | None:
    """The first weight file of ``folder`` that differs from ``recorded`` (name -> sha256), is
    missing, lies outside the folder, or is not recorded; None when all match."""
    folder = Path(folder)
    for name, digest in recorded.items():
        if name_problem(name):
            return f"weights_sha256 names {name!r}, which is not a plain file name"
        path = folder / name
        if not path.is_file():
            return f"{name} is missing (variant.json records its sha256)"
        try:
            inside(folder, path, str(folder), f"weights_sha256.{name}")
        except UnsafeName as err:
            return str(err).partition(": ")[2]
        actual = sha256_file(path)
        if actual != digest:
            return f"{name} has sha256 {actual[:16]}..., variant.json records {digest[:16]}... (damaged or replaced)"
    unrecorded = [p.name for p in weight_files(folder) if p.name not in recorded]
    if unrecorded:
        return f"{', '.join(unrecorded)}: weight files variant.json does not record (added after it was written)"
    return None
