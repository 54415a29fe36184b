"""Pack every model folder as GitHub release assets: each folder's weights, config, tokenizer and
variant.json, one ``weights_manifest.json`` (base URL, file names, sizes, sha256), and a copy of
the notebook whose ``RELEASE`` line points at them.

    python -m publish.pack --models outputs/models \
        --base-url https://github.com/OWNER/REPO/releases/download/v1.0 [--out DIR] [--notebook-name NAME]

The base URL is the one setting (``RELEASE_URL`` in mk/publish.mk); the repository and tag the
notebook installs on Colab are derived from it. Only the files the model-folder contract names
are published (``glue.folder.variant.contract_files``: variant.json, the weights it records, the
loader's configuration, the tokenizer), never a symbolic link, and only formats that load
without unpickling code: safetensors, and torch.ao quantized states that
``torch.load(weights_only=True)`` reads (checked here, file by file).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from core import MIB
from core.io import atomic_write_json, atomic_write_text, sha256_file
from core.names import UnsafeName, VariantId
from core.paths import REPO
from core.provenance import git_commit
from eval.eval_all import discover
from glue.folder.manifest import Manifest, VariantError
from glue.folder.variant import contract_files
from glue.folder.weights import PICKLE_SUFFIXES, checksum_problem
from glue.quant import get_method
from glue.quant.loader import load_quantized
from publish.manifest import ASSET_LIMIT_BYTES, MANIFEST_NAME, SCHEMA, PublishError, asset_name, release_of

NOTEBOOK = REPO / "notebooks" / "inference_eval.ipynb"
RELEASE_LINE = "RELEASE = "  # the notebook line this module rewrites
PLACEHOLDER = "github.com/OWNER/REPO/"


def check_weights_only(path: Path) -> None:
    """A ``.pt`` file is published only if it loads without unpickling code."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, ... for a refused or broken file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise PublishError(f"{path}: not loadable with torch.load(weights_only=True) ({first}); "
                           "save a state dict of tensors, or safetensors, and rebuild the variant") from None


def shipped_files(folder: Path, manifest: Manifest) -> list[Path]:
    """The files a variant needs to load (its contract's), each a regular file of the folder."""
    problem = checksum_problem(folder, manifest.weights_sha256) if manifest.weights_sha256 is not None else None
    if problem:
        raise PublishError(f"{folder}: {problem}; rebuild the variant")
    files = contract_files(folder, manifest)
    for path in files:
        if path.is_symlink():
            raise PublishError(f"{path}: a symbolic link (to {path.resolve()}); a release holds only the folder's "
                               "own files: replace the link with the file, or rebuild the variant")
        if path.suffix == ".pt":  # torch.ao states (TORCH_STATE) cannot be safetensors: published if tensors only
            check_weights_only(path)
        elif path.suffix in PICKLE_SUFFIXES:
            raise PublishError(f"{path}: pickled weights are not published (loading them can run code); "
                               "re-save the model as safetensors (save_pretrained) and rebuild the variant")
        if path.stat().st_size >= ASSET_LIMIT_BYTES:
            raise PublishError(f"{path}: {path.stat().st_size / 2**30:.2f} GiB is over GitHub's 2 GiB asset "
                               "limit; save it in shards (save_pretrained(max_shard_size='1GB'))")
    return files


