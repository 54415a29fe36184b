"""The model-folder contract between methods and evaluation.

Every method (baseline, quantizers, QLoRA, ...) writes a folder holding its weights, the
tokenizer and ``variant.json`` (glue/folder/manifest.py). The manifest names a loader
(``glue.<module>:<function>``) that rebuilds the model; evaluation only ever calls
:func:`load_variant`, so it never knows which method produced a model.
"""
from __future__ import annotations

import importlib
import json
import pickle
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from core.errors import ProjectError
from glue.folder.manifest import MANIFEST, REBUILD, Manifest, VariantError
from glue.folder.weights import checksum_problem, folder_problem, weight_files

ORIGIN_FILE = "source.json"
# Packages whose loaders a manifest may name: nothing else is imported from a model folder's say-so.
# seqcls sits above glue; its loader is looked up by name when a folder needs it, never imported here.
LOADER_PACKAGES = ("glue.", "seqcls.")
# Loader modules that moved: folders written before the move (built or downloaded) name the old module.
MOVED_LOADER_MODULES = {"glue.variant": "glue.folder.variant", "glue.sft_classifier": "glue.sft.classifier"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                   "merges.txt", "vocab.json", "added_tokens.json", "chat_template.jinja", "tokenizer.model",
                   "spiece.model", "sentencepiece.bpe.model")
# A folder's tokenizer is usable when it holds one of these sets: without one, transformers builds
# a tokenizer of a few special tokens, every word becomes [UNK] and evaluation measures garbage.
VOCABULARIES = (("tokenizer.json",), ("vocab.txt",), ("vocab.json", "merges.txt"), ("tokenizer.model",),
                ("spiece.model",), ("sentencepiece.bpe.model",))
# Configuration a loader reads besides weights and tokenizer.
CONFIG_FILES = ("config.json", "generation_config.json", "adapter_config.json")
LOADER_MARK = "_variant_loader"


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
        """What every loader returns: labels and max_length come from the folder's manifest. Every
        batch of texts is padded, so a tokenizer without a pad token is refused here, not mid-run."""
        if tokenizer.pad_token is None:
            raise VariantError(f"{path}: the tokenizer has no pad token, so texts cannot be batched; set pad_token in "
                               "tokenizer_config.json (decoders use their eos token, as training does) and "
                               "pad_token_id in config.json to its id")
        return cls(path, model, tokenizer, manifest.labels, manifest, manifest.max_length, device)

    def batch(self, texts: list[str]) -> dict[str, torch.Tensor]:
        if self.encode is not None:
            return self.encode(texts)
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    @torch.inference_mode()
    def logits(self, texts: list[str]) -> torch.Tensor:
        return logits_of(self.model(**self.batch(texts))).cpu()


def logits_of(output: Any) -> torch.Tensor:
    """A classifier's logits as float32, from a plain tensor (a compiled graph's) or a Hugging Face output."""
    return (output if isinstance(output, torch.Tensor) else output.logits).float()


Loader = Callable[[Path, Manifest, torch.device], Variant]


def variant_loader(func: Loader) -> Loader:
    """Mark ``func`` as a loader a manifest may name: a function that merely exists in the named
    module (a helper with another signature) is refused instead of being called."""
    setattr(func, LOADER_MARK, True)
    return func


