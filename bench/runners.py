"""One small runner per backend, all fed the same token batches and timed by the same function
(eval.latency.time_calls), so the only thing that differs between rows is the backend.

A runner has two faces: ``forward`` (timed; takes inputs already converted by ``prepare`` so
that conversion is not timed) and ``logits(texts)`` (untimed; for macro-F1 with the same
length-sorted batching eval.evaluate uses).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from eval.latency import summarize, time_calls
from glue.folder.manifest import DEFAULT_MAX_LENGTH
from glue.folder.variant import Variant, VariantError, load_variant

Inputs = dict[str, torch.Tensor]
PROJECT_BACKEND = "torch (this project)"


def _identity(inputs: Inputs) -> Any:
    return inputs


@dataclass
class Runner:
    """A named way of running the classifier: ``forward(prepare(inputs))`` returns logits."""

    name: str
    backend: str
    forward: Callable[[Any], Any]
    tokenizer: Any
    labels: list[str]
    max_length: int = DEFAULT_MAX_LENGTH
    prepare: Callable[[Inputs], Any] = _identity
    info: dict[str, Any] = field(default_factory=dict)
    predict: Callable[[list[str]], torch.Tensor] | None = None  # the variant's own text path, if any
    model: torch.nn.Module | None = None  # the torch module behind ``forward``, when there is one

    def logits(self, texts: list[str]) -> torch.Tensor:
        if self.predict is not None:
            return self.predict(texts)
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return torch.as_tensor(np.asarray(self.forward(self.prepare(dict(enc))))).float()

    def first_call(self, inputs: Inputs) -> float:
        """Seconds for the first forward (where torch.compile compiles); kept apart from timings."""
        start = time.perf_counter()
        self.forward(self.prepare(inputs))
        return time.perf_counter() - start


def time_pass(runner: Runner, batches: list[Any]) -> float:
    """Milliseconds for one pass over already-prepared batches (eval.latency's timer)."""
    def one_pass() -> None:
        for batch in batches:
            runner.forward(batch)
    return float(time_calls(one_pass, repeats=1, warmup=0)[0])


def spread(samples: list[float]) -> dict[str, float]:
    """Median, p10, p90 and count (eval.latency.summarize), rounded for the JSON."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in summarize(np.asarray(samples)).items()}


def _torch_forward(model: torch.nn.Module) -> Callable[[Inputs], torch.Tensor]:
    @torch.inference_mode()
    def forward(inputs: Inputs) -> torch.Tensor:
        out = model(**inputs)
        return out if isinstance(out, torch.Tensor) else out.logits
    return forward


def project_runner(folder: Path, reference_vocab: dict[str, int] | None = None) -> Runner:
    """Any model folder this project wrote, loaded only through glue.folder.variant.load_variant.
    ``reference_vocab`` (the baseline's) guards the shared token batches."""
    start = time.perf_counter()
    variant: Variant = load_variant(folder)
    load_s = time.perf_counter() - start
    if variant.encode is not None:
        raise VariantError(f"{folder} formats its own inputs (Variant.encode); the bench feeds shared token batches")
    if reference_vocab is not None and variant.tokenizer.get_vocab() != reference_vocab:
        raise VariantError(f"{folder} uses another tokenizer than the baseline; its token batches would differ")
    quantization = variant.manifest.quantization or {}
    info = {"source": str(folder), "method": variant.manifest.method, "weight_bits": quantization.get("bits"),
            "weights_sha256": variant.manifest.weights_sha256, "load_s": round(load_s, 2)}
    return Runner(folder.name, PROJECT_BACKEND, _torch_forward(variant.model), variant.tokenizer, variant.labels,
                  variant.max_length, info=info, predict=variant.logits, model=variant.model)


def torchao_runner(baseline: Path, compile_model: bool) -> Runner:
    """torchao int8 dynamic-activation / int8-weight on a fresh copy of the baseline, the way its
    README shows (quantize_ then optionally torch.compile); dynamic=True so one compiled graph
    serves every batch and sequence length."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    variant = load_variant(baseline)
    quantize_(variant.model, Int8DynamicActivationInt8WeightConfig())
    model = torch.compile(variant.model, dynamic=True) if compile_model else variant.model
    name = "torchao_int8_compiled" if compile_model else "torchao_int8_eager"
    info = {"source": str(baseline), "method": "torchao quantize_(Int8DynamicActivationInt8WeightConfig())"
            + (" + torch.compile(dynamic=True)" if compile_model else ""), "weight_bits": 8}
    return Runner(name, "torchao", _torch_forward(model), variant.tokenizer, variant.labels, variant.max_length,
                  info=info,
                  model=variant.model)


def bf16_runner(baseline: Path, path: str | None) -> Runner:
    """The FP32 baseline under ``torch.autocast("cpu", dtype=torch.bfloat16)``: weights stay FP32,
    matmuls run in BF16 through oneDNN (AMX-BF16 tiles where the CPU has them, AVX-512 BF16 else,
    emulated and slow without either); ``path`` names the one this CPU offers."""
    variant = load_variant(baseline)
    fp32_forward = _torch_forward(variant.model)

    def forward(inputs: Inputs) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fp32_forward(inputs).float()

    info = {"source": str(baseline), "method": 'torch.autocast("cpu", dtype=torch.bfloat16) on the FP32 baseline',
            "weight_bits": 16, "bf16_path": path or "none: no AVX-512 BF16 or AMX-BF16, emulated"}
    return Runner("torch_bf16_autocast", "torch autocast", forward, variant.tokenizer, variant.labels,
                  variant.max_length, info=info, model=variant.model)


def ort_runner(name: str, onnx_path: Path, tokenizer: Any, labels: list[str], max_length: int, threads: int,
               info: dict[str, Any]) -> Runner:
    """ONNX Runtime CPU session with its thread pool pinned to ``threads`` like torch's."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def prepare(inputs: Inputs) -> dict[str, np.ndarray]:
        ids = inputs["input_ids"]
        # BERT tokenizers return token_type_ids; others do not, and segment 0 is what the model assumes
        return {k: inputs.get(k, torch.zeros_like(ids)).numpy().astype(np.int64) for k in names}

    def forward(feed: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(None, feed)[0]

    return Runner(name, "onnxruntime", forward, tokenizer, labels, max_length, prepare,
                  {"source": str(onnx_path), **info})