def devices(manifest: Manifest) -> list[str]:
    """Where the folder's loader runs it: torch.ao's int8 kernels are CPU-only (QuantMethod.devices
    says which); every other loader also runs on CUDA."""
    if manifest.loader == f"{load_quantized.__module__}:{load_quantized.__name__}":
        return list(get_method(manifest.quantization["method"]).devices)
    return ["cuda", "cpu"]


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link costs no disk (a 500 MB decoder appears once); copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def stamp_notebook(src: Path, dst: Path, release: dict[str, str]) -> None:
    """Copy the notebook with its ``RELEASE = {...}`` line set to this release."""
    notebook = json.loads(src.read_text())
    line = f"{RELEASE_LINE}{json.dumps(release)}  # written by make publish (publish/pack.py)\n"
    for cell in notebook["cells"]:
        source = cell["source"] if isinstance(cell["source"], list) else cell["source"].splitlines(keepends=True)
        found = [i for i, text in enumerate(source) if text.startswith(RELEASE_LINE)]
        if cell["cell_type"] == "code" and found:
            source[found[0]] = line
            cell["source"] = source
            atomic_write_text(dst, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
            return
    raise PublishError(f"{src}: no line starting with {RELEASE_LINE!r} in a code cell; restore it from git")


def pack_variant(folder: Path, manifest: Manifest, identity: VariantId, staging: Path) -> dict[str, Any]:
    files = []
    for path in shipped_files(folder, manifest):
        asset = asset_name(identity.key, path.name)
        link_or_copy(path, staging / asset)
        files.append({"file": path.name, "asset": asset, "size": path.stat().st_size, "sha256": sha256_file(path)})
    entry = {"dataset": identity.dataset, "model_tag": identity.model_tag, "variant": identity.variant,
             "method": manifest.method,
             "loader": manifest.loader, "devices": devices(manifest), "files": files}
    if manifest.base_model:  # loaded at run time (a pkg:// model, or a folder the loader rebuilds)
        entry["base_model"] = manifest.base_model
    return entry


def pack(models_dir: Path, out: Path, base_url: str, notebook_name: str) -> dict[str, Any]:
    """Write the release folder ``out`` (replaced as a whole, never left half-written)."""
    if PLACEHOLDER in base_url:
        raise PublishError(f"RELEASE_URL {base_url} is the placeholder: set it in mk/publish.mk (or make publish "
                           "RELEASE_URL=https://github.com/<owner>/<repo>/releases/download/<tag>)")
    folders = discover(models_dir)
    if not folders:
        raise PublishError(f"no model folders under {models_dir}: build them first (make all)")
    release = release_of(base_url) or {}
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        variants, sources = {}, {}
        for folder in folders:
            variant_manifest = Manifest.read(folder)
            identity = variant_manifest.identity(folder)
            if identity.key in sources:
                raise PublishError(f"{folder}/variant.json and {sources[identity.key]}/variant.json both describe "
                                   f"{identity.key}; rename one variant (or remove the stale folder)")
            sources[identity.key] = folder
            variants[identity.key] = pack_variant(folder, variant_manifest, identity, staging)
        manifest = {"schema": SCHEMA, "base_url": base_url, "release": release or None,
                    "commit": git_commit(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "variants": variants}
        atomic_write_json(staging / MANIFEST_NAME, manifest)
        stamp_notebook(NOTEBOOK, staging / notebook_name,
                       {"weights": base_url, "repo": f"https://github.com/{release['repo']}" if release else "",
                        "tag": release.get("tag", "")})
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def upload_commands(out: Path, manifest: dict[str, Any]) -> str:
    release = manifest["release"]
    if not release:
        return f"serve or copy {out}/ so that its files are reachable under {manifest['base_url']}/"
    repo, tag = release["repo"], release["tag"]
    return (f"git tag {tag} && git push origin {tag}   # the notebook installs the code at this tag\n"
            f"gh release create {tag} {out}/* --repo {repo} --title 'Weights {tag}' "
            f"--notes 'Model weights; weights_manifest.json lists every file with its sha256.'\n"
            f"# the release exists already: gh release upload {tag} {out}/* --repo {repo} --clobber")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="outputs/models", help="model folders (<dataset>/<model>/<variant>)")
    parser.add_argument("--base-url", required=True, help="where the assets will be downloaded from (RELEASE_URL)")
    parser.add_argument("--out", help="release folder (default: outputs/publish/<tag>, or outputs/publish/local)")
    parser.add_argument("--notebook-name", default=NOTEBOOK.name, help="file name of the notebook copy")
    args = parser.parse_args(argv)
    release = release_of(args.base_url)
    out = Path(args.out or Path("outputs/publish") / (release["tag"] if release else "local"))
    try:
        manifest = pack(Path(args.models), out, args.base_url, args.notebook_name)
    except (PublishError, VariantError, UnsafeName) as err:
        raise SystemExit(f"error: {err}") from None
    for key, entry in manifest["variants"].items():
        print(f"{key}: {len(entry['files'])} files, {sum(f['size'] for f in entry['files']) / MIB:.1f} MB")
    print(f"\nwrote {out}/ ({len(manifest['variants'])} variants, {MANIFEST_NAME}, {args.notebook_name}). "
          f"Upload:\n{upload_commands(out, manifest)}")


if __name__ == "__main__":
    main()
