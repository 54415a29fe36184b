"""Writing outputs so that a crash or a kill never leaves half of one, and others can read them;
and the checksum every download, dataset and export is verified by.

``atomic_write_text``/``atomic_write_json`` write a file via a temporary file and a rename.
``staged_output(out)`` builds a folder beside ``out`` and swaps it in only when the block
succeeds; a killed job's staging folder is removed by the next run into the same parent.
A staging folder is "live" while its owner holds an ``flock`` on it: the kernel drops the lock
when the owner dies, however it dies, so liveness needs no pid files and no clocks.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core import MIB

STAGING_TAG = "staging"
_RENAME_EXCHANGE = 2  # linux/fs.h


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` would give a new file (0644 under the usual umask 022); ``mkstemp``
    gives 0600, which keeps results from the other users of a shared machine."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode ``mkdir`` would give a new folder (0755 under umask 022); ``mkdtemp`` gives 0700."""
    return 0o777 & ~_umask()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (model weights do not fit in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, file_mode())  # mkstemp's 0600 would hide results from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented UTF-8 JSON, written atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def is_staging(path: Path) -> bool:
    """True for the hidden folders ``staged_output`` builds in (``.<name>.staging-*``)."""
    return path.name.startswith(".") and f".{STAGING_TAG}-" in path.name


def _try_lock(folder: Path) -> int | None:
    """An fd holding an exclusive lock on ``folder``, or None when another process holds it."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def clean_stale_staging(out: Path) -> list[Path]:
    """Remove ``out``'s staging folders whose owner is gone (killed, crashed); return them."""
    removed = []
    for folder in sorted(Path(out).parent.glob(f".{Path(out).name}.{STAGING_TAG}-*")):
        fd = _try_lock(folder) if folder.is_dir() else None
        if fd is None:
            continue  # a live job's, or not a folder
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux renameat2 RENAME_EXCHANGE); False when the
    system or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(ctypes.get_errno(), f"cannot swap {a} and {b}: {os.strerror(ctypes.get_errno())}")


def _swap_in(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out``; an existing ``out`` is replaced whole. The old folder ends up
    at the staging path, which the caller removes."""
    if not out.exists():
        staging.rename(out)
    elif not _exchange(staging, out):
        # Fallback: two renames; the old folder is briefly hidden under a staging name.
        aside = staging.with_name(f"{staging.name}-old")
        out.rename(aside)
        staging.rename(out)
        aside.rename(staging)


@contextmanager
def staged_output(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``out``; on success swap it in for ``out`` (which
    is replaced whole), on any error or kill leave ``out`` untouched. Stale staging folders of
    earlier, killed runs are removed first.

        with staged_output("outputs/models/x/y/ptq") as staging:
            save_everything(staging)
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for folder in clean_stale_staging(out):
        print(f"removed {folder}: staging folder of an interrupted earlier run")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.{STAGING_TAG}-", dir=out.parent))
    fd = _try_lock(staging)
    try:
        os.chmod(staging, dir_mode())
        yield staging
        for item in staging.rglob("*"):  # writers that use mkstemp (transformers' shards) leave 0600
            os.chmod(item, dir_mode() if item.is_dir() else file_mode())
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if fd is not None:
            os.close(fd)
