"""Export the fine-tuned FP32 classifier to ONNX and quantize it the way users usually do on
CPU (onnxruntime.quantization.quantize_dynamic, QInt8 per-channel weights), cached on disk.

The steps and their pitfalls (docs/environment.md, "Facts the code is built around"): the TorchScript
exporter (``dynamo=False``) fails with transformers 5.6, so we use the default dynamo
exporter; ``quant_pre_process`` needs ``skip_symbolic_shape=True``; ``quantize_dynamic``
then rejects the stale ``value_info`` entries the exporter left for weights ("Inferred
shape and existing shape differ") until they are removed; QUInt8 weights are slower than
QInt8 on the CPUs measured, and per-channel weights keep the model much closer to FP32.
"""
from __future__ import annotations

import inspect
import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

from core import MIB
from core.io import atomic_write_json, sha256_file

OPSET = 18
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
CACHE_INFO = "export.json"


class ExportError(RuntimeError):
    """Export or quantization failed; the message names the step and the model."""


@dataclass(frozen=True)
class OnnxModels:
    fp32: Path
    int8: Path
    info: dict


def input_names(model: torch.nn.Module) -> tuple[str, ...]:
    """The graph inputs: BERT's three, or the two of models whose forward takes no token_type_ids (MPNet)."""
    accepted = inspect.signature(model.forward).parameters
    return tuple(name for name in INPUT_NAMES if name in accepted)


class _LogitsOnly(torch.nn.Module):
    """Give the exporter a plain tensor output and a fixed argument order."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


def export_fp32(model: torch.nn.Module, path: Path) -> None:
    """Dynamo export with dynamic batch and sequence axes, weights inside the one file."""
    # The example mask must contain padding: with an all-ones mask transformers skips masking
    # altogether, and the exported graph would then ignore attention_mask.
    example = torch.ones(2, 8, dtype=torch.long)
    mask = example.clone()
    mask[1, 5:] = 0
    batch, seq = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("sequence", min=2, max=4096)
    names = input_names(model)
    shapes = {name: {0: batch, 1: seq} for name in names}
    with warnings.catch_warnings():
        # the exporter warns that the "batch"/"sequence" names are merged across inputs (intended)
        warnings.filterwarnings("ignore", message=r".*axis name.*will not be used.*")
        inputs = (example, mask, torch.zeros_like(example))[:len(names)]
        program = torch.onnx.export(_LogitsOnly(model).eval(), inputs, input_names=list(names), output_names=["logits"], opset_version=OPSET,
                                    dynamic_shapes=shapes, dynamo=True, external_data=False, verbose=False)
    program.save(str(path), external_data=False)


def _drop_initializer_value_info(src: Path, dst: Path) -> None:
    """Remove value_info entries that describe weights: after pre-processing they can be stale,
    and quantize_dynamic's shape inference then refuses the model."""
    proto = onnx.load(str(src))
    weights = {init.name for init in proto.graph.initializer}
    keep = [vi for vi in proto.graph.value_info if vi.name not in weights]
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(keep)
    onnx.save(proto, str(dst))


def quantize_int8(fp32_path: Path, out_path: Path, work_dir: Path) -> None:
    """ONNX Runtime dynamic INT8: QInt8 per-channel weights, activations quantized per call."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = work_dir / "pre.onnx"
    quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
    _drop_initializer_value_info(pre, pre)
    quantize_dynamic(str(pre), str(out_path), weight_type=QuantType.QInt8, per_channel=True)
    pre.unlink()


def source_fingerprint(model_dir: Path) -> str:
    """What the cache depends on: the weights file of the exported model folder."""
    weights = sorted(model_dir.glob("*.safetensors"))
    if not weights:
        raise ExportError(f"{model_dir} holds no *.safetensors weights to export")
    return ",".join(f"{w.name}:{sha256_file(w)}" for w in weights)


def export_and_quantize(model_dir: Path, model: torch.nn.Module, cache_dir: Path) -> OnnxModels:
    """Return cached FP32 and INT8 ONNX files for ``model`` (loaded from ``model_dir``), building
    them when missing or when the weights changed. The folder is written whole, then renamed."""
    fingerprint = source_fingerprint(model_dir)
    info_path = cache_dir / CACHE_INFO
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            info = {}  # a damaged record is a cache miss: the export is built again
        if isinstance(info, dict) and info.get("source_fingerprint") == fingerprint:
            return OnnxModels(cache_dir / "model_fp32.onnx", cache_dir / "model_int8.onnx", info)
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir.parent, prefix=f".{cache_dir.name}."))
    try:
        try:
            export_fp32(model, tmp / "model_fp32.onnx")
        except Exception as err:  # the exporter's own traceback is long; keep its message
            raise ExportError(f"ONNX export of {model_dir} failed: {type(err).__name__}: {err}") from err
        try:
            quantize_int8(tmp / "model_fp32.onnx", tmp / "model_int8.onnx", tmp)
        except Exception as err:
            raise ExportError(f"ONNX Runtime INT8 quantization of {model_dir} failed: "
                              f"{type(err).__name__}: {err}") from err
        info = {"source": str(model_dir), "source_fingerprint": fingerprint, "opset": OPSET,
                "exporter": "torch.onnx dynamo",
                "int8": {"api": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8",
                         "per_channel": True, "pre_process": "quant_pre_process(skip_symbolic_shape=True)"},
                "size_mb": {name: round((tmp / f"model_{name}.onnx").stat().st_size / MIB, 2)
                            for name in ("fp32", "int8")}}
        atomic_write_json(tmp / CACHE_INFO, info)
        if cache_dir.exists():
            shutil.rmtree(cache_dir)
        tmp.rename(cache_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return OnnxModels(cache_dir / "model_fp32.onnx", cache_dir / "model_int8.onnx", info)
