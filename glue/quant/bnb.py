"""bitsandbytes INT8 (LLM.int8(), ``load_in_8bit``) and 4-bit (NF4/FP4, ``load_in_4bit``) loads of
a fine-tuned checkpoint. bitsandbytes quantizes while weights load, so ``apply`` reloads the
folder the model came from. Bit width, 4-bit type and double quantization are LLaMA-Factory's own
recipe keys (quantization_bit, quantization_method: bnb, quantization_type, double_quantization);
skip modules and the compute dtype go in quant_config. ``save_pretrained`` of the quantized model
works on CPU (checked with bitsandbytes 0.50.2), so the variant folder is self-contained and
reloads with plain ``from_pretrained`` (the quantization config travels in config.json).

With ``quant_config.rounding: gptq`` (4-bit only) the weights bitsandbytes loads are first rounded
onto its own 4-bit grid by GPTQ (glue/quant/gptq.py) on a calibration sample of the train split:
bitsandbytes, reading a weight already on its grid, stores the codes GPTQ chose. Round-to-nearest
spreads NF4's error evenly over every Linear, so no short skip list removes it; GPTQ lowers it in
all of them at no cost in size or speed.

With ``quant_config.max_drop`` the skip list is tuned on the validation split (glue/quant/tuning.py):
each round reloads the folder skipping the round's FP32 Linears, and a Linear's sensitivity is its
output error with only its weight rounded as bitsandbytes rounds it (:func:`weight_rounding`,
round-to-nearest also under GPTQ: it orders the candidates, it does not score them)."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

import torch
from tqdm import tqdm

from glue.quant.base import (
    Applied,
    CalibrationOption,
    QuantConfig,
    QuantContext,
    QuantReport,
    layer_filter,
    require,
    select,
)
from glue.quant.facts import DataNeed
from glue.quant.gptq import RoundColumn, gptq, hessians
from glue.quant.tuning import TunableMethod, TuningOption, reference, tune, weight_output
from glue.schema.recipe import RecipeError, llamafactory_defaults

if TYPE_CHECKING:
    import transformers

LLAMAFACTORY_KEYS = {"bits": "quantization_bit", "quant_type": "quantization_type",
                     "double_quant": "double_quantization"}
BLOCK_SIZE = 64  # the 4-bit absmax block bitsandbytes' Linear4bit quantizes its weight in


@dataclass
class BnbConfig(TuningOption, CalibrationOption):
    bits: int = 4
    quant_type: Literal["nf4", "fp4"] = "nf4"   # 4-bit only
    double_quant: bool = True                   # 4-bit only: quantize the block scales too
    compute_dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    # 4-bit only: "gptq" rounds each weight onto the 4-bit grid by GPTQ on calibration_samples train texts
    # before bitsandbytes loads it; "nearest" leaves the rounding to bitsandbytes (round-to-nearest)
    rounding: Literal["nearest", "gptq"] = "nearest"

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
        require(self.rounding == "nearest" or self.bits == 4, "rounding",
                f"{self.rounding!r} is for 4-bit loads; LLM.int8() (quantization_bit 8) rounds to nearest")

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


def grid_columns(weight: torch.Tensor, config: BnbConfig) -> RoundColumn:
    """Round a column of ``weight`` as bitsandbytes' 4-bit quantizer does: the code nearest to
    ``w / absmax`` of its block (64 consecutive inputs of a row; rows of a multiple of 64, see
    :func:`gptq_linears`). The absmax is the original weight's (GPTQ's static groups): each block's
    largest entry lands on the code +/-1 again, so bitsandbytes finds the same absmax in the
    rounded weight and keeps every code."""
    import bitsandbytes.functional as bnb_f

    code = bnb_f.get_4bit_type(config.quant_type, device="cpu").float()
    absmax = weight.detach().float().reshape(weight.shape[0], -1, BLOCK_SIZE).abs().amax(-1)

    def round_column(column: torch.Tensor, index: int) -> torch.Tensor:
        scale = absmax[:, index // BLOCK_SIZE].unsqueeze(1)
        unit = torch.where(scale > 0, column / scale.clamp_min(torch.finfo(torch.float32).tiny), 0).clamp(-1, 1)
        return code[(unit.unsqueeze(-1) - code).abs().argmin(-1)] * scale

    return round_column


def gptq_linears(model: torch.nn.Module, config: BnbConfig) -> dict[str, torch.nn.Linear]:
    """The Linears GPTQ rounds: those bitsandbytes quantizes whose rows are whole blocks of 64 (every
    Linear of the project's models). bitsandbytes' CPU round trip of a block that spans two rows
    does not give back the codes it chose, so such a Linear keeps bitsandbytes' nearest rounding."""
    return {name: module for name, module in select(model, layer_filter(config))
            if module.in_features % BLOCK_SIZE == 0}


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
                   "training. A 4-bit weight takes the nearest code, or with GPTQ rounding the code that keeps the "
                   "Linear's output on a calibration sample closest to FP32's, each column's rounding error "
                   "carried over to the columns after it.")
    data = DataNeed.NONE
    families = ("encoder", "decoder")
    backend = "bitsandbytes via transformers BitsAndBytesConfig"
    fp32_ops = ("Embeddings, LayerNorm, softmax, GELU, attention matmuls and the skipped heads stay FP32: "
                "bitsandbytes replaces nn.Linear only; the 6-way head in NF4 fails on CPU "
                "('N must be divisible by block_n'), hence skip_modules.")

    def is_quantized(self, module: torch.nn.Module) -> bool:
        return type(module).__module__.startswith("bitsandbytes")

    def data_for(self, config: dict[str, Any]) -> DataNeed:
        """GPTQ rounding reads unlabelled train texts: the load stops being data-free."""
        need = super().data_for(config)
        return DataNeed.CALIBRATION if need is DataNeed.NONE and config.get("rounding") == "gptq" else need

    def observers(self, config: BnbConfig) -> dict[str, str]:
        if config.bits == 8:
            return {"weight": "LLM.int8(): absmax int8 per output row",
                    "activation": "dynamic absmax int8 per token (outlier columns in FP16/FP32 above threshold 6.0)"}
        return {"weight": f"{config.quant_type} 4-bit, absmax per block of 64"
                          + (", block scales quantized again (double quantization)" if config.double_quant else "")
                          + (", codes chosen by GPTQ on the calibration texts" if config.rounding == "gptq"
                             else ", nearest code"),
                "activation": f"none: weights dequantized to {config.compute_dtype} for the matmul"}

    def apply(self, model: torch.nn.Module, config: BnbConfig, context: QuantContext) -> Applied:
        source = Path(model.name_or_path)
        require((source / "config.json").is_file(), "method",
                f"bitsandbytes quantizes while loading and needs the model's folder; {source} has no config.json")
        with tempfile.TemporaryDirectory() as scratch:
            calibration = None
            if config.rounding == "gptq":
                source, calibration = self._gptq_folder(model, config, context, Path(scratch))

            def build(trial: BnbConfig) -> Applied:
                # transformers matches llm_int8_skip_modules as a name prefix or suffix only ("pooler" would not
                # skip "bert.pooler.dense"), so pass the full names our own skip rule selects on this model.
                kept = kept_linears(model, trial)
                loaded = self._from_pretrained(source, trial.hf_config(kept))
                if trial.rounding == "gptq":  # a Linear kept FP32 keeps its own weight, not GPTQ's rounded one
                    for name in kept:
                        loaded.get_submodule(name).weight.data.copy_(model.get_submodule(name).weight)
                return loaded, QuantReport(trial, calibration=calibration)

            if config.max_drop is None:
                return build(config)
            fp32 = reference(model, config, context, output=weight_output(weight_rounding(config)), when_needed=True)
            _, report = tune(fp32, config, build)
            # Scoring ran bitsandbytes' CPU kernel, which repacks a 4-bit weight in place on its first forward
            # (absmax rounded to bfloat16): the folder holds a fresh load with the chosen skip list instead.
            return build(report.config)[0], report

    @staticmethod
    def _gptq_folder(model: torch.nn.Module, config: BnbConfig, context: QuantContext,
                     folder: Path) -> tuple[Path, dict[str, Any]]:
        """``model`` saved to ``folder`` with every Linear bitsandbytes may quantize rounded by GPTQ
        onto its grid (``model`` itself is left as it was), and the manifest's calibration block."""
        started = time.perf_counter()
        batches = config.calibration_batches(context)
        linears = gptq_linears(model, config)
        inputs = hessians(model, lambda module, name: name in linears, batches)
        state = model.state_dict()
        for name, linear in tqdm(linears.items(), desc="GPTQ rounding", unit="Linear"):
            state[f"{name}.weight"] = gptq(linear.weight, inputs[name], grid_columns(linear.weight, config))
        model.save_pretrained(folder, state_dict=state)
        return folder, context.calibration(batches, started, rounding="GPTQ onto the 4-bit grid, one Linear at a "
                                           "time on FP32 inputs", linears=str(len(linears)))

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
