"""PTQ static INT8 for oneDNN through PT2E: torchao's ``X86InductorQuantizer`` on an exported graph,
compiled by Inductor, so int8 Linears run on oneDNN's AMX tiles (or AVX-512 VNNI where there is no
AMX) and quantize/dequantize, GELU, LayerNorm and residual adds are fused around them.

Eager torch.ao (ptq_static) wraps each Linear alone and runs FBGEMM kernels between FP32 ops;
this path is what PyTorch documents for x86 int8 inference (export -> prepare_pt2e -> calibrate
-> convert_pt2e -> torch.compile). Only Linear layers are annotated: the quantizer's other
patterns would also observe MPNet's integer relative-position arithmetic.

Activations get one calibrated scale per tensor, which collapses on MPNet's outlier channels
(macro-F1 -4.6 points on 500 test texts), so SmoothQuant (glue/quant/smooth.py) first moves
them into the weights. The word embeddings (a fifth of MPNet) are stored int8 weight-only
(glue/quant/int8_embedding.py) when ``embeddings`` names them, as the recipe does.

With ``smooth_alphas`` the SmoothQuant strength is chosen per model on the validation split: each
candidate's all-int8 model is calibrated, and the one whose validation logits stay closest to
FP32's (mean KL divergence) is kept, before any Linear falls back.

Saving: the graph is rebuilt at load, never unpickled. The file holds the calibrated observers'
ranges, the int8 weights of the quantized Linears and every other tensor in FP32 (safetensors);
loading re-exports the same structure, puts the int8 weights back on the grid the observers
define, and converts, which reproduces the saved integers exactly.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import torch
from torch._inductor import config as inductor_config
from tqdm import tqdm

from glue.folder.manifest import Manifest, VariantError
from glue.quant.base import Applied, Int8EmbeddingsOption, QuantContext, QuantReport, layer_filter, require
from glue.quant.facts import DataNeed
from glue.quant.int8_embedding import Int8Embedding, int8_tables_
from glue.quant.smooth import SMOOTHED_INNER, SmoothQuantOption, smooth_, smoothed_structure_
from glue.quant.tuning import (
    Reference,
    TunableMethod,
    TuningOption,
    mean_kl,
    no_validation_split,
    reference,
    tune,
    validation_logits,
)

STATE_FILE = "pt2e_state.safetensors"
EXPORT_ROOT = "model."  # the exported wrapper's attribute: every parameter name starts with it
FP32_OPS = ("Embedding tables not named in quant_config.embeddings, LayerNorm, softmax, the attention score/context matmuls and the skipped heads stay FP32 "
            "(only Linear layers are annotated); Inductor fuses the quantize/dequantize steps, the SmoothQuant "
            "multiply, GELU and residual adds into the kernels around each int8 Linear.")


@dataclass
class PT2EConfig(Int8EmbeddingsOption, SmoothQuantOption, TuningOption):
    bits: int = 8
    # The strength when there are no candidates (docs/methods.md: each strength on MPNet's validation).
    smooth_alpha: float = 0.75
    # Candidates for smooth_alpha, chosen on validation by the mean KL divergence of the all-int8
    # model's logits from FP32's; empty: smooth_alpha as given.
    smooth_alphas: list[float] = field(default_factory=list)
    activation_observer: Literal["minmax", "histogram"] = "minmax"
    compile: bool = True  # False runs the converted graph eagerly (reference int8 math, slow; for tests)
    # Inductor's C++ GEMM templates, timed against oneDNN's int8 matmul for each Linear shape while
    # compiling: shorter launches at small batches, a compile about three times as long.
    max_autotune: bool = False

    def validate(self) -> None:
        super().validate()
        require(self.bits == 8, "bits", f"{self.bits}-bit is impossible: oneDNN's quantized Linear is int8 only")
        require(all(0.0 <= alpha <= 1.0 for alpha in self.smooth_alphas), "smooth_alphas",
                f"{self.smooth_alphas}: every candidate strength is in [0, 1]")

    def chooses_on_validation(self) -> bool:
        return super().chooses_on_validation() or bool(self.smooth_alphas)


class LogitsOf(torch.nn.Module):
    """The classifier as ``(input_ids, attention_mask) -> logits``: the signature that is exported."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def graph_args(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A tokenized batch as the exported graph's positional inputs (:class:`LogitsOf`'s order)."""
    return batch["input_ids"], batch["attention_mask"]


