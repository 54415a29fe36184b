"""bitsandbytes INT8 (LLM.int8(), ``load_in_8bit``) and 4-bit (NF4/FP4, ``load_in_4bit``) loads of
a fine-tuned checkpoint. bitsandbytes quantizes while weights load, so ``apply`` reloads the
folder the model came from. Bit width, 4-bit type and double quantization are LLaMA-Factory's own
recipe keys (quantization_bit, quantization_method: bnb, quantization_type, double_quantization);
skip modules and the compute dtype go in quant_config. ``save_pretrained`` of the quantized model
works on CPU (checked with bitsandbytes 0.50.2), so the variant folder is self-contained and
reloads with plain ``from_pretrained`` (the quantization config travels in config.json).

With ``quant_config.max_drop`` the skip list is tuned on the validation split (glue/quant/tuning.py):
each round reloads the folder skipping the round's FP32 Linears, and a Linear's sensitivity is its
output error with only its weight rounded as bitsandbytes rounds it (:func:`weight_rounding`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

import torch

from glue.quant.base import Applied, QuantConfig, QuantContext, QuantReport, require
from glue.quant.facts import DataNeed
from glue.quant.tuning import TunableMethod, TuningOption, reference, tune, weight_output
from glue.schema.recipe import RecipeError, llamafactory_defaults

if TYPE_CHECKING:
    import transformers

LLAMAFACTORY_KEYS = {"bits": "quantization_bit", "quant_type": "quantization_type",
                     "double_quant": "double_quantization"}
BLOCK_SIZE = 64  # the 4-bit absmax block bitsandbytes' Linear4bit quantizes its weight in


@dataclass
class BnbConfig(TuningOption):
    bits: int = 4
    quant_type: Literal["nf4", "fp4"] = "nf4"   # 4-bit only
    double_quant: bool = True                   # 4-bit only: quantize the block scales too
    compute_dtype: Literal["float32", "bfloat16", "float16"] = "float32"

    @classmethod
    def from_recipe(cls, quant_config: dict[str, Any], model_args: Any = None) -> "BnbConfig":
        clash = sorted(set(quant_config) & set(LLAMAFACTORY_KEYS))
        if clash:
            raise RecipeError(f"quant_config.{clash[0]}: set LLaMA-Factory's key {LLAMAFACTORY_KEYS[clash[0]]!r} instead")
        values = dict(quant_config)
        if model_args is not None:
            if model_args.quantization_bit is None:
                raise RecipeError("method bnb needs quantization_bit (4 or 8), LLaMA-Factory's key")
            method = getattr(model_args.quantization_method, "value", model_args.quantization_method)
            if method != "bnb":
                raise RecipeError(f"quantization_method {method!r}: glue's bnb method is bitsandbytes; set it to bnb")
            values.update(bits=model_args.quantization_bit, quant_type=model_args.quantization_type,
                          double_quant=model_args.double_quantization)
        return cls.from_dict(values)

    def validate(self) -> None:
        super().validate()
        require(self.bits in (4, 8), "bits", f"quantization_bit {self.bits}: bitsandbytes loads 4 or 8 bits")

    def hf_config(self, skip: list[str]) -> transformers.BitsAndBytesConfig:
        from transformers import BitsAndBytesConfig

        if self.bits == 8:
            return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=self.quant_type,
                                  bnb_4bit_use_double_quant=self.double_quant,
                                  bnb_4bit_compute_dtype=getattr(torch, self.compute_dtype), llm_int8_skip_modules=skip)


def from_llamafactory_keys(keys: dict[str, Any], skip_modules: list[str]) -> BnbConfig | None:
    """The bitsandbytes config a LLaMA-Factory recipe's own keys (``quantization_bit``, ...) ask
    for, as this project's one BnbConfig; None when the recipe does not quantize."""
    from types import SimpleNamespace

    if keys.get("quantization_bit") is None:
        return None
    args = SimpleNamespace(**llamafactory_defaults(keys, tuple(LLAMAFACTORY_KEYS.values()) + ("quantization_method",)))
    return BnbConfig.from_recipe({"skip_modules": skip_modules}, args)


def block(model: torch.nn.Module, config: BnbConfig, scope: str) -> dict[str, Any]:
    """The ``quantization`` block of a model whose body bitsandbytes holds (QLoRA, the SFT
    classifier): the same shape as every glue.quant method's, by walking the model."""
    return {**METHOD.describe(model, config, config.bits), "scope": scope}


