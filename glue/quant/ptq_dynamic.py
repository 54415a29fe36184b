"""PTQ dynamic INT8 (torch.ao ``quantize_dynamic``): Linear weights are stored int8, activations
are quantized on the fly per batch, so no calibration data is needed. Optionally the word
embeddings are stored int8 weight-only (one scale and offset per row, "float qparams"): on MiniLM
they are half the model, so the size only falls below a quarter of FP32 with them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from glue.quant.base import (
    Int8EmbeddingsOption,
    QuantContext,
    QuantMethod,
    layer_filter,
    require,
    require_embeddings_found,
    select,
)


@dataclass
class DynamicConfig(Int8EmbeddingsOption):
    bits: int = 8
    granularity: Literal["per_channel", "per_tensor"] = "per_channel"  # of Linear weights

    def validate(self) -> None:
        require(self.bits == 8, "bits", f"{self.bits}-bit is impossible: torch.ao dynamic quantization has int8 "
                "weights only (use method bnb for 4-bit)")


def _is_torch_ao_quantized(module: torch.nn.Module) -> bool:
    return type(module).__module__.startswith("torch.ao.nn.quantized")


class PTQDynamic(QuantMethod):
    name = "ptq_dynamic"
    config_cls = DynamicConfig
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
                "embedding": "per-row float scale and offset (float_qparams), quint8, weight-only"}

    def apply(self, model: torch.nn.Module, config: DynamicConfig, context: QuantContext) -> torch.nn.Module:
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

    def rebuild(self, model: torch.nn.Module, config: DynamicConfig) -> torch.nn.Module:
        """Dynamic quantization needs no data, so rebuilding the structure is applying it."""
        return self.apply(model, config, QuantContext())


METHOD = PTQDynamic()
