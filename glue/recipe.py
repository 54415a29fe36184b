"""Parse a post-training recipe (recipes/quantize/): LLaMA-Factory's schema plus a few glue-only keys.

Shared keys are parsed by LLaMA-Factory's own argument classes (``ModelArguments``,
``DataArguments``, ``TrainingArguments``, ``FinetuningArguments``), so ``learning_rate`` or
``lora_rank`` mean exactly what they mean there. Keys neither LLaMA-Factory nor glue knows,
and values of the wrong type, are rejected with a message that names the key.

Training recipes are LLaMA-Factory's own (``stage: seq_cls``, run by ``llamafactory-cli train``;
see seqcls/). The glue-only keys here (``task``, ``method``, ``quant_config``, ...) make
``llamafactory-cli train`` refuse a post-training recipe ("Some keys are not used by the
HfArgumentParser: ['task', ...]") instead of training something meaningless.
"""
from __future__ import annotations

import dataclasses
import enum
import importlib.util
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from omegaconf import OmegaConf

from glue.quiet import quiet

quiet()

TASK = "sequence_classification"
PKG_SCHEME = "pkg://"


class RecipeError(ValueError):
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
        return self.data.dataset[0].rsplit("_", 1)[0]


def _arg_classes() -> tuple[type, ...]:
    from llamafactory.hparams import DataArguments, FinetuningArguments, ModelArguments, TrainingArguments

    return ModelArguments, DataArguments, TrainingArguments, FinetuningArguments, GlueArguments


def resolve_model_path(name: str) -> str:
    """``pkg://package/sub/dir`` names a model shipped inside an installed Python package."""
    if not name.startswith(PKG_SCHEME):
        return name
    package, _, sub = name[len(PKG_SCHEME):].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RecipeError(f"model {name!r}: package {package!r} is not installed (run make setup)")
    return str(Path(list(spec.submodule_search_locations)[0]) / sub)


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


def _check_keys(raw: dict[str, Any], classes: tuple[type, ...], path: Path) -> None:
    hints: dict[str, Any] = {}
    for cls in classes:
        try:
            type_hints = typing.get_type_hints(cls)
        except Exception:  # a hint that cannot be resolved is simply not type-checked
            type_hints = {}
        for f in dataclasses.fields(cls):
            hints.setdefault(f.name, type_hints.get(f.name, Any))
    for key, value in raw.items():
        if key not in hints:
            import difflib

            close = difflib.get_close_matches(key, hints, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RecipeError(f"{path}: unknown key {key!r}{hint}; it is neither a LLaMA-Factory nor a glue key")
        if not _type_ok(value, hints[key]):
            raise RecipeError(f"{path}: key {key!r} has value {value!r} of type {type(value).__name__}, "
                              f"expected {getattr(hints[key], '__name__', str(hints[key]))}")


def read_yaml(path: Path) -> dict[str, Any]:
    """A recipe file as a dict, read with OmegaConf as llamafactory-cli reads it: ``3e-5`` is a
    float there, a string in PyYAML."""
    if not path.is_file():
        raise RecipeError(f"recipe {path} not found")
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path)) or {}
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys to values")
    return raw


def load_recipe(path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Recipe:
    """Load, merge ``key=value`` overrides, validate, and parse a glue recipe."""
    from transformers import HfArgumentParser

    path = Path(path)
    raw = read_yaml(path)
    if isinstance(overrides, dict):
        raw.update(overrides)
    else:
        for item in overrides or []:
            if "=" not in item:
                raise RecipeError(f"override {item!r} is not key=value")
        # a deep merge: quant_config.freeze_layers=4 changes that one option and keeps the recipe's others
        raw = OmegaConf.to_container(OmegaConf.merge(raw, OmegaConf.from_cli(list(overrides or []))))
    if raw.get("task") != TASK:
        raise RecipeError(f"{path}: not a glue recipe (task: {TASK} missing). Recipes without it are "
                          "LLaMA-Factory's own: run them with llamafactory-cli train")
    classes = _arg_classes()
    _check_keys(raw, classes, path)
    parsed = dict(raw)
    parsed["model_name_or_path"] = resolve_model_path(str(raw.get("model_name_or_path", "")))
    try:
        model, data, training, finetuning, glue_args = HfArgumentParser(classes).parse_dict(parsed)
    except (ValueError, TypeError) as err:
        raise RecipeError(f"{path}: {err}") from None
    if not glue_args.method:
        raise RecipeError(f"{path}: key 'method' is required (a method in glue/quant/, e.g. ptq_dynamic)")
    # output_dir is outputs/models/<dataset>/<model_tag>/<variant>: the result's name follows it.
    glue_args.model_tag = glue_args.model_tag or Path(training.output_dir).parent.name
    glue_args.variant = glue_args.variant or Path(training.output_dir).name
    if not data.dataset:
        raise RecipeError(f"{path}: key 'dataset' is required (e.g. emotion_train)")
    return Recipe(path, raw, model, data, training, finetuning, glue_args)