def find_loader(path: Path, name: object) -> Callable[..., "Variant"]:
    """The function a manifest's ``loader`` (``<package>.<module>:<function>``) names."""
    where = path / MANIFEST
    module_name, _, func_name = name.partition(":") if isinstance(name, str) else ("", "", "")
    if not module_name or not func_name:
        raise VariantError(f"{where}: loader {name!r} is not of the form <module>:<function>; {REBUILD}")
    if not module_name.startswith(LOADER_PACKAGES):
        raise VariantError(f"{where}: loader {name!r} is outside {', '.join(LOADER_PACKAGES)}; refusing to import it")
    module_name = MOVED_LOADER_MODULES.get(module_name, module_name)
    try:
        loader = getattr(importlib.import_module(module_name), func_name, None)
    except ModuleNotFoundError as err:
        # The loader's own package missing means this checkout lacks the loader; any other module is a
        # package that is not installed.
        missing = err.name or ""
        if missing and not f"{missing}.".startswith(LOADER_PACKAGES):
            raise VariantError(f"{where}: loader {name!r} needs the Python module {missing!r}, which is not "
                               "installed; install the project's dependencies with make setup") from None
        loader = None
    if not callable(loader):
        raise VariantError(f"{where}: unknown loader {name!r} (no such function in this checkout); {REBUILD}, "
                           "or update the checkout to the commit that wrote it")
    if not getattr(loader, LOADER_MARK, False):
        raise VariantError(f"{where}: loader {name!r} is not a model-folder loader (not marked @variant_loader); "
                           f"{REBUILD}")
    return loader


def tokenizer_problem(folder: Path) -> str | None:
    """Why ``folder`` holds no usable tokenizer, or None."""
    if any(all((folder / name).is_file() for name in names) for names in VOCABULARIES):
        return None
    wanted = " or ".join(" + ".join(names) for names in VOCABULARIES)
    return f"no tokenizer files ({wanted}); copy the tokenizer of the model it was built from into it, or rebuild it"


def check_weights(path: Path, manifest: Manifest) -> None:
    """Every weight file against the sha256 ``variant.json`` recorded. A manifest written before
    checksums were recorded loads with a warning (docs/decisions.md says why)."""
    if manifest.weights_sha256 is None:
        print(f"warning: {path / MANIFEST} records no weight checksums (written by an older version), so "
              "damaged weights cannot be detected; rebuild the variant to record them", file=sys.stderr)
        return
    problem = checksum_problem(path, manifest.weights_sha256)
    if problem:
        raise VariantError(f"{path}: {problem}; {REBUILD}, or download it again")


def contract_files(path: Path, manifest: Manifest) -> list[Path]:
    """The files of a model folder its contract names, which is all a copy (a release) needs:
    variant.json, the recorded weights, the loader's configuration and the tokenizer."""
    weights = manifest.weights_sha256 if manifest.weights_sha256 is not None else {
        p.name: "" for p in weight_files(path)}
    indexes = [p.name for p in path.iterdir() if p.name.endswith(".index.json")]  # shards of the weights
    names = [MANIFEST, *weights, *indexes, *CONFIG_FILES, *TOKENIZER_FILES]
    return sorted({path / name for name in names if (path / name).is_file() or (path / name).is_symlink()})


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
    problem = folder_problem(path, allow_pickle=manifest.allow_pickle_weights is True) or tokenizer_problem(path)
    if problem:
        raise VariantError(f"{path}: {problem}")
    check_weights(path, manifest)
    try:
        return loader(path, manifest, torch.device(device))
    except VariantError:
        raise
    except ProjectError as err:  # a RecipeError (a base model not built here, say) is no damage: keep its fix
        raise VariantError(f"{path}: loader {manifest.loader} failed: {err}") from None
    except pickle.UnpicklingError:
        raise VariantError(f"{path}: a weights file holds objects other than tensors, which this project never "
                           f"writes; refused without running them (torch.load weights_only): {REBUILD}") from None
    except LOAD_ERRORS as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise VariantError(f"{path}: loader {manifest.loader} failed ({type(err).__name__}: {first}); "
                           f"the folder is damaged or incomplete: {REBUILD}") from None


@variant_loader
def load_hf_classifier(path: Path, manifest: Manifest, device: torch.device) -> Variant:
    """Loader for plain Hugging Face folders (the fine-tuned baselines)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    dtype = torch.float16 if device.type == "cuda" and manifest.fp16_inference else torch.float32
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=dtype).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return Variant.from_manifest(path, model, tokenizer, manifest, device)
