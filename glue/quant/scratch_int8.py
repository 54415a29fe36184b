"""From-scratch INT8 (no quantization library): every Linear, and GPT-2's Conv1D, becomes an
:class:`Int8Linear` holding int8 weights plus their scales (glue/quant/int8_math.py).

Two execution modes:
- ``dequant``: store int8, dequantize to FP32 for each matmul (saves memory, not time);
- ``intmm``: real integer compute. Activations are quantized per token (symmetric int8) on the
  fly, ``torch._int_mm`` multiplies int8 x int8 with int32 accumulation, and one fused rescale
  ``acc * x_scale * w_scale`` returns FP32. The weight is stored pre-transposed to (in, out) and
  contiguous, the layout ``_int_mm`` wants, so nothing is copied per call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from safetensors.torch import load_model, save_model

from glue.quant.base import (
    Applied,
    QuantConfig,
    QuantContext,
    QuantMethod,
    QuantReport,
    is_conv1d,
    layer_filter,
    replace_modules,
    require,
)
from glue.quant.facts import DataNeed
from glue.quant.int8_math import QTensor, dequantize, int8_matmul, quantize


@dataclass
class ScratchConfig(QuantConfig):
    bits: int = 8
    granularity: Literal["per_channel", "per_tensor"] = "per_channel"   # weights: one scale per output unit
    scheme: Literal["symmetric", "asymmetric"] = "symmetric"           # weights
    mode: Literal["dequant", "intmm"] = "intmm"
    activation_granularity: Literal["per_token", "per_tensor", "per_channel"] = "per_token"  # intmm only

    def validate(self) -> None:
        require(2 <= self.bits <= 8, "bits", f"{self.bits}: int8 storage holds 2 to 8 bits")
        require(self.activation_granularity != "per_channel", "activation_granularity",
                "per_channel is impossible for activations: a scale per input channel lies along the summed "
                "dimension K and cannot be factored out of an integer matmul; use per_token")
        require(self.mode == "intmm" or self.activation_granularity == "per_token", "activation_granularity",
                "only the intmm mode quantizes activations; leave it at per_token for mode dequant")


class Int8Linear(torch.nn.Module):
    """``y = x @ W + b`` with ``W`` stored int8 as (in_features, out_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool, config: ScratchConfig) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.mode, self.per_token = config.mode, config.activation_granularity == "per_token"
        self.asymmetric = config.scheme == "asymmetric"
        channels = out_features if config.granularity == "per_channel" else 1
        self.register_buffer("qweight", torch.zeros(in_features, out_features, dtype=torch.int8))
        self.register_buffer("scale", torch.ones(1, channels))
        self.register_buffer("zero_point", torch.zeros(1, channels, dtype=torch.int32))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)

    @classmethod
    def from_float(cls, module: torch.nn.Module, config: ScratchConfig) -> "Int8Linear":
        # nn.Linear stores (out, in); Conv1D already stores (in, out).
        weight_kn = module.weight.detach() if is_conv1d(module) else module.weight.detach().t()
        layer = cls(weight_kn.shape[0], weight_kn.shape[1], module.bias is not None, config)
        q = quantize(weight_kn, bits=config.bits, symmetric=config.scheme == "symmetric",
                     axis=1 if config.granularity == "per_channel" else None)
        layer.qweight.copy_(q.values)
        layer.scale.copy_(q.scale)
        layer.zero_point.copy_(q.zero_point)
        if module.bias is not None:
            layer.bias.copy_(module.bias.detach())
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features).float()
        if self.mode == "intmm":
            y = int8_matmul(x2, self.qweight, self.scale, self.zero_point if self.asymmetric else None,
                            self.per_token, self.bias)
        else:
            y = x2 @ dequantize(QTensor(self.qweight, self.scale, self.zero_point))
            if self.bias is not None:
                y = y + self.bias
        return y.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, mode={self.mode}, channels={self.scale.shape[1]}"


class ScratchInt8(QuantMethod):
    name = "scratch_int8"
    config_cls = ScratchConfig
    title = "own INT8"
    variant_titles = {"scratch_int8_dequant": "own INT8, float matmul",
                      "scratch_int8_intmm": "own INT8, integer matmul"}
    description = ("INT8 quantization written from scratch in this project (no quantization library): int8 weights "
                   "with scales; 'dequant' mode expands them back to FP32 for every matmul (a size win only), 'intmm' "
                   "mode multiplies int8 weights by int8 activations with integer accumulation.")
    data = DataNeed.NONE
    families = ("encoder", "decoder")
    backend = "glue.quant.int8_math (hand-written; intmm mode uses torch._int_mm)"
    weights_file = "quantized_model.safetensors"
    devices = ("cpu", "cuda")
    fp32_ops = ("Embeddings, LayerNorm, softmax, GELU, attention matmuls and the skipped heads stay FP32: only "
                "weight matmuls (Linear/Conv1D) dominate compute and size among ops with int8 value; in intmm "
                "mode each layer's input is quantized per token on the fly and its output is FP32.")

    def is_quantized(self, module: torch.nn.Module) -> bool:
        return isinstance(module, Int8Linear)

    def observers(self, config: ScratchConfig) -> dict[str, str]:
        weight = f"min/max of the weight, {config.scheme} int{config.bits}, {config.granularity.replace('_', ' ')}"
        activation = ("none: FP32 input times the dequantized weight" if config.mode == "dequant" else
                      f"dynamic symmetric int8 absmax, {config.activation_granularity.replace('_', ' ')}")
        return {"weight": weight, "activation": activation}

    def apply(self, model: torch.nn.Module, config: ScratchConfig, context: QuantContext) -> Applied:
        return self.rebuild(model, config), QuantReport(config)

    def rebuild(self, model: torch.nn.Module, config: ScratchConfig) -> torch.nn.Module:
        """Quantizing the randomly initialised model gives the right shapes; the load overwrites them."""
        replace_modules(model, layer_filter(config, conv1d=True), lambda module: Int8Linear.from_float(module, config))
        return model.eval()

    def save(self, model: torch.nn.Module, folder) -> None:
        model.config.save_pretrained(folder)
        save_model(model, str(folder / self.weights_file))  # plain tensors: safetensors, no pickle

    def load(self, folder, config: ScratchConfig) -> torch.nn.Module:
        from transformers import AutoConfig, AutoModelForSequenceClassification

        model = self.rebuild(AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(folder)), config)
        load_model(model, str(folder / self.weights_file), strict=True)
        return model.eval()


METHOD = ScratchInt8()
