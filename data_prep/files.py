"""Where a registry entry's files may be: inside the data folder (subfolders allowed), unless the
entry says ``"allow_outside_files": true``. A ``../`` or absolute path in ``file_name``,
``splits`` or ``label_file`` is refused before any file is read, and a name that resolves
elsewhere through a symbolic link is refused when it is opened; ``meta.json`` records each file's
real place relative to the data folder or the repository (core.paths.relative_path).
"""
from __future__ import annotations

import os
from pathlib import Path

from core.names import inside, relative_problem
from data_prep.common import DataError
from data_prep.registry import DatasetSpec

OUTSIDE_KEY = "allow_outside_files"
FIX = f"move the file into the data folder, or set \"{OUTSIDE_KEY}\": true in the entry if it belongs elsewhere"


def named_files(spec: DatasetSpec) -> list[tuple[str, str]]:
    """(key, file name) for every file the entry names."""
    named = [("file_name", spec.file_name)] if spec.file_name else []
    for split, candidates in spec.splits.items():
        for i, candidate in enumerate(candidates):
            key = f"splits.{split}" + (f"[{i}]" if len(candidates) > 1 else "")
            named += [(key, candidate)] if isinstance(candidate, str) else [
                (f"{key}.{role}", candidate[role]) for role in ("text", "label")]
    return named + ([("label_file", spec.label_file)] if spec.label_file else [])


def check_entry_files(spec: DatasetSpec) -> None:
    """Refuse, before anything is read, a file name that leaves the data folder without permission."""
    for key, name in named_files(spec):
        _check_name(spec, name, key)


def _check_name(spec: DatasetSpec, name: str, key: str) -> None:
    problem = None if spec.allow_outside_files else relative_problem(name)
    if problem:
        raise DataError(f"{spec.source}: key '{key}': {name!r} {problem}; {FIX}")


def entry_file(spec: DatasetSpec, folder: Path, name: str, key: str) -> Path:
    """The path of a file the entry names: under ``folder`` (resolved), or anywhere when allowed."""
    path = Path(name) if os.path.isabs(name) else Path(folder) / name
    if spec.allow_outside_files:
        return path
    _check_name(spec, name, key)
    return inside(folder, path, spec.source, key, DataError, FIX)
