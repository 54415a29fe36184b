"""What every quantization method shares: its config (parsed and validated from a recipe's
``quant_config``), the method interface with its facts (glue/quant/facts.py), the report ``apply``
returns, and the manifest's ``quantization`` block, built by walking the quantized model rather
than by restating the recipe."""
from __future__ import annotations

import dataclasses
import re
import time
import typing
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import torch

from data_prep.prepared import Split
from glue.folder.manifest import DEFAULT_MAX_LENGTH
from glue.folder.weights import TORCH_STATE
from glue.quant.facts import DataNeed, MethodFacts
from glue.schema.recipe import RecipeError, _type_ok

if TYPE_CHECKING:  # tuning builds on this module
    from glue.quant.tuning import TuningResult, TuningSkipped

# Heads kept in full precision by default: tiny (a 6-way head is 0.01% of MiniLM), they decide
# the prediction directly, and bitsandbytes' NF4 CPU kernel fails on a 6-wide output.
DEFAULT_SKIP = ("classifier", "pooler", "score")
# Parameters that feed every transformer layer rather than belonging to one: token and position
# tables, and MPNet's relative-attention bias (one table shared by all 12 layers). Freezing
# "the lower layers" freezes these too, or the frozen layers' inputs would still move.
SHARED_INPUTS = re.compile(r"embed|relative_attention_bias|\bwte\b|\bwpe\b")
# The number of the transformer layer a module sits in (BERT/MPNet ``layer``, Llama ``layers``,
# GPT-2 ``h``, others ``block(s)``): QAT's freezing and the per-layer sensitivity read it.
LAYER_INDEX = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")


@dataclass
class QuantConfig:
    """Base of every method's options. Subclasses add fields; ``validate`` rejects impossible ones."""

    skip_modules: list[str] = field(default_factory=lambda: list(DEFAULT_SKIP),
                                    metadata={"help": "module names (or name prefixes) left in higher precision"})

    @classmethod
    def from_recipe(cls, quant_config: dict[str, Any], model_args: Any = None) -> "QuantConfig":
        """Build from a recipe's ``quant_config``; ``model_args`` carries LLaMA-Factory's own
        quantization keys, which only bitsandbytes uses."""
        if model_args is not None and getattr(model_args, "quantization_bit", None) is not None:
            raise RecipeError(f"quantization_bit is LLaMA-Factory's on-the-fly (bitsandbytes) key; for {cls.__name__} "
                              "set quant_config.bits instead")
        return cls.from_dict(quant_config)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "QuantConfig":
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        for key, value in values.items():
            if key not in names:
                raise RecipeError(f"quant_config.{key} is not an option of {cls.__name__}; options: {', '.join(sorted(names))}")
            if not _type_ok(value, hints[key]):
                raise RecipeError(f"quant_config.{key}={value!r} has the wrong type (expected {hints[key]})")
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise RecipeError naming the setting when a combination cannot work."""

    def chooses_on_validation(self) -> bool:
        """Whether a setting is chosen on the validation split (a tuning budget, a search), so
        ``python -m glue.quantize`` reads that split; never the test split."""
        return False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def skipped(self, name: str) -> bool:
        """True for a module named in ``skip_modules`` or inside one (``classifier`` skips
        ``classifier.dense`` too); a name matches a full dotted component."""
        parts = name.split(".")
        return any(s in parts or name == s or name.startswith(s + ".") for s in self.skip_modules)


@dataclass
class Int8EmbeddingsOption(QuantConfig):
    """For methods that can also store Embedding tables int8 weight-only (ptq_dynamic, ptq_pt2e)."""

    embeddings: list[str] = field(default_factory=list, metadata={
        "help": "Embedding modules (names or last name components, e.g. word_embeddings) stored int8 weight-only"})


@dataclass
class CalibrationOption(QuantConfig):
    """For methods that read a sample of the train split before quantizing (static activation
    ranges, SmoothQuant's input maxima)."""

    calibration_samples: int = 256  # first N examples of the train split
    calibration_batch_size: int = 32

    def validate(self) -> None:
        super().validate()
        require(self.calibration_samples > 0, "calibration_samples",
                f"{self.calibration_samples}: calibrating needs at least one example")
        require(self.calibration_batch_size > 0, "calibration_batch_size", "must be positive")

    def calibration_batches(self, context: QuantContext) -> list[dict[str, torch.Tensor]]:
        return context.batches(self.calibration_batch_size, self.calibration_samples)


def names_module(entry: str, fqn: str) -> bool:
    """An ``embeddings`` entry names a module by its whole name or by its trailing dotted part."""
    return fqn == entry or fqn.endswith("." + entry)


def embedding_filter(config: Int8EmbeddingsOption) -> FilterFn:
    """The Embedding modules ``config.embeddings`` names, outside ``skip_modules``."""
    return lambda module, fqn: (isinstance(module, torch.nn.Embedding) and not config.skipped(fqn)
                                and any(names_module(entry, fqn) for entry in config.embeddings))


def require_embeddings_found(model: torch.nn.Module, config: Int8EmbeddingsOption) -> list[str]:
    """The Embedding modules ``config.embeddings`` selects; an entry that names none is an error."""
    found = [name for name, _ in select(model, embedding_filter(config))]
    missing = [e for e in config.embeddings if not any(names_module(e, n) for n in found)]
    require(not missing, "embeddings", f"no Embedding module named {missing} in {type(model).__name__}")
    return found


def require(condition: bool, setting: str, why: str) -> None:
    if not condition:
        raise RecipeError(f"quant_config.{setting}: {why}")


# torchao's shape: ``filter_fn(module, fully_qualified_name) -> bool`` picks the modules a method touches.
FilterFn = Callable[[torch.nn.Module, str], bool]


def is_conv1d(module: torch.nn.Module) -> bool:
    """transformers' GPT-2 Conv1D: a Linear whose weight is stored transposed, (in, out)."""
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def layer_filter(config: QuantConfig, conv1d: bool = False) -> FilterFn:
    """nn.Linear layers (and GPT-2 Conv1D when ``conv1d``) outside the config's ``skip_modules``."""
    return lambda module, fqn: ((isinstance(module, torch.nn.Linear) or (conv1d and is_conv1d(module)))
                                and not config.skipped(fqn))


def select(model: torch.nn.Module, filter_fn: FilterFn) -> list[tuple[str, torch.nn.Module]]:
    """The one walk over a model every method uses: (name, module) pairs ``filter_fn`` accepts."""
    return [(fqn, module) for fqn, module in model.named_modules() if filter_fn(module, fqn)]


# What :func:`observe` hands each selected module's forward: its name, input, output and the batch.
Record = Callable[[str, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]], None]


