"""Download one variant of a release and verify every file's size and sha256 against
``weights_manifest.json`` before the folder exists under its real name: a mismatch stops with the
file's name, and a folder that did not verify is never there to be loaded.

Assets are fetched from where the manifest was read (``base``: a URL, or a local folder of
``make publish`` output), so a release that was moved or mirrored still works; the manifest's own
``base_url`` records where it was meant to be published.
"""
from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tqdm import tqdm

from core import MIB
from core.io import sha256_file
from core.names import UnsafeName, VariantId
from publish.manifest import MANIFEST_NAME, PublishError, asset_url, check_variant, parse

BLOCK = MIB


class ChecksumError(PublishError):
    """A downloaded file differs from the one ``make publish`` described."""


def location(base: str) -> str:
    """A URL as given; a local folder as a file:// URL."""
    return base if "://" in base else Path(base).resolve().as_uri()


def _open(url: str):
    try:
        return urllib.request.urlopen(url, timeout=60)
    except urllib.error.HTTPError as err:
        raise PublishError(f"{url}: HTTP {err.code} {err.reason}; is the release uploaded, and is "
                           "WEIGHTS_BASE_URL (RELEASE_URL when packing) right?") from None
    except (urllib.error.URLError, OSError) as err:
        raise PublishError(f"{url}: cannot download ({getattr(err, 'reason', err)}); check WEIGHTS_BASE_URL "
                           "and the network") from None


def read_manifest(base: str) -> dict[str, Any]:
    url = asset_url(location(base), MANIFEST_NAME)
    with _open(url) as response:
        return parse(response.read().decode("utf-8"), url)


def mismatch(path: Path, item: dict[str, Any], digest: str | None = None) -> str | None:
    """Why ``path`` is not the file the manifest describes, or None when it is."""
    size = path.stat().st_size
    if size != item["size"]:
        return f"{size:,} bytes, the manifest says {item['size']:,}"
    digest = digest or sha256_file(path)
    if digest != item["sha256"]:
        return f"sha256 {digest}, the manifest says {item['sha256']}"
    return None


def download(url: str, path: Path, item: dict[str, Any]) -> None:
    """Stream to ``path`` with a progress bar, hashing on the way; raise ChecksumError on a mismatch."""
    digest = hashlib.sha256()
    try:
        with _open(url) as response, open(path, "wb") as out, \
                tqdm(total=item["size"], unit="B", unit_scale=True, unit_divisor=1024, desc=item["asset"]) as bar:
            for block in iter(lambda: response.read(BLOCK), b""):
                out.write(block)
                digest.update(block)
                bar.update(len(block))
    except OSError as err:  # a dropped connection or a full disk half-way through
        raise PublishError(f"{item['asset']}: download interrupted ({err}); nothing was loaded; run it again") from None
    why = mismatch(path, item, digest.hexdigest())
    if why:
        raise ChecksumError(f"checksum error: {item['asset']} ({url}) has {why}. The file is corrupt or was changed "
                            "after make publish; nothing was loaded. Download again, or rerun make publish and "
                            "upload the release again.")


def fetch_variant(manifest: dict[str, Any], base: str, key: str, dest: Path) -> Path:
    """The verified folder ``dest/<key>``; files already there are re-hashed, not downloaded again.
    Every name is checked (``parse``) and the folder resolved under ``dest`` before anything is
    created or downloaded."""
    variants = manifest["variants"]
    if key not in variants:
        raise PublishError(f"{key} is not in this release; it holds: {', '.join(variants)}")
    where = asset_url(location(base), MANIFEST_NAME)
    check_variant(key, variants[key], where)
    items = variants[key]["files"]
    try:
        folder = VariantId.from_key(key, where).folder(dest)
    except UnsafeName as err:
        raise PublishError(str(err)) from None
    if folder.is_dir() and all((folder / i["file"]).is_file() and not mismatch(folder / i["file"], i) for i in items):
        return folder
    staging = folder.with_name(f".{folder.name}.part")
    shutil.rmtree(staging, ignore_errors=True)
    created = [p for p in (staging.parent, *staging.parent.parents) if not p.exists()]
    staging.mkdir(parents=True)
    try:
        for item in items:
            download(asset_url(location(base), item["asset"]), staging / item["file"], item)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for parent in created:  # a failed download leaves no empty folders behind (innermost first)
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
    return folder
