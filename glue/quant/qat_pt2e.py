"""Quantization-aware training on the PT2E graph, ending in the same compiled oneDNN int8 model
as ptq_pt2e.

The steps are ptq_pt2e's with a fine-tune in the middle: int8 embedding tables and SmoothQuant,
then the *training* graph is exported (dropout included) and torchao's ``prepare_qat_pt2e``
puts fake quantizers on the Linears' weights and inputs (X86InductorQuantizer, is_qat=True), so
a short fine-tune with the recipe's training keys adapts the weights to int8 rounding. The
trained weights are copied back into the model, which then goes through ptq_pt2e's conversion
with the input ranges the fake quantizers learned (not re-measured: the weights adapted to
those): one saved format and one loader for both methods.

Eager QAT (``qat``) fake-quantizes each Linear's output as well, as its converted int8 Linears
requantize them; this graph quantizes inputs only, like the model it converts to.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from glue.folder.manifest import VariantError
from glue.quant.base import Applied, QuantContext
from glue.quant.facts import DataNeed
from glue.quant.ptq_pt2e import (
    EXPORT_ROOT,
    PTQPT2E,
    PT2EConfig,
    input_observers,
    prepare,
    require_single_segment,
    with_alpha_search,
)
from glue.quant.qat import FineTuneOption, fine_tune, freeze_lower, require_training_data, teacher_of
from glue.quant.smooth import SmoothedLinear
from glue.quant.tuning import fall_back_


@dataclass
class QATPT2EConfig(PT2EConfig, FineTuneOption):
    """ptq_pt2e's options and the fine-tune's."""


class LossOf(torch.nn.Module):
    """The fake-quantized graph as a model the Trainer can fine-tune: a batch in, loss and logits out."""

    def __init__(self, graph: torch.fx.GraphModule) -> None:
        super().__init__()
        self.graph = graph

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> SequenceClassifierOutput:
        require_single_segment(token_type_ids)
        logits = self.graph(input_ids, attention_mask)
        loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def train(self, mode: bool = True) -> LossOf:
        """The graph was exported in training mode and stays so: an exported module refuses
        ``train()``/``eval()``, which the Trainer calls every step."""
        self.training = mode
        return self


def learned_ranges(graph: torch.fx.GraphModule) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Linear name -> the (min, max) of its input that the fake quantizer tracked in training: the
    ranges the weights adapted to (a moving average of batch ranges, narrower than a min/max)."""
    ranges = {}
    for name, module in input_observers(graph).items():
        tracked = graph.get_submodule(module).activation_post_process
        ranges[name] = (tracked.min_val.detach().clone(), tracked.max_val.detach().clone())
    return ranges


def copy_trained_weights(graph: torch.fx.GraphModule, model: torch.nn.Module) -> None:
    """Put the fine-tuned graph's parameters back into ``model`` (same names under EXPORT_ROOT)."""
    trained = dict(graph.named_parameters())
    wanted = {name: EXPORT_ROOT + name for name, _ in model.named_parameters()}
    missing = [name for name, key in wanted.items() if key not in trained]
    if missing:
        raise VariantError(f"the exported training graph lacks {len(missing)} parameters of the model "
                           f"(first: {missing[0]}); torch.export renamed them")
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(trained[wanted[name]])


def folded(smoothed: SmoothedLinear) -> torch.nn.Linear:
    """The plain Linear computing what ``smoothed`` does, its scale folded into the weight: a Linear
    that falls back is stored unsmoothed, as loading rebuilds it."""
    with torch.no_grad():
        smoothed.linear.weight.mul_(smoothed.inv_scale)
    return smoothed.linear


class QATPT2E(PTQPT2E):
    name = "qat_pt2e"
    config_cls = QATPT2EConfig
    title = "QAT, compiled graph"
    description = ("Quantization-aware training on the exported graph: the PT2E steps above (int8 embedding table, "
                   "SmoothQuant), then fake quantizers on each Linear's weight and input while a short fine-tune "
                   "adapts the weights to int8 rounding; the trained model is then calibrated, converted and compiled "
                   "exactly like the post-training PT2E variant, whose saved format and loader it shares.")
    data = DataNeed.TRAINING
    backend = ("torchao PT2E QAT: torch.export (training graph) + X86InductorQuantizer(is_qat) + prepare_qat_pt2e, "
               "fine-tune, then ptq_pt2e's calibration, convert_pt2e and torch.compile (Inductor, oneDNN int8)")

    def observers(self, config: QATPT2EConfig) -> dict[str, str]:
        return {**super().observers(config),
                "activation": "the moving-average min/max of each Linear input learned by its fake quantizer in "
                              "training, affine uint8 per tensor, 8-bit",
                "training": "FusedMovingAvgObsFakeQuantize on weights (per channel) and Linear inputs (per tensor)"}

    def apply(self, model: torch.nn.Module, config: QATPT2EConfig, context: QuantContext) -> Applied:
        require_training_data(context)
        batches = config.calibration_batches(context)
        config, alphas = self.chosen_alpha(model, config, context, batches)  # as ptq_pt2e would, before training
        fp32 = (None if config.max_drop is None  # the probe is copied before training changes ``model``
                else self.tuning_reference(model, config, context, batches, copy_now=True))
        teacher = teacher_of(model, config)  # before the int8 embedding table and smoothing change it
        self.int8_ready_(model, config, batches)
        graph = prepare(model, config, batches[-1], context.max_length, qat=True)
        if config.freeze_layers:
            freeze_lower(graph, config.freeze_layers)
        training = fine_tune(LossOf(graph), context, config, teacher)
        copy_trained_weights(graph, model)
        ranges = learned_ranges(graph)
        if fp32 is None:
            quantized, report = self.calibrate_and_convert(model, config, context, batches, ranges)
        else:  # the fallback is chosen after training, on the trained weights
            def build(trial: QATPT2EConfig) -> Applied:
                kept = {name: r for name, r in ranges.items() if not trial.skipped(name.removeprefix(EXPORT_ROOT))}
                ready = fall_back_(copy.deepcopy(model), trial, SmoothedLinear, folded)
                return self.calibrate_and_convert(ready, trial, context, batches, kept)
            quantized, report = self.tuned(fp32, config, build)
        return with_alpha_search((quantized, dataclasses.replace(report, training=training)), alphas)


METHOD = QATPT2E()
