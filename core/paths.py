"""Paths as results, manifests and provenance record them: never an absolute path of the
machine that wrote them, so a result reads the same wherever it was produced."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# An absolute path inside free text (a command line, a note): a "/" that starts a word or follows
# "=", "(" or a quote; URLs ("https://") and relative paths ("a/b") do not match.
ABSOLUTE_IN_TEXT = re.compile(r"(?<![\w.:/~-])/[^\s'\"`,;()]+")


def portable(path: str | Path, base: str | Path | None = None) -> str:
    """``path`` relative to ``base`` (e.g. the data folder the user named) when inside it, else
    relative to the repository or the working folder, else only its name."""
    full = Path(os.path.abspath(path))
    for anchor in (base, REPO, Path.cwd()):
        if anchor is None:
            continue
        try:
            return full.relative_to(os.path.abspath(anchor)).as_posix() or "."
        except ValueError:
            continue
    return full.name


def relative_path(path: str | Path, base: str | Path) -> str:
    """Where ``path`` really is, never as an absolute path: relative to ``base`` (a data folder the
    user named) when inside it, else to the repository when inside that, else relative to ``base``
    with ``..`` steps. Unlike :func:`portable`, never shortened to a bare name."""
    full = Path(os.path.abspath(path))
    for anchor in (base, REPO):
        try:
            return full.relative_to(os.path.abspath(anchor)).as_posix() or "."
        except ValueError:
            continue
    return Path(os.path.relpath(full, os.path.abspath(base))).as_posix()


def portable_values(obj: Any) -> Any:
    """``obj`` (a recipe, a result, any JSON value) with every absolute path in its strings made
    portable."""
    if isinstance(obj, dict):
        return {key: portable_values(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [portable_values(value) for value in obj]
    if isinstance(obj, str):
        return portable(obj) if os.path.isabs(obj) else portable_text(obj)
    return obj


def portable_text(text: str) -> str:
    """``text`` (a command line as typed, a note naming a file) with every absolute path in it made
    portable, whatever the user typed."""
    return ABSOLUTE_IN_TEXT.sub(lambda match: portable(match.group(0)), text)


def portable_argv(argv: list[str]) -> list[str]:
    """A command line with every absolute path in it (alone or after ``key=``) made portable."""
    def one(arg: str) -> str:
        head, eq, tail = arg.partition("=")
        prefix, value = (head + eq, tail) if eq else ("", arg)
        return prefix + portable(value) if os.path.isabs(value) else arg

    return [one(arg) for arg in argv]
