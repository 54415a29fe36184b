"""The model-folder contract between methods and evaluation.

Every method (baseline, quantizers, QLoRA, ...) writes a folder holding its weights, the
tokenizer and ``variant.json`` (glue/manifest.py). The manifest names a loader
(``glue.<module>:<function>``) that rebuilds the model; evaluation only ever calls
:func:`load_variant`, so it never knows which method produced a model.
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

from glue.manifest import MANIFEST, REBUILD, Manifest, VariantError
from glue.weights import folder_problem

ORIGIN_FILE = "source.json"
# Packages whose loaders a manifest may name: nothing else is imported from a model folder's say-so.
LOADER_PACKAGES = ("glue.", "seqcls.")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                   "merges.txt", "vocab.json", "added_tokens.json", "chat_template.jinja")


@dataclass
class Variant:
    """A loaded model ready for inference: call ``logits(texts)``."""

    path: Path
    model: torch.nn.Module
    tokenizer: Any
    labels: list[str]
    manifest: Manifest
    max_length: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    # A variant may format text itself (a decoder scored on answer tokens, say).
    encode: Callable[[list[str]], dict[str, torch.Tensor]] | None = None

    @classmethod
    def from_manifest(cls, path: Path, model: torch.nn.Module, tokenizer, manifest: Manifest,
                      device: torch.device) -> Variant:
        """What every loader returns: labels and max_length come from the folder's manifest."""
        return cls(path, model, tokenizer, manifest.labels, manifest, manifest.max_length, device)

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
    manifest = Manifest.read(path)
    loader = find_loader(path, manifest.loader)
    problem = folder_problem(path, allow_pickle=manifest.allow_pickle_weights is True)
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
        raise VariantError(f"{path}: loader {manifest.loader} failed ({type(err).__name__}: {first}); "
                           f"the folder is damaged or incomplete: {REBUILD}") from None


def load_hf_classifier(path: Path, manifest: Manifest, device: torch.device) -> Variant:
    """Loader for plain Hugging Face folders (the fine-tuned baselines)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    dtype = torch.float16 if device.type == "cuda" and manifest.fp16_inference else torch.float32
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=dtype).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return Variant.from_manifest(path, model, tokenizer, manifest, device)