def require_single_segment(token_type_ids: torch.Tensor | None) -> None:
    """The exported signature has no segment input: refuse sentence pairs rather than drop them."""
    if token_type_ids is not None and bool(token_type_ids.any()):
        raise VariantError("ptq_pt2e/qat_pt2e export single-segment inputs; sentence pairs (token_type_ids != 0) "
                           "need another method (ptq_static, qat)")


# Freezing turns the int8 weights into constants oneDNN prepacks once. It must be on in the global
# Inductor config whenever (re)compiling happens: torch.compile(options={"freezing": True}) fails on
# onednn.qlinear_prepack under fake tensors (torch 2.13). The C++ wrapper launches the kernels without
# Python in between, which halves the time at batch 1, where launching is most of the cost
# (docs/benchmark.md); batch 32 is unchanged.
COMPILED = {"freezing": True, "cpp_wrapper": True}
# With the C++ GEMM templates, Inductor's in-place buffer reuse gives wrong logits from the second
# encoder layer on (MiniLM: relative error 0.6-1.2 against the eager graph; one layer alone is exact);
# without it the compiled graph matches the eager one (torch 2.13). The timings of each choice are not printed.
MAX_AUTOTUNE = {"max_autotune": True, "max_autotune_gemm_backends": "CPP,ATEN", "inplace_buffers": False,
                "autotune_num_choices_displayed": 0, "max_autotune_report_choices_stats": False}


def inductor_settings(config: PT2EConfig) -> dict[str, Any] | None:
    """The Inductor config the graph is compiled under, or None to run it eagerly."""
    if not config.compile:
        return None
    return {**COMPILED, **(MAX_AUTOTUNE if config.max_autotune else {})}


class PT2EClassifier(torch.nn.Module):
    """The converted int8 graph behind the usual ``model(**tokenized)`` call, compiled under
    ``settings`` (:func:`inductor_settings`) or, without them, run eagerly."""

    def __init__(self, converted: torch.fx.GraphModule, hf_config: Any, settings: dict[str, Any] | None,
                 state: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.graph = converted
        self.config = hf_config  # save_pretrained writes it beside the state
        self.state = state  # what save() writes; only a freshly quantized model carries it
        self.settings = settings
        # compiled or not, the graph stays the one registered submodule (no second copy in state_dict)
        object.__setattr__(self, "run", torch.compile(converted, dynamic=True) if settings is not None else converted)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        require_single_segment(token_type_ids)
        with inductor_config.patch(self.settings or {}):
            return self.run(input_ids, attention_mask)


@contextlib.contextmanager
def _without_metadata_pass() -> Iterator[None]:
    """torchao 0.17's convert_pt2e runs PortNodeMetaForQDQ, which names ``aten.transpose.Dimname``,
    an overload torch 2.13 no longer has, and fails. The pass only copies debugging metadata onto
    quantize nodes, so it is skipped while converting."""
    from torch.fx.passes.infra.pass_base import PassBase, PassResult
    from torchao.quantization.pt2e import quantize_pt2e

    class NoMetadata(PassBase):
        def call(self, graph_module: torch.fx.GraphModule) -> PassResult:
            return PassResult(graph_module, False)

    original = quantize_pt2e.PortNodeMetaForQDQ
    quantize_pt2e.PortNodeMetaForQDQ = NoMetadata
    try:
        yield
    finally:
        quantize_pt2e.PortNodeMetaForQDQ = original


def quantizer_for(model: torch.nn.Module, config: PT2EConfig, qat: bool = False):
    """X86InductorQuantizer annotating the non-skipped Linears only; with ``qat``, fake quantizers
    (moving-average ranges) instead of observers."""
    from torchao.quantization.pt2e import MinMaxObserver
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86

    quantizer = x86.X86InductorQuantizer()
    # uint8 per-tensor activations, int8 per-channel weights
    qconfig = x86.get_default_x86_inductor_quantization_config(is_qat=qat)
    if config.activation_observer == "minmax" and not qat:
        activation = dataclasses.replace(qconfig.input_activation,
                                         observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2 ** -12))
        qconfig = dataclasses.replace(qconfig, input_activation=activation, output_activation=activation)
    quantizer.set_module_type_qconfig(torch.nn.Linear, qconfig)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and config.skipped(name):
            quantizer.set_module_name_qconfig(EXPORT_ROOT + name, None)
    return quantizer


