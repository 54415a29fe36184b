"""PTQ dynamic INT8 (torch.ao ``quantize_dynamic``): Linear weights are stored int8, activations
are quantized on the fly per batch with one scale per tensor. Optionally the word embeddings are
stored int8 weight-only (one scale and offset per row, "float qparams"): on MiniLM they are half
the model, so the size only falls below a quarter of FP32 with them.

One scale per activation tensor is set by its largest value, and MPNet's outlier channels make
that scale too coarse for every other channel. With ``smooth_alpha`` > 0, SmoothQuant
(glue/quant/smooth.py) first moves those outliers into the weights, using the input maxima of a
small train-split sample; without it the method needs no data at all. The scale is also set per
*batch*, so a text's prediction depends on its batch-mates (docs/methods.md has the figures)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import torch

from glue.quant.base import (
    Applied,
    Int8EmbeddingsOption,
    QuantContext,
    QuantMethod,
    QuantReport,
    layer_filter,
    require,
    require_embeddings_found,
    select,
)
from glue.quant.facts import DataNeed
from glue.quant.smooth import SMOOTHED_INNER, SmoothQuantOption, smooth_, smoothed_structure_


@dataclass
class DynamicConfig(Int8EmbeddingsOption, SmoothQuantOption):
    bits: int = 8
    granularity: Literal["per_channel", "per_tensor"] = "per_channel"  # of Linear weights

    def validate(self) -> None:
        super().validate()
        require(self.bits == 8, "bits", f"{self.bits}-bit is impossible: torch.ao dynamic quantization has int8 "
                "weights only (use method bnb for 4-bit)")


def _is_torch_ao_quantized(module: torch.nn.Module) -> bool:
    return type(module).__module__.startswith("torch.ao.nn.quantized")


class PTQDynamic(QuantMethod):
    name = "ptq_dynamic"
    config_cls = DynamicConfig
    title = "dynamic PTQ"
    description = ("Post-training dynamic quantization: Linear weights are stored in int8 ahead of time; activations "
                   "are quantized on the fly with a scale computed per batch (so a text's result can depend on which "
                   "texts share its batch), and no calibration ranges are stored. With SmoothQuant on, outlier input "
                   "channels are first divided by per-channel scales (multiplied into the weight columns) set from a "
                   "few hundred unlabelled texts.")
    data = DataNeed.NONE
    backend = "torch.ao.quantization.quantize_dynamic (eager, fbgemm/x86 kernels)"
    fp32_ops = ("LayerNorm, softmax, GELU, attention score/context matmuls, position and token-type embeddings, "
                "and the skipped heads run in FP32: torch.ao's dynamic mode only has int8 kernels for Linear "
                "(and weight-only Embedding); each Linear quantizes its input on the fly and returns FP32.")

    def is_quantized(self, module: torch.nn.Module) -> bool:
        return _is_torch_ao_quantized(module)

    def observers(self, config: DynamicConfig) -> dict[str, str]:
        return {"weight": ("PerChannelMinMaxObserver, symmetric qint8, one scale per output row"
                           if config.granularity == "per_channel" else "MinMaxObserver, symmetric qint8, one scale"),
                "activation": "dynamic: min/max of each batch at run time, per tensor (quint8)",
                "embedding": "per-row float scale and offset (float_qparams), quint8, weight-only",
                "smoothing": f"SmoothQuant alpha={config.smooth_alpha}" if config.smooth_alpha else "none"}

    def data_for(self, config: dict[str, Any]) -> DataNeed:
        """SmoothQuant reads unlabelled texts: a data-free method stops being one when it is on."""
        return DataNeed.CALIBRATION if config.get("smooth_alpha") else self.data

    def describe(self, model: torch.nn.Module, config: DynamicConfig, bits: int) -> dict[str, Any]:
        """The base walk, with each smoothed Linear named as in the recipe's model."""
        block = super().describe(model, config, bits)
        block["quantized"]["modules"] = [name.removesuffix(SMOOTHED_INNER) for name in block["quantized"]["modules"]]
        return block

    def smooths(self, model: torch.nn.Module, config: DynamicConfig) -> bool:
        """SmoothQuant is on and there is a Linear to smooth (a config quantizing embeddings alone has none)."""
        return bool(config.smooth_alpha) and bool(select(model, layer_filter(config)))

    def apply(self, model: torch.nn.Module, config: DynamicConfig, context: QuantContext) -> Applied:
        calibration = None
        if self.smooths(model, config):
            start, batches = time.perf_counter(), config.calibration_batches(context)
            with torch.no_grad():
                smooth_(model.eval(), layer_filter(config), batches, config.smooth_alpha)
            calibration = context.calibration(batches, start, input_ranges="per batch at run time")
        return self.quantize_(model, config), QuantReport(config, calibration=calibration)

    def rebuild(self, model: torch.nn.Module, config: DynamicConfig) -> torch.nn.Module:
        """The smoothed structure (scales of 1, overwritten by the saved state), then the same quantization."""
        if self.smooths(model, config):
            smoothed_structure_(model, layer_filter(config))
        return self.quantize_(model, config)

    def quantize_(self, model: torch.nn.Module, config: DynamicConfig) -> torch.nn.Module:
        from torch.ao.quantization import (
            default_dynamic_qconfig,
            float_qparams_weight_only_qconfig,
            per_channel_dynamic_qconfig,
            quantize_dynamic,
        )

        linear_qconfig = per_channel_dynamic_qconfig if config.granularity == "per_channel" else default_dynamic_qconfig
        spec: dict[str, object] = {name: linear_qconfig for name, _ in select(model, layer_filter(config))}
        spec.update({name: float_qparams_weight_only_qconfig for name in require_embeddings_found(model, config)})
        require(bool(spec), "skip_modules", f"no layer of {type(model).__name__} is left to quantize")
        return quantize_dynamic(model.eval(), spec, dtype=torch.qint8, inplace=True)


METHOD = PTQDynamic()
