"""Names that become paths, and the one identity every model folder and result is filed under.

A name read from a file (a release manifest, a ``variant.json``, a registry entry) is trusted
only as a *plain name*: not empty, no path separator, not ``.`` or ``..``, not absolute. A path
built from one is also resolved and checked to stay under its root, so neither ``..`` nor a
symbolic link can move it elsewhere. Every check raises before anything is downloaded, read or
written, in one line naming the file, the key and the value; the caller chooses the error type
its command-line tool turns into that line.

``VariantId`` is the (dataset, model_tag, variant) triple: model folders live at
``outputs/models/<dataset>/<model_tag>/<variant>`` and results at
``results/<dataset>/<model_tag>/<variant>.json``; modules ask it for the names and the paths
instead of re-parsing folders.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.errors import ProjectError


class UnsafeName(ProjectError):
    """A name or path from a file that would leave the place it belongs in."""


def name_problem(value: object) -> str | None:
    """Why ``value`` is not a plain name (one path component), or None when it is."""
    if not isinstance(value, str) or not value:
        return "is not a non-empty name"
    if value in (".", "..") or "/" in value or "\\" in value or "\0" in value:
        return "is not a plain name (no '/', '\\', '.' or '..')"
    return None


FIX = "correct that key, or get the file again from a source you trust"


def check_name(value: object, where: str, key: str, error: type[Exception] = UnsafeName, fix: str = FIX) -> str:
    """``value`` when it is a plain name; else ``error`` naming ``where`` (the file), ``key``, the value and ``fix``."""
    problem = name_problem(value)
    if problem:
        raise error(f"{where}: key '{key}': {value!r} {problem}; refused before anything was read or written: {fix}")
    return value  # type: ignore[return-value]


def relative_problem(value: object) -> str | None:
    """Why ``value`` is not a relative path that stays where it starts (``a/b.csv`` is fine), or None."""
    if not isinstance(value, str) or not value or "\0" in value:
        return "is not a non-empty path"
    if os.path.isabs(value) or PurePosixPath(value).is_absolute() or value.startswith("\\"):
        return "is an absolute path"
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        return "climbs out of its folder with '..'"
    return None


def inside(root: str | Path, path: str | Path, where: str, key: str, error: type[Exception] = UnsafeName,
           fix: str = "refused") -> Path:
    """``path`` when, resolved (symbolic links followed), it lies under ``root`` resolved; else ``error``."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    if resolved != base and base not in resolved.parents:
        raise error(f"{where}: key '{key}': {path} resolves to {resolved}, outside {base}; {fix}")
    return Path(path)


@dataclass(frozen=True)
class VariantId:
    """(dataset, model_tag, variant), each a plain name, checked when built; ``where`` names the
    file or folder the names came from in errors."""

    dataset: str
    model_tag: str
    variant: str
    where: str = field(default="variant", compare=False, repr=False)

    def __post_init__(self) -> None:
        for key in ("dataset", "model_tag", "variant"):
            check_name(getattr(self, key), self.where, key)

    @classmethod
    def from_folder(cls, folder: str | Path, dataset: str | None = None, model_tag: str | None = None,
                    variant: str | None = None, where: str | None = None) -> VariantId:
        """The names given (a manifest's), else those of ``<dataset>/<model_tag>/<variant>`` = ``folder``."""
        folder = Path(os.path.abspath(folder))
        return cls(dataset or folder.parent.parent.name, model_tag or folder.parent.name, variant or folder.name,
                   where or str(folder))

    @classmethod
    def from_key(cls, key: object, where: str) -> VariantId:
        """From ``dataset/model_tag/variant`` (a release manifest's variant key)."""
        parts = key.split("/") if isinstance(key, str) else []
        if len(parts) != 3:
            raise UnsafeName(f"{where}: variant key {key!r} is not <dataset>/<model_tag>/<variant>; refused")
        return cls(*parts, where=f"{where}: variant {key!r}")

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.model_tag}/{self.variant}"

    @property
    def parts(self) -> tuple[str, str, str]:
        return self.dataset, self.model_tag, self.variant

    def folder(self, models_dir: str | Path) -> Path:
        """``models_dir/<dataset>/<model_tag>/<variant>``, checked to stay under ``models_dir``."""
        return inside(models_dir, Path(models_dir).joinpath(*self.parts), self.where, "variant")

    def result_path(self, results_dir: str | Path) -> Path:
        """``results_dir/<dataset>/<model_tag>/<variant>.json``, checked to stay under ``results_dir``."""
        return inside(results_dir, self.group_dir(results_dir) / f"{self.variant}.json", self.where, "variant")

    def group_dir(self, results_dir: str | Path) -> Path:
        """``results_dir/<dataset>/<model_tag>``: the results of every variant of one model."""
        return inside(results_dir, Path(results_dir) / self.dataset / self.model_tag, self.where, "model_tag")