def prepare(model: torch.nn.Module, config: PT2EConfig, example: dict[str, torch.Tensor],
            max_length: int, qat: bool = False) -> torch.fx.GraphModule:
    """Export ``model`` for any batch size and any length up to the tokenizer's truncation
    (``max_length``), and insert observers on the chosen Linears (with ``qat``: export the
    training graph, dropout included, and insert fake quantizers)."""
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e, prepare_qat_pt2e

    batch, length = torch.export.Dim("batch", min=1), torch.export.Dim("length", min=2, max=max_length)
    with torch.set_grad_enabled(qat):
        exported = torch.export.export(LogitsOf(model.train(qat)), graph_args(example),
                                       dynamic_shapes=({0: batch, 1: length}, {0: batch, 1: length}))
    insert = prepare_qat_pt2e if qat else prepare_pt2e
    return insert(exported.module(), quantizer_for(model, config, qat))


def weight_observers(prepared: torch.fx.GraphModule) -> dict[str, str]:
    """Parameter name -> the observer module recording its per-channel range."""
    found = {}
    for node in prepared.graph.nodes:
        source = node.args[0] if node.op == "call_module" and node.args else None
        if isinstance(source, torch.fx.Node) and source.op == "get_attr":
            found[source.target] = node.target
    return found


def input_observers(prepared: torch.fx.GraphModule) -> dict[str, str]:
    """Linear module name -> the observer (or fake quantizer) module on that Linear's input."""
    found = {}
    for node in prepared.graph.nodes:
        if node.op == "call_function" and node.target == torch.ops.aten.linear.default:
            source, stack = node.args[0], list((node.meta.get("nn_module_stack") or {}).values())
            if isinstance(source, torch.fx.Node) and source.op == "call_module" and stack:
                found[stack[-1][0]] = source.target
    return found


def convert(prepared: torch.fx.GraphModule) -> torch.fx.GraphModule:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    with _without_metadata_pass():
        converted = convert_pt2e(prepared)
    drop_unused_tensors(converted)
    return converted


def drop_unused_tensors(graph_module: torch.fx.GraphModule) -> None:
    """convert_pt2e folds each quantized weight into a new int8 constant but leaves the FP32
    original registered; drop every parameter and buffer no node reads, or the int8 model holds
    its FP32 copy too (500 MB for MPNet instead of 176)."""
    used = {node.target for node in graph_module.graph.nodes if node.op == "get_attr"}
    for name, _ in list(graph_module.named_parameters()) + list(graph_module.named_buffers()):
        if name not in used:
            owner, _, attr = name.rpartition(".")
            module = graph_module.get_submodule(owner) if owner else graph_module
            delattr(module, attr)


def saved_state(prepared: torch.fx.GraphModule) -> dict[str, torch.Tensor]:
    """Every tensor of the calibrated graph, with the observed weights stored as int8."""
    state = {k: v.detach().clone().contiguous() for k, v in prepared.state_dict().items()}
    for weight, observer in weight_observers(prepared).items():
        scale, zero_point = prepared.get_submodule(observer).calculate_qparams()
        state[weight] = torch.quantize_per_channel(state[weight], scale, zero_point, 0, torch.qint8).int_repr()
    return state


