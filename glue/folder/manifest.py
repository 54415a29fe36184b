"""``variant.json``: what a model folder says about itself (schema: glue/folder/MANIFEST.md).

One type, one writer (:meth:`Manifest.write`) and one reader (:meth:`Manifest.read`). Every job
that makes a model folder (the seq_cls stage, ``glue.quantize``, ``glue.sft.register``) builds a
``Manifest``; evaluation, publishing and the loaders read one. The JSON stays flat: the typed
fields, then the method's own details (``extra``) at the same level, so older folders still read.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ProjectError
from core.io import atomic_write_json, sha256_file
from core.names import UnsafeName, VariantId, check_name
from core.paths import portable_values
from glue.folder.weights import weight_files

MANIFEST = "variant.json"
DEFAULT_MAX_LENGTH = 128  # tokens; a manifest's max_length (the recipe's cutoff_len) overrides it
# Fields a loader opens (the body an adapter goes on): kept as given, so the folder reloads.
LOADER_PATHS = ("base_model",)
IDENTITY = ("dataset", "model_tag", "variant")  # core.names.VariantId; each defaults to the folder's name
REBUILD = "rebuild the variant (rerun the job that wrote it, with --force)"


class VariantError(ProjectError):
    """A missing or malformed model folder, worded for the user."""


@dataclass
class Manifest:
    """A model folder's ``variant.json``. ``method``, ``loader`` and ``labels`` are required; the
    rest is provenance that evaluation copies into the folder's result."""

    method: str                                 # baseline, ptq_dynamic, qlora, ... (the method that made it)
    loader: str                                 # "<package>.<module>:<function>" that rebuilds the model
    labels: list[str]                           # class names in logit order
    max_length: int = DEFAULT_MAX_LENGTH        # tokenizer truncation (the recipe's cutoff_len)
    dataset: str | None = None                  # identity: results/<dataset>/<model_tag>/<variant>.json
    model_tag: str | None = None
    variant: str | None = None
    base_model: str | None = None               # the pretrained body a loader rebuilds (adapters), as given
    base_model_dir: str | None = None           # the baseline folder a post-training method started from
    command: str | None = None                  # the command that built this folder
    base_command: str | None = None             # the command that trained that baseline
    recipe_path: str | None = None
    recipe: dict[str, Any] | None = None        # the recipe as run, overrides merged
    data_sha256: dict[str, Any] | None = None   # {"train": ..., "eval": ...}
    quantization: dict[str, Any] | None = None  # the method's block: method, bits, config, walked modules, sizes
    training: dict[str, Any] | None = None      # wall time, s/step, parameters, validation, peak memory
    weights_origin: dict[str, Any] | None = None  # the base folder's source.json (SmolLM2: from a 4-bit GGUF)
    provenance: dict[str, Any] | None = None    # commit, packages, machine, argv, seed
    fp16_inference: bool = False                # load in FP16 on CUDA (trained with fp16)
    allow_pickle_weights: bool = False          # never written by this project; lets a user's pickle folder load
    weights_sha256: dict[str, str] | None = None  # file name -> sha256 of every weight file; set by write
    extra: dict[str, Any] = field(default_factory=dict)  # the method's own details: lora, freeze, template, ...

    def write(self, folder: str | Path) -> Manifest:
        """Write ``folder/variant.json`` atomically, with the sha256 of every weight file now in
        ``folder`` (so write it last); absolute paths are recorded portably (core/paths.py), except
        those a loader opens. Returns the manifest as written."""
        for key in IDENTITY:  # names that are not plain never reach a manifest
            if getattr(self, key) is not None:
                check_name(getattr(self, key), str(Path(folder) / MANIFEST), key, VariantError)
        self.weights_sha256 = {path.name: sha256_file(path) for path in weight_files(folder)}
        body = {key: value for key, value in self.as_dict().items() if value is not None}
        body = {key: value if key in LOADER_PATHS else portable_values(value) for key, value in body.items()}
        atomic_write_json(Path(folder) / MANIFEST, body)
        return Manifest.from_dict(body, Path(folder) / MANIFEST)

    def as_dict(self) -> dict[str, Any]:
        """The flat JSON object: typed fields, then ``extra``."""
        typed = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**typed, **self.extra}

    def identity(self, folder: str | Path) -> VariantId:
        """The folder's (dataset, model_tag, variant): the manifest's names, else the folder's
        place in ``<dataset>/<model_tag>/<variant>``; names that are not plain are refused."""
        try:
            return VariantId.from_folder(folder, self.dataset, self.model_tag, self.variant,
                                         str(Path(folder) / MANIFEST))
        except UnsafeName as err:
            raise VariantError(str(err)) from None

    @classmethod
    def from_dict(cls, body: dict[str, Any], where: Path | str = MANIFEST) -> Manifest:
        """Check a parsed ``variant.json`` (``where`` names it in errors) and type it."""
        missing = [key for key in ("method", "loader", "labels") if key not in body]
        if missing:
            raise VariantError(f"{where}: missing {', '.join(missing)}; {REBUILD}")
        labels = body["labels"]
        if not (isinstance(labels, list) and labels and all(isinstance(label, str) for label in labels)):
            raise VariantError(f"{where}: 'labels' must be a non-empty list of names; {REBUILD}")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        typed = {key: value for key, value in body.items() if key in names}
        if not isinstance(typed.get("max_length", DEFAULT_MAX_LENGTH), int):
            raise VariantError(f"{where}: 'max_length' must be a whole number of tokens; {REBUILD}")
        sums = typed.get("weights_sha256")
        if sums is not None and not (isinstance(sums, dict) and all(
                isinstance(v, str) and len(v) == 64 for v in sums.values())):
            raise VariantError(f"{where}: 'weights_sha256' must map file names to sha256 hex digests; {REBUILD}")
        return cls(**typed, extra={key: value for key, value in body.items() if key not in names})

    @classmethod
    def read(cls, folder: str | Path) -> Manifest:
        """``folder/variant.json``, checked: a one-line error names the file and the fix."""
        folder = Path(folder)
        path = folder / MANIFEST
        if not folder.is_dir():
            raise VariantError(f"model folder {folder} does not exist: train or build that variant first "
                               "(see `make help`)")
        if not path.is_file():
            raise VariantError(f"{folder} has no {MANIFEST}: it was not written by this project's glue scripts "
                               "(or the run that wrote it was interrupted; rerun it)")
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise VariantError(f"{path}: not UTF-8 text; {REBUILD}") from None
        except json.JSONDecodeError as err:
            raise VariantError(f"{path}: not valid JSON ({err.msg}, line {err.lineno}: truncated or "
                               f"edited); {REBUILD}") from None
        if not isinstance(body, dict):
            raise VariantError(f"{path}: a JSON object is expected, found {type(body).__name__}; {REBUILD}")
        return cls.from_dict(body, path)
