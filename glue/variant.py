"""The model-folder contract between methods and evaluation.

Every method (baseline, quantizers, QLoRA, ...) writes a folder holding its weights, the
tokenizer and ``variant.json``. The manifest names a loader (``glue.<module>:<function>``)
that rebuilds the model; evaluation only ever calls :func:`load_variant`, so it never knows
which method produced a model.
"""
from __future__ import annotations

import importlib
import json
import pickle
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from core.paths import portable_values
from data_prep.common import atomic_write_json
from glue.weights import folder_problem

MANIFEST = "variant.json"
DEFAULT_MAX_LENGTH = 128  # tokens; a manifest's max_length (the recipe's cutoff_len) overrides it
ORIGIN_FILE = "source.json"
# Packages whose loaders a manifest may name: nothing else is imported from a model folder's say-so.
LOADER_PACKAGES = ("glue.", "seqcls.")
# Manifest fields a loader opens (the body an adapter goes on): kept as given, so the folder reloads.
LOADER_PATHS = ("base_model",)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                   "merges.txt", "vocab.json", "added_tokens.json", "chat_template.jinja")


class VariantError(ValueError):
    """A missing or malformed model folder, worded for the user."""


@dataclass
class Variant:
    """A loaded model ready for inference: call ``logits(texts)``."""

    path: Path
    model: torch.nn.Module
    tokenizer: Any
    labels: list[str]
    manifest: dict[str, Any]
    max_length: int = DEFAULT_MAX_LENGTH
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    # A variant may format text itself (a decoder scored on answer tokens, say).
    encode: Callable[[list[str]], dict[str, torch.Tensor]] | None = None

    @classmethod
    def from_manifest(cls, path: Path, model: torch.nn.Module, tokenizer, manifest: dict[str, Any],
                      device: torch.device) -> "Variant":
        """What every loader returns: labels and max_length come from the folder's manifest."""
        return cls(path, model, tokenizer, manifest["labels"], manifest,
                   manifest.get("max_length", DEFAULT_MAX_LENGTH), device)

    def batch(self, texts: list[str]) -> dict[str, torch.Tensor]:
        if self.encode is not None:
            return self.encode(texts)
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    @torch.inference_mode()
    def logits(self, texts: list[str]) -> torch.Tensor:
        out = self.model(**self.batch(texts))
        logits = out if isinstance(out, torch.Tensor) else out.logits
        return logits.float().cpu()


def write_manifest(out_dir: str | Path, **fields: Any) -> dict[str, Any]:
    """Write ``variant.json``. Required: method, loader, labels. Everything else is free-form
    provenance the evaluation copies into its result (quantization block, training stats).
    Absolute paths are recorded portably (core/paths.py), except those a loader opens."""
    for key in ("method", "loader", "labels"):
        if key not in fields:
            raise ValueError(f"variant manifest needs {key!r}")
    fields = {key: value if key in LOADER_PATHS else portable_values(value) for key, value in fields.items()}
    atomic_write_json(Path(out_dir) / MANIFEST, fields)
    return fields


REBUILD = "rebuild the variant (rerun the job that wrote it, with --force)"


def read_manifest(path: str | Path) -> dict[str, Any]:
    """``variant.json`` of a model folder, checked: a JSON object with method, loader and labels."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not path.is_dir():
        raise VariantError(f"model folder {path} does not exist: train or build that variant first "
                           "(see `make help`)")
    if not manifest_path.is_file():
        raise VariantError(f"{path} has no {MANIFEST}: it was not written by this project's glue scripts "
                           "(or the run that wrote it was interrupted; rerun it)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise VariantError(f"{manifest_path}: not UTF-8 text; {REBUILD}") from None
    except json.JSONDecodeError as err:
        raise VariantError(f"{manifest_path}: not valid JSON ({err.msg}, line {err.lineno}: truncated or "
                           f"edited); {REBUILD}") from None
    if not isinstance(manifest, dict):
        raise VariantError(f"{manifest_path}: a JSON object is expected, found {type(manifest).__name__}; {REBUILD}")
    missing = [key for key in ("method", "loader", "labels") if key not in manifest]
    if missing:
        raise VariantError(f"{manifest_path}: missing {', '.join(missing)}; {REBUILD}")
    labels = manifest["labels"]
    if not (isinstance(labels, list) and labels and all(isinstance(label, str) for label in labels)):
        raise VariantError(f"{manifest_path}: 'labels' must be a non-empty list of names; {REBUILD}")
    return manifest


def find_loader(path: Path, name: object) -> Callable[..., "Variant"]:
    """The function a manifest's ``loader`` (``<package>.<module>:<function>``) names."""
    where = path / MANIFEST
    module_name, _, func_name = name.partition(":") if isinstance(name, str) else ("", "", "")
    if not module_name or not func_name:
        raise VariantError(f"{where}: loader {name!r} is not of the form <module>:<function>; {REBUILD}")
    if not module_name.startswith(LOADER_PACKAGES):
        raise VariantError(f"{where}: loader {name!r} is outside {', '.join(LOADER_PACKAGES)}; refusing to import it")
    try:
        loader = getattr(importlib.import_module(module_name), func_name, None)
    except ModuleNotFoundError:
        loader = None
    if not callable(loader):
        raise VariantError(f"{where}: unknown loader {name!r} (no such function in this checkout); {REBUILD}, "
                           "or update the checkout to the commit that wrote it")
    return loader


def weights_origin(model_dir: str | Path) -> dict[str, Any] | None:
    """What a base model folder says about where its weights came from (``source.json``, written by
    data_prep/smollm2.py: SmolLM2 is dequantised from a 4-bit GGUF). Every variant built on it
    carries this into its manifest and result, so every table can say so."""
    path = Path(model_dir) / ORIGIN_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def copy_tokenizer(src: str | Path, dst: str | Path) -> None:
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (Path(src) / name).is_file():
            shutil.copy2(Path(src) / name, dst / name)


# What a loader raises when the files it reads are damaged in a way the checks above missed.
LOAD_ERRORS = (OSError, RuntimeError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def load_variant(path: str | Path, device: str | torch.device = "cpu") -> Variant:
    """Load any model folder this project wrote, whatever produced it. The manifest, the loader
    and every weight file are checked first; what still fails inside the loader is reported in
    one line naming the folder."""
    path = Path(path)
    manifest = read_manifest(path)
    loader = find_loader(path, manifest["loader"])
    problem = folder_problem(path, allow_pickle=manifest.get("allow_pickle_weights") is True)
    if problem:
        raise VariantError(f"{path}: {problem}")
    try:
        return loader(path, manifest, torch.device(device))
    except VariantError:
        raise
    except pickle.UnpicklingError:
        raise VariantError(f"{path}: a weights file holds objects other than tensors, which this project never "
                           f"writes; refused without running them (torch.load weights_only): {REBUILD}") from None
    except LOAD_ERRORS as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise VariantError(f"{path}: loader {manifest['loader']} failed ({type(err).__name__}: {first}); "
                           f"the folder is damaged or incomplete: {REBUILD}") from None


def load_hf_classifier(path: Path, manifest: dict[str, Any], device: torch.device) -> Variant:
    """Loader for plain Hugging Face folders (the fine-tuned baselines)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    dtype = torch.float16 if device.type == "cuda" and manifest.get("fp16_inference") else torch.float32
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=dtype).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return Variant.from_manifest(path, model, tokenizer, manifest, device)
