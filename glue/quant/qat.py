"""Quantization-aware training (torch.ao eager ``prepare_qat``): the same Linear wrapping as
static PTQ, but with fake-quantizers that round weights and inputs to int8 in the forward pass
while gradients flow straight through, so a short fine-tune from the baseline adapts the weights
to the rounding. ``convert`` then produces the real int8 model, identical in structure to static
PTQ's. Epochs, learning rate and batch size come from the recipe's LLaMA-Factory training keys."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch

from glue.quant.base import LAYER_INDEX, SHARED_INPUTS, Applied, QuantConfig, QuantContext, QuantReport, require
from glue.quant.facts import DataNeed
from glue.quant.outliers import keep_outliers_fp32
from glue.quant.ptq_static import EagerConfig, PTQStatic, eager_qconfig, wrap_linears
from glue.quant.tuning import fall_back_, int8_output, reference, tune


@dataclass
class FineTuneOption(QuantConfig):
    """For the methods that fine-tune with fake quantization (qat, qat_pt2e): what trains and on what."""

    freeze_layers: int = 0  # freeze the embeddings and the lowest N transformer layers (faster, steadier)
    # labels: cross-entropy on the train labels; distill: the FP32 model's class distribution on the
    # same batch (glue/train/distill.py), so the fine-tune adapts to rounding instead of re-learning
    fine_tune_loss: Literal["labels", "distill"] = "labels"

    def validate(self) -> None:
        super().validate()
        require(self.freeze_layers >= 0, "freeze_layers", "must be 0 or more")


@dataclass
class QATConfig(EagerConfig, FineTuneOption):
    # Fake-quant observers track a moving average of each batch's range while weights change.
    activation_observer: Literal["moving_average_minmax", "histogram", "minmax"] = "moving_average_minmax"

    def validate(self) -> None:
        super().validate()
        require(self.activation_observer == "moving_average_minmax", "activation_observer",
                f"{self.activation_observer!r} is impossible for QAT: fake quantization needs a running "
                "(moving-average min/max) range that follows the changing weights")


def freeze_lower(model: torch.nn.Module, layers: int) -> int:
    """Freeze the shared input tables (glue.quant.base.SHARED_INPUTS) and transformer layers numbered
    below ``layers``; returns frozen tensors."""
    frozen = 0
    for name, param in model.named_parameters():
        match = LAYER_INDEX.search(name)
        if SHARED_INPUTS.search(name) or (match and int(match.group(1)) < layers):
            param.requires_grad_(False)
            frozen += 1
    return frozen


def require_training_data(context: QuantContext) -> None:
    require(context.training_args is not None and context.split is not None, "method",
            "QAT fine-tunes: run it through python -m glue.quantize with a recipe that has training keys")


def teacher_of(model: torch.nn.Module, config: FineTuneOption) -> torch.nn.Module | None:
    """A frozen FP32 copy of ``model`` to distill from, taken before any method changes it; None
    when the fine-tune learns from the labels."""
    return copy.deepcopy(model).eval() if config.fine_tune_loss == "distill" else None


def fine_tune(model: torch.nn.Module, context: QuantContext, config: FineTuneOption,
              teacher: torch.nn.Module | None) -> dict[str, Any]:
    """The short fine-tune of every QAT method, with the recipe's LLaMA-Factory training keys, on
    the labels or (with a ``teacher``, :func:`teacher_of`) on the FP32 model's predictions; returns
    what it did, for the manifest's training block. Callers check :func:`require_training_data`
    first, before any slow preparation."""
    from glue.train.training import count_parameters, make_trainer, train_with_stats

    trainer = make_trainer(model, context.training_args, context.tokenizer, context.split, None, context.max_length,
                           teacher=teacher)
    args = context.training_args
    return {
        **train_with_stats(trainer, resume_from=None), "max_steps": args.max_steps,
        "learning_rate": args.learning_rate, "batch_size": args.per_device_train_batch_size,
        "source": context.split.name, "frozen_lower_layers": config.freeze_layers,
        "loss": config.fine_tune_loss, "parameters": count_parameters(model), "threads": torch.get_num_threads()}


class QAT(PTQStatic):
    name = "qat"
    config_cls = QATConfig
    title = "QAT"
    description = ("Quantization-aware training: fake-quantize modules round weights and activations to the int8 grid "
                   "in the forward pass while gradients flow through unchanged (straight-through estimator); after a "
                   "short fine-tune the model is converted to real int8.")
    data = DataNeed.TRAINING
    backend = "torch.ao.quantization eager mode (QuantWrapper per Linear, prepare_qat/convert)"

    def observers(self, config: QATConfig) -> dict[str, str]:
        weight = ("FakeQuantize(MovingAveragePerChannelMinMaxObserver), symmetric qint8 per output row"
                  if config.granularity == "per_channel" else "FakeQuantize(MovingAverageMinMaxObserver), per tensor")
        return {"weight": weight, "activation": "FakeQuantize(MovingAverageMinMaxObserver), affine quint8 per tensor, " +
                ("7-bit (reduce_range)" if config.reduce_range else "8-bit"), "backend": config.backend}

    def apply(self, model: torch.nn.Module, config: QATConfig, context: QuantContext) -> Applied:
        from torch.ao.quantization import QuantWrapper, convert, prepare_qat

        require_training_data(context)
        torch.backends.quantized.engine = config.backend
        config, scan = keep_outliers_fp32(model, config, context)
        fp32 = (None if config.max_drop is None
                else reference(model, config, context, output=int8_output(config.reduce_range)))
        teacher = teacher_of(model, config)
        if config.freeze_layers:
            freeze_lower(model, config.freeze_layers)
        wrap_linears(model, config, eager_qconfig(config, qat=True))
        prepare_qat(model.train(), inplace=True)
        training = fine_tune(model, context, config, teacher)

        def converted(trained: torch.nn.Module, built: QATConfig) -> Applied:
            return convert(trained.eval(), inplace=True), QuantReport(built, outlier_scan=scan, training=training)

        if fp32 is not None:  # the fallback is chosen after training: a Linear keeps its trained FP32 weights
            return tune(fp32, config, lambda trial: converted(
                fall_back_(copy.deepcopy(model), trial, QuantWrapper, lambda wrapper: wrapper.module.to_float()), trial))
        return converted(model, config)


METHOD = QAT()