@torch.no_grad()
def observe(model: torch.nn.Module, filter_fn: FilterFn, batches: list[dict[str, torch.Tensor]],
            record: Record) -> None:
    """Run ``batches`` through ``model`` calling ``record`` on every forward of a module ``filter_fn``
    selects (the calibration statistics SmoothQuant and the outlier scan read); the hooks are
    removed afterwards, also when a forward fails."""
    current: dict[str, dict[str, torch.Tensor]] = {}

    def hook_for(name: str):
        def hook(_module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            record(name, inputs[0].detach(), output.detach(), current["batch"])
        return hook

    handles = [module.register_forward_hook(hook_for(name)) for name, module in select(model, filter_fn)]
    try:
        for batch in batches:
            current["batch"] = batch
            model(**batch)
    finally:
        for handle in handles:
            handle.remove()


def replace_modules(model: torch.nn.Module, filter_fn: FilterFn,
                    replacement: Callable[[torch.nn.Module], torch.nn.Module]) -> int:
    """Swap every module ``filter_fn`` accepts for ``replacement(module)``; returns how many."""
    chosen = select(model, filter_fn)
    require(bool(chosen), "skip_modules", f"no layer of {type(model).__name__} is left to quantize")
    for fqn, module in chosen:
        parent, _, child = fqn.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, replacement(module))
    return len(chosen)


@dataclass
class QuantContext:
    """What a method may need beyond the model: data to calibrate or fine-tune on."""

    tokenizer: Any = None
    split: Split | None = None  # the prepared train split (calibration sample / QAT data)
    max_length: int = DEFAULT_MAX_LENGTH
    training_args: Any = None  # transformers TrainingArguments, QAT only
    validation: Split | None = None  # the prepared validation split (accuracy-aware tuning scores it)

    def batches(self, batch_size: int, limit: int | None = None) -> list[dict[str, torch.Tensor]]:
        """Tokenized batches of the first ``limit`` texts, sorted by length so padding stays small."""
        if self.split is None or self.tokenizer is None:
            raise RecipeError("this method needs calibration data: run it through python -m glue.quantize")
        texts = self.split.texts[:limit] if limit else self.split.texts
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = []
        for start in range(0, len(order), batch_size):
            chunk = [texts[i] for i in order[start:start + batch_size]]
            out.append(dict(self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                           return_tensors="pt")))
        return out

    def calibration(self, batches: list[dict[str, torch.Tensor]], started: float, **details: str) -> dict[str, Any]:
        """The manifest's ``calibration`` block: how many texts of which split, the method's
        ``details`` (observer, where the activation ranges come from) and the seconds since ``started``."""
        return {"samples": sum(len(b["input_ids"]) for b in batches), "source": self.split.name, **details,
                "time_s": round(time.perf_counter() - started, 2)}


