"""``weights_manifest.json``: the one description of a weights release, written by
:mod:`publish.pack` and read by :mod:`publish.fetch`.

A GitHub release is a flat list of files, so every file of a model folder becomes one asset named
``<dataset>--<model_tag>--<variant>--<file>``; the manifest maps each variant back to its files
with their sizes and sha256, so a download can be checked before anything is loaded.

A manifest is read as untrusted input: its variant keys and file names become folders and files
on the reader's disk, so each must be a plain name (core/names.py) and every size and checksum
well-typed, all checked before the first byte is downloaded.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from core.errors import ProjectError
from core.names import UnsafeName, VariantId, check_name

SCHEMA = 1
MANIFEST_NAME = "weights_manifest.json"
SEPARATOR = "--"
# GitHub release assets: at most 2 GiB each (files over 100 MB may not be committed, hence releases).
ASSET_LIMIT_BYTES = 2 * 2**30
GITHUB_RELEASE = re.compile(r"^https://github\.com/(?P<repo>[\w.-]+/[\w.-]+)/releases/download/(?P<tag>[^/]+)/?$")
VARIANT_KEYS = ("dataset", "model_tag", "variant", "method", "devices", "files")
FILE_KEYS = ("file", "asset", "size", "sha256")


class PublishError(ProjectError):
    """A release that cannot be packed or trusted, worded for the user (file, key, fix)."""


def asset_name(key: str, file: str) -> str:
    return SEPARATOR.join([*key.split("/"), file])


def release_of(base_url: str) -> dict[str, str] | None:
    """``{"repo": "owner/name", "tag": ...}`` when the base URL is a GitHub release's download
    URL, else None (a local folder or test server)."""
    match = GITHUB_RELEASE.match(base_url)
    return match.groupdict() if match else None


def asset_url(base_url: str, asset: str) -> str:
    return f"{base_url.rstrip('/')}/{quote(asset)}"


def parse(text: str, where: str) -> dict[str, Any]:
    """Read a manifest and check its shape, so a broken one fails here, naming the key, and not
    half-way through a download."""
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as err:
        raise PublishError(f"{where}: not valid JSON (line {err.lineno}): {err.msg}; rerun make publish") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise PublishError(f"{where}: schema {manifest.get('schema') if isinstance(manifest, dict) else None!r}, "
                           f"expected {SCHEMA}; rerun make publish with this version of the repository")
    variants = manifest.get("variants")
    if not isinstance(variants, dict):
        raise PublishError(f"{where}: key 'variants' is missing or not an object; rerun make publish")
    for key, entry in variants.items():
        check_variant(key, entry, where)
    return manifest


def check_variant(key: str, entry: Any, where: str) -> None:
    """One ``variants`` entry: a key of three plain names that the entry repeats, and files whose
    names are plain and whose sizes and sha256 are what a download can be checked against."""
    try:
        identity = VariantId.from_key(key, where)
    except UnsafeName as err:
        raise PublishError(str(err)) from None
    if not isinstance(entry, dict):
        raise PublishError(f"{where}: variants.{key} is not an object; rerun make publish")
    missing = [k for k in VARIANT_KEYS if k not in entry]
    if missing:
        raise PublishError(f"{where}: variants.{key} lacks {', '.join(missing)}; rerun make publish")
    named = (entry["dataset"], entry["model_tag"], entry["variant"])
    if named != identity.parts:
        raise PublishError(f"{where}: variants.{key} describes {'/'.join(map(str, named))}; rerun make publish")
    if not isinstance(entry["files"], list):
        raise PublishError(f"{where}: variants.{key}.files is not a list; rerun make publish")
    for i, item in enumerate(entry["files"]):
        at = f"variants.{key}.files[{i}]"
        missing = [k for k in FILE_KEYS if k not in item] if isinstance(item, dict) else list(FILE_KEYS)
        if missing:
            raise PublishError(f"{where}: {at} lacks {', '.join(missing)}; rerun make publish")
        for name in ("file", "asset"):
            check_name(item[name], where, f"{at}.{name}", PublishError)
        size, digest = item["size"], item["sha256"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise PublishError(f"{where}: key '{at}.size': {size!r} is not a whole number of bytes; rerun make publish")
        if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise PublishError(f"{where}: key '{at}.sha256': {digest!r} is not a sha256 hex digest; "
                               "rerun make publish")
