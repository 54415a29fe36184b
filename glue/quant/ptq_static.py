"""PTQ static INT8 in torch.ao eager mode (x86/fbgemm backend): every Linear is wrapped in a
``QuantWrapper`` (quantize its input, int8 Linear, dequantize its output), observers record
activation ranges on a fixed calibration sample of the train split, then ``convert`` freezes
those ranges into int8 kernels.

Only Linear layers are wrapped. Eager mode needs every quantized op to be a module and every
boundary to be an explicit Quant/DeQuant stub; Hugging Face's BERT computes attention scores,
softmax, residual adds and GELU with functional calls, which eager mode cannot see, and FX graph
mode (which could) fails to trace the whole model (docs/environment.md)."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from tqdm import tqdm

from glue.quant.base import (
    Applied,
    CalibrationOption,
    QuantContext,
    QuantReport,
    layer_filter,
    replace_modules,
    require,
)
from glue.quant.facts import DataNeed
from glue.quant.outliers import OutlierOption, keep_outliers_fp32
from glue.quant.tuning import TunableMethod, TuningOption, int8_output, reference, tune

FP32_OPS = ("LayerNorm, softmax, GELU, residual adds and attention score/context matmuls stay FP32: Hugging Face "
            "computes them with functional calls (torch.matmul, softmax, +) that eager-mode torch.ao cannot "
            "intercept, and LayerNorm/softmax lose accuracy in int8. Embeddings stay FP32 (static int8 kernels "
            "cover Linear, and a lookup gains no speed from int8); the skipped heads stay FP32 because they are "
            "tiny and decide the label directly. Each wrapped Linear quantizes its input with a calibrated "
            "scale and dequantizes its output.")


@dataclass
class EagerConfig(OutlierOption, TuningOption):
    """Options torch.ao eager mode offers for wrapped Linear layers (shared with QAT), and the two
    ways to keep Linears in FP32: the outlier scan (a hand-picked ratio) and a validation budget."""

    bits: int = 8
    granularity: Literal["per_channel", "per_tensor"] = "per_channel"       # weights
    activation_granularity: Literal["per_tensor", "per_channel"] = "per_tensor"
    activation_observer: Literal["histogram", "minmax", "moving_average_minmax"] = "histogram"
    backend: Literal["x86", "fbgemm"] = "x86"
    # 7-bit activations: torch.ao's x86/fbgemm default, for CPUs without VNNI whose int8 x uint8
    # products saturate a 16-bit intermediate sum. CPUs with AVX-512 VNNI (this one) can use 8 bits.
    reduce_range: bool = True

    def validate(self) -> None:
        super().validate()
        require(self.bits == 8, "bits", f"{self.bits}-bit is impossible: torch.ao static quantization has int8 "
                "kernels only (use method bnb for 4-bit)")
        require(self.activation_granularity == "per_tensor", "activation_granularity",
                "per_channel is impossible: a torch.ao quantized Linear takes one input scale per tensor")


@dataclass
class StaticConfig(EagerConfig, CalibrationOption):
    """Eager options and the calibration sample the observers see."""


def eager_qconfig(config: EagerConfig, qat: bool) -> "torch.ao.quantization.QConfig":
    """Observers (or, for QAT, fake-quantizers) for Linear inputs and weights."""
    from torch.ao import quantization as q

    if qat:
        weight = q.default_per_channel_weight_fake_quant if config.granularity == "per_channel" else q.default_weight_fake_quant
        activation = q.FakeQuantize.with_args(observer=q.MovingAverageMinMaxObserver, quant_min=0,
                                              quant_max=127 if config.reduce_range else 255, dtype=torch.quint8,
                                              qscheme=torch.per_tensor_affine, reduce_range=config.reduce_range)
        return q.QConfig(activation=activation, weight=weight)
    observers = {"histogram": q.HistogramObserver, "minmax": q.MinMaxObserver,
                 "moving_average_minmax": q.MovingAverageMinMaxObserver}
    weight = q.default_per_channel_weight_observer if config.granularity == "per_channel" else q.default_weight_observer
    return q.QConfig(activation=observers[config.activation_observer].with_args(reduce_range=config.reduce_range), weight=weight)


def wrap_linears(model: torch.nn.Module, config: EagerConfig, qconfig) -> int:
    """Wrap every non-skipped nn.Linear in a QuantWrapper carrying ``qconfig``; returns how many."""
    from torch.ao.quantization import QuantWrapper

    def wrap(module: torch.nn.Module) -> torch.nn.Module:
        wrapper = QuantWrapper(module)
        wrapper.qconfig = qconfig
        return wrapper

    return replace_modules(model, layer_filter(config), wrap)


class PTQStatic(TunableMethod):
    name = "ptq_static"
    config_cls = StaticConfig
    title = "static PTQ"
    description = ("Post-training static quantization: observers record activation ranges on calibration batches, "
                   "then weights and activations both run in int8 with fixed scales and zero-points.")
    data = DataNeed.CALIBRATION
    backend = "torch.ao.quantization eager mode (QuantWrapper per Linear, prepare/convert)"
    fp32_ops = FP32_OPS

    def is_quantized(self, module: torch.nn.Module) -> bool:
        return type(module).__module__.startswith("torch.ao.nn.quantized") and hasattr(module, "_packed_params")

    def observers(self, config: EagerConfig) -> dict[str, str]:
        weight = ("PerChannelMinMaxObserver, symmetric qint8 per output row" if config.granularity == "per_channel"
                  else "MinMaxObserver, symmetric qint8 per tensor")
        return {"weight": weight, "activation": f"{config.activation_observer} observer, affine quint8 per tensor, " +
                ("7-bit (reduce_range)" if config.reduce_range else "8-bit"), "backend": config.backend}

    def apply(self, model: torch.nn.Module, config: StaticConfig, context: QuantContext) -> Applied:
        torch.backends.quantized.engine = config.backend
        batches = config.calibration_batches(context)
        config, scan = keep_outliers_fp32(model, config, context)
        if config.max_drop is not None:  # glue/quant/tuning.py picks the Linears that stay FP32
            fp32 = reference(model, config, context, output=int8_output(config.reduce_range), when_needed=True)
            return tune(fp32, config, lambda trial: self.calibrate(copy.deepcopy(model), trial, context, batches, scan))
        return self.calibrate(model, config, context, batches, scan)

    def calibrate(self, model: torch.nn.Module, config: StaticConfig, context: QuantContext,
                  batches: list[dict[str, torch.Tensor]], scan: dict[str, Any] | None) -> Applied:
        """Wrap, observe ``batches`` and convert ``model`` in place."""
        from torch.ao.quantization import convert, prepare

        wrap_linears(model.eval(), config, eager_qconfig(config, qat=False))
        prepare(model, inplace=True)
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in tqdm(batches, desc="calibrating", unit="batch"):
                model(**batch)
        calibration = context.calibration(batches, start, observer=config.activation_observer)
        return convert(model, inplace=True), QuantReport(config, calibration=calibration, outlier_scan=scan)

    def rebuild(self, model: torch.nn.Module, config: EagerConfig) -> torch.nn.Module:
        """The quantized structure without calibrating: observers that saw no data give placeholder
        scales, which ``load_state_dict`` then overwrites with the saved ones."""
        import warnings

        from torch.ao.quantization import convert, prepare

        torch.backends.quantized.engine = config.backend
        wrap_linears(model.eval(), config, eager_qconfig(config, qat=False))
        prepare(model, inplace=True)
        with warnings.catch_warnings():  # "must run observer before calling calculate_qparams": intended here
            warnings.simplefilter("ignore")
            return convert(model, inplace=True)


METHOD = PTQStatic()