@dataclass
class QuantReport:
    """What ``apply`` did besides returning the model: the config the model was built with (the
    outlier scan and tuning may add skip modules; the manifest stores this one, so ``rebuild`` gives
    the same structure) and what it measured, for the manifest."""

    config: QuantConfig
    calibration: dict[str, Any] | None = None   # the sample the ranges or scales came from
    outlier_scan: dict[str, Any] | None = None  # the Linears kept FP32 for outlier tokens
    training: dict[str, Any] | None = None      # QAT's fine-tune: the manifest's training block
    tuning: TuningResult | TuningSkipped | None = None  # a max_drop budget: its FP32 Linears and rounds, or why not

    def quantization_entries(self) -> dict[str, Any]:
        """The measurements that belong in the manifest's ``quantization`` block."""
        tuning = None if self.tuning is None else self.tuning.manifest_block()
        return {k: v for k, v in (("calibration", self.calibration), ("outlier_scan", self.outlier_scan),
                                  ("tuning", tuning)) if v is not None}


Applied = tuple[torch.nn.Module, QuantReport]


class QuantMethod:
    """One quantization method and its facts. ``apply`` quantizes a loaded FP32 model; ``rebuild``
    turns an FP32 model built from config.json into the same quantized *structure* (no data), so a
    saved state dict can be loaded into it without unpickling modules."""

    name: ClassVar[str]
    config_cls: ClassVar[type[QuantConfig]]
    title: ClassVar[str]          # the reports' name for it
    variant_titles: ClassVar[dict[str, str]] = {}  # per variant (recipe name), where it has several
    description: ClassVar[str]    # the reports' paragraph on the technique
    data: ClassVar[DataNeed]
    families: ClassVar[tuple[str, ...]] = ("encoder",)
    backend: ClassVar[str]
    weights_file: ClassVar[str] = TORCH_STATE
    # Ops that carry no weight and stay FP32, with the reason; recorded in the manifest.
    fp32_ops: ClassVar[str] = ""
    # torch.ao's quantized kernels exist for CPU only.
    devices: ClassVar[tuple[str, ...]] = ("cpu",)

    @property
    def facts(self) -> MethodFacts:
        return MethodFacts(self.name, self.title, self.description, self.data, self.devices, self.families,
                           dict(self.variant_titles))

    def data_for(self, config: dict[str, Any]) -> DataNeed:
        """What a run with ``config`` (a manifest's quantization config) read; the method's own
        ``data`` unless an option changes it."""
        return self.data

    def is_quantized(self, module: torch.nn.Module) -> bool:
        raise NotImplementedError

    def apply(self, model: torch.nn.Module, config: QuantConfig, context: QuantContext) -> Applied:
        """The quantized model (``model`` itself, changed in place, or a new one: use the returned
        one) and the report. ``config`` is left as it was."""
        raise NotImplementedError

    def rebuild(self, model: torch.nn.Module, config: QuantConfig) -> torch.nn.Module:
        """Only needed by methods that use the default ``load``."""
        raise NotImplementedError

    def save(self, model: torch.nn.Module, folder: Path) -> None:
        """Quantized torch tensors (and packed params) cannot go into safetensors; plain
        ``torch.save`` of the state dict is read back with ``weights_only=True``."""
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / self.weights_file)

    def load(self, folder: Path, config: QuantConfig) -> torch.nn.Module:
        from transformers import AutoConfig, AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(folder)).eval()
        model = self.rebuild(model, config)
        state = torch.load(folder / self.weights_file, weights_only=True)
        model.load_state_dict(state, strict=True)
        return model.eval()

    def place(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """Put a loaded model on ``device`` (a method whose loading places its modules keeps it)."""
        return model.to(device)

    def observers(self, config: QuantConfig) -> dict[str, str]:
        """How weight and activation ranges are found, in words, for the manifest."""
        return {}

    def describe(self, model: torch.nn.Module, config: QuantConfig, bits: int) -> dict[str, Any]:
        """The manifest's ``quantization`` block, computed by walking ``model``."""
        quantized: list[str] = []
        quantized_types: Counter[str] = Counter()
        kept: dict[str, str] = {}
        kept_types: Counter[str] = Counter()

        def walk(module: torch.nn.Module, prefix: str) -> None:
            if self.is_quantized(module):
                quantized.append(prefix)
                quantized_types[type(module).__name__] += 1
                return
            own = [p for p in module.parameters(recurse=False) if p.is_floating_point()]
            if own:
                kept[prefix] = str(own[0].dtype).replace("torch.", "")
                kept_types[type(module).__name__] += 1
            for child_name, child in module.named_children():
                walk(child, f"{prefix}.{child_name}" if prefix else child_name)

        walk(model, "")
        return {
            "method": self.name, "backend": self.backend, "bits": bits, "config": config.as_dict(),
            "observers": self.observers(config),
            "quantized": {"count": len(quantized), "by_type": dict(quantized_types), "modules": quantized},
            "higher_precision": {"count": len(kept), "by_type": dict(kept_types), "modules": kept,
                                 "weightless_ops_fp32": self.fp32_ops},
        }