def weight_rounding(config: BnbConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    """A weight (out, in) -> the same weight after bitsandbytes' round trip, by its own functions:
    4-bit in blocks of 64 with one absmax each (and those absmax quantized again with double
    quantization), or LLM.int8()'s int8 with one absmax per output row."""
    import bitsandbytes.functional as bnb_f

    if config.bits == 8:
        return lambda weight: bnb_f.int8_vectorwise_dequant(*bnb_f.int8_vectorwise_quant(weight)[:2])
    return lambda weight: bnb_f.dequantize_4bit(*bnb_f.quantize_4bit(
        weight, blocksize=BLOCK_SIZE, quant_type=config.quant_type, compress_statistics=config.double_quant))


def kept_linears(model: torch.nn.Module, config: QuantConfig) -> list[str]:
    """Full names of the Linear layers ``skip_modules`` keeps out of bitsandbytes."""
    return [name for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and config.skipped(name)]


class Bnb(TunableMethod):
    name = "bnb"
    config_cls = BnbConfig
    title = "bitsandbytes"
    variant_titles = {"bnb_int8": "LLM.int8() (bitsandbytes)", "bnb_nf4": "NF4 (bitsandbytes)"}
    description = ("bitsandbytes load-time quantization of the fine-tuned checkpoint: LLM.int8() (int8 weights, "
                   "outlier activation columns in 16-bit) or 4-bit NF4/FP4 with optional double quantization. No "
                   "calibration, no training.")
    data = DataNeed.NONE
    families = ("encoder", "decoder")
    backend = "bitsandbytes via transformers BitsAndBytesConfig"
    fp32_ops = ("Embeddings, LayerNorm, softmax, GELU, attention matmuls and the skipped heads stay FP32: "
                "bitsandbytes replaces nn.Linear only; the 6-way head in NF4 fails on CPU "
                "('N must be divisible by block_n'), hence skip_modules.")

    def is_quantized(self, module: torch.nn.Module) -> bool:
        return type(module).__module__.startswith("bitsandbytes")

    def observers(self, config: BnbConfig) -> dict[str, str]:
        if config.bits == 8:
            return {"weight": "LLM.int8(): absmax int8 per output row",
                    "activation": "dynamic absmax int8 per token (outlier columns in FP16/FP32 above threshold 6.0)"}
        return {"weight": f"{config.quant_type} 4-bit, absmax per block of 64"
                          + (", block scales quantized again (double quantization)" if config.double_quant else ""),
                "activation": f"none: weights dequantized to {config.compute_dtype} for the matmul"}

    def apply(self, model: torch.nn.Module, config: BnbConfig, context: QuantContext) -> Applied:
        source = Path(model.name_or_path)
        require((source / "config.json").is_file(), "method",
                f"bitsandbytes quantizes while loading and needs the model's folder; {source} has no config.json")

        def build(trial: BnbConfig) -> Applied:
            # transformers matches llm_int8_skip_modules as a name prefix or suffix only ("pooler" would not
            # skip "bert.pooler.dense"), so pass the full names our own skip rule selects on this model.
            return self._from_pretrained(source, trial.hf_config(kept_linears(model, trial))), QuantReport(trial)

        if config.max_drop is None:
            return build(config)
        fp32 = reference(model, config, context, output=weight_output(weight_rounding(config)), when_needed=True)
        _, report = tune(fp32, config, build)
        # Scoring ran bitsandbytes' CPU kernel, which repacks a 4-bit weight in place on its first forward
        # (absmax rounded to bfloat16): the folder holds a fresh load with the chosen skip list instead.
        return build(report.config)[0], report

    @staticmethod
    def _from_pretrained(folder: Path, quantization_config=None) -> torch.nn.Module:
        from transformers import AutoModelForSequenceClassification

        extra = {"quantization_config": quantization_config} if quantization_config is not None else {}
        return AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32, **extra).eval()

    def save(self, model: torch.nn.Module, folder: Path) -> None:
        model.save_pretrained(folder)  # safetensors with the packed 8/4-bit weights and their statistics

    def load(self, folder: Path, config: BnbConfig) -> torch.nn.Module:
        return self._from_pretrained(folder)

    def place(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        return model  # bitsandbytes places its own modules while loading


METHOD = Bnb()