def restore(prepared: torch.fx.GraphModule, state: dict[str, torch.Tensor]) -> None:
    """Load :func:`saved_state` into a freshly prepared graph of the same structure."""
    observed = weight_observers(prepared)
    tensors = prepared.state_dict(keep_vars=True)  # the graph's own parameters and buffers, by name
    if set(tensors) != set(state):
        raise VariantError(f"{STATE_FILE} does not match the rebuilt graph ({len(set(tensors) ^ set(state))} "
                           "tensors differ): it was written by other code or for another model")
    prepared.load_state_dict({k: v for k, v in state.items() if k not in observed}, strict=False)
    with torch.no_grad():
        for weight, observer in observed.items():
            scale, _ = prepared.get_submodule(observer).calculate_qparams()
            tensor = tensors[weight]
            tensor.copy_(state[weight].float() * scale.reshape(-1, *([1] * (tensor.dim() - 1))))


class PTQPT2E(TunableMethod):
    name = "ptq_pt2e"
    config_cls = PT2EConfig
    title = "static PTQ, compiled graph"
    description = ("Post-training static quantization for oneDNN, compiled: the model is exported as one graph "
                   "(torch.export), SmoothQuant first divides each Linear's outlier input channels by a per-channel "
                   "scale that it multiplies into the weight columns, observers calibrate one int8 range per "
                   "activation tensor, and Inductor compiles the int8 graph, fusing quantize/dequantize steps with the "
                   "surrounding element-wise ops around oneDNN's int8 matmuls (AMX or AVX-512 VNNI). The word "
                   "embedding table is stored int8 with one scale per row; a lookup dequantizes only the rows it "
                   "reads.")
    data = DataNeed.CALIBRATION
    backend = ("torchao PT2E: torch.export + X86InductorQuantizer (prepare_pt2e/convert_pt2e) + torch.compile "
               "(Inductor, freezing), oneDNN int8 kernels or, with max_autotune, Inductor's C++ GEMM templates "
               "where they are faster")
    weights_file = STATE_FILE
    fp32_ops = FP32_OPS

    def data_for(self, config: dict[str, Any]) -> DataNeed:
        """Candidate SmoothQuant strengths are chosen on validation, as a budget is."""
        need = super().data_for(config)
        return DataNeed.VALIDATION if config.get("smooth_alphas") and need is DataNeed.CALIBRATION else need

    def observers(self, config: PT2EConfig) -> dict[str, str]:
        return {"weight": "PerChannelMinMaxObserver, symmetric int8 per output row",
                "activation": f"{config.activation_observer} observer, affine uint8 per tensor, 8-bit",
                "smoothing": f"SmoothQuant alpha={config.smooth_alpha}" if config.smooth_alpha else "none"}

    def apply(self, model: torch.nn.Module, config: PT2EConfig, context: QuantContext) -> Applied:
        batches = config.calibration_batches(context)
        config, alphas = self.chosen_alpha(model, config, context, batches)
        if config.max_drop is not None:  # glue/quant/tuning.py picks the Linears that stay FP32
            applied = self.tuned(self.tuning_reference(model, config, context, batches), config,
                                 lambda trial: self.calibrate_and_convert(self.ready_copy(model, trial, batches),
                                                                          trial, context, batches))
        else:
            self.int8_ready_(model, config, batches)
            applied = self.calibrate_and_convert(model, config, context, batches)
        return with_alpha_search(applied, alphas)

    def chosen_alpha(self, model: torch.nn.Module, config: PT2EConfig, context: QuantContext,
                     batches: list[dict[str, torch.Tensor]]) -> tuple[PT2EConfig, dict[str, Any] | None]:
        """``config`` with the ``smooth_alphas`` candidate whose all-int8 model (uncompiled, every
        Linear the recipe quantizes) keeps the validation logits closest to FP32's, and the search
        for the manifest; ``config`` and None without candidates. Without a validation split the
        recipe's ``smooth_alpha`` stays, and the search says why."""
        if not config.smooth_alphas:
            return config, None
        if context.validation is None:
            reason = no_validation_split(context)
            print(f"warning: quant_config.smooth_alphas not chosen, smooth_alpha={config.smooth_alpha} kept: {reason}",
                  file=sys.stderr)
            return config, {"candidates": config.smooth_alphas, "chosen": config.smooth_alpha, "skipped": reason}
        _, logits_on = validation_logits(context, "smooth_alphas")
        fp32 = logits_on(model.eval())
        kl = {}
        for alpha in config.smooth_alphas:
            trial = dataclasses.replace(config, smooth_alpha=alpha, compile=False)
            quantized, _ = self.calibrate_and_convert(self.ready_copy(model, trial, batches), trial, context, batches)
            kl[alpha] = mean_kl(fp32, logits_on(quantized))
            print(f"smooth_alpha {alpha}: mean KL of the validation logits from FP32's {kl[alpha]:.3g}", file=sys.stderr)
        chosen = min(config.smooth_alphas, key=kl.__getitem__)
        return (dataclasses.replace(config, smooth_alpha=chosen),
                {"candidates": config.smooth_alphas, "chosen": chosen, "source": "validation",
                 "texts": len(context.validation), "mean_kl": {str(a): float(f"{v:.4g}") for a, v in kl.items()}})

    def tuning_reference(self, model: torch.nn.Module, config: PT2EConfig, context: QuantContext,
                         batches: list[dict[str, torch.Tensor]], copy_now: bool = False) -> Reference:
        """Validation score of the FP32 ``model``; sensitivity measured where int8 will act, on a
        smoothed copy made only if a round needs it, or now (``copy_now``) for a method that goes
        on to change ``model``."""
        probe = functools.cache(lambda: self.ready_copy(model, config, batches))
        if copy_now:
            probe()
        return reference(model, config, context, probe, when_needed=True)

    def ready_copy(self, model: torch.nn.Module, config: PT2EConfig,
                   batches: list[dict[str, torch.Tensor]]) -> torch.nn.Module:
        """A copy of ``model`` made int8-ready as ``config`` says (a tuning round's, or the probe's)."""
        ready = copy.deepcopy(model)
        self.int8_ready_(ready, config, batches)
        return ready

    def tuned(self, fp32: Reference, config: PT2EConfig, build: Callable[[PT2EConfig], Applied]) -> Applied:
        """Tune with ``build``: a round's graph runs uncompiled (it is only scored); the chosen one is
        compiled as ``config`` says."""
        chosen, report = tune(fp32, dataclasses.replace(config, compile=False), build)
        built = dataclasses.replace(report.config, compile=config.compile)
        return (PT2EClassifier(chosen.graph, chosen.config, inductor_settings(built), chosen.state),
                dataclasses.replace(report, config=built))

    def int8_ready_(self, model: torch.nn.Module, config: PT2EConfig, batches: list[dict[str, torch.Tensor]]) -> None:
        """The FP32 steps before quantizing: int8 embedding tables first (so smoothing and
        calibration see the rows inference will see), then SmoothQuant."""
        with torch.no_grad():
            int8_tables_(model, config, Int8Embedding.from_float)
            if config.smooth_alpha:
                smooth_(model.eval(), layer_filter(config), batches, config.smooth_alpha)

    def calibrate_and_convert(self, model: torch.nn.Module, config: PT2EConfig, context: QuantContext,
                              batches: list[dict[str, torch.Tensor]],
                              ranges: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None) -> Applied:
        """Observe the Linear inputs on ``batches`` and convert; ``ranges`` (Linear name -> input
        min, max), when given, replaces what was observed (QAT's learned ranges). The model is a
        :class:`PT2EClassifier`."""
        start = time.perf_counter()
        with torch.no_grad():
            prepared = prepare(model, config, batches[-1], context.max_length)
            for batch in tqdm(batches, desc="calibrating", unit="batch"):
                prepared(*graph_args(batch))
            observers = input_observers(prepared)
            if ranges is not None and set(ranges) != set(observers):
                raise VariantError(f"learned input ranges for {len(ranges)} Linears, the graph observes "
                                   f"{len(observers)}: the training and inference graphs differ")
            for name, (low, high) in (ranges or {}).items():
                observer = prepared.get_submodule(observers[name])
                observer.min_val.copy_(low)
                observer.max_val.copy_(high)
        calibration = context.calibration(batches, start, observer=config.activation_observer,
                                          input_ranges="learned in training" if ranges else "observed")
        state = saved_state(prepared)
        return (PT2EClassifier(convert(prepared), model.config, inductor_settings(config), state),
                QuantReport(config, calibration))

    def save(self, model: PT2EClassifier, folder: Path) -> None:
        from safetensors.torch import save_file

        if model.state is None:
            raise VariantError("a loaded ptq_pt2e model cannot be saved again: quantize the baseline instead")
        model.config.save_pretrained(folder)
        save_file(model.state, str(folder / self.weights_file))

    def load(self, folder: Path, config: PT2EConfig) -> torch.nn.Module:
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModelForSequenceClassification

        hf_config = AutoConfig.from_pretrained(folder)
        model = AutoModelForSequenceClassification.from_config(hf_config).eval()
        int8_tables_(model, config, Int8Embedding.like)
        if config.smooth_alpha:
            smoothed_structure_(model, layer_filter(config))
        example = {"input_ids": torch.ones(2, 8, dtype=torch.long), "attention_mask": torch.ones(2, 8, dtype=torch.long)}
        prepared = prepare(model, config, example, Manifest.read(folder).max_length)
        state = load_file(str(folder / self.weights_file))
        restore(prepared, state)
        return PT2EClassifier(convert(prepared), hf_config, inductor_settings(config))

    def is_quantized(self, module: torch.nn.Module) -> bool:
        return False  # the int8 Linears are graph nodes, not modules: describe reads the graph

    def describe(self, model: PT2EClassifier, config: PT2EConfig, bits: int) -> dict[str, Any]:
        """Quantized = every aten.linear whose weight comes out of a dequantize node of the converted
        graph (named as the Linear the SmoothedLinear replaced), and the int8 Embedding tables;
        higher precision = every module still owning floating-point parameters."""
        from collections import Counter

        quantized, types = [], {}
        for node in model.graph.graph.nodes:
            stack = list((node.meta.get("nn_module_stack") or {}).values())
            for fqn, cls in stack:  # the exported graph remembers each op's module and its class
                types[fqn.removeprefix(EXPORT_ROOT)] = cls if isinstance(cls, str) else cls.__name__
            if node.op == "call_function" and node.target == torch.ops.aten.linear.default:
                weight = node.args[1]
                if isinstance(weight, torch.fx.Node) and "dequantize" in str(weight.target):
                    name = stack[-1][0].removeprefix(EXPORT_ROOT) if stack else node.name
                    quantized.append(name.removesuffix(SMOOTHED_INNER))  # named as in the recipe's model
        tables = sorted(name for name, cls in types.items() if cls.rpartition(".")[2] == Int8Embedding.__name__)
        kept, kept_types, quantized_names = {}, Counter(), set(quantized)
        for name, module in model.graph.named_modules():
            own = [p for p in module.parameters(recurse=False) if p.is_floating_point()]
            short = name.removeprefix(EXPORT_ROOT)
            if own and name and short.removesuffix(SMOOTHED_INNER) not in quantized_names:  # not a quantized Linear's bias
                kept[short] = str(own[0].dtype).replace("torch.", "")
                kept_types[types.get(short, type(module).__name__).rpartition(".")[2]] += 1
        return {"method": self.name, "backend": self.backend, "bits": bits, "config": config.as_dict(),
                "observers": self.observers(config),
                "quantized": {"count": len(quantized) + len(tables),
                              "by_type": {"Linear": len(quantized), **({"Embedding": len(tables)} if tables else {})},
                              "modules": quantized + tables},
                "higher_precision": {"count": len(kept), "by_type": dict(kept_types), "modules": kept,
                                     "weightless_ops_fp32": self.fp32_ops}}


def with_alpha_search(applied: Applied, search: dict[str, Any] | None) -> Applied:
    """``applied`` with the SmoothQuant strength search in its calibration block, where one ran."""
    model, report = applied
    if search is None:
        return applied
    return model, dataclasses.replace(report, calibration={**(report.calibration or {}), "smooth_alpha": search})


METHOD = PTQPT2E()
