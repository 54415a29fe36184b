"""Model size three ways. The headline, ``state_dict_mb``, counts what a checkpoint must hold,
including weights that are not parameters (torch.ao packed int8, bitsandbytes 4-bit states)."""
from __future__ import annotations

from pathlib import Path

import torch

from core import MIB
from glue.folder.weights import weight_bytes


def _tensor_bytes(value: object) -> int:
    if isinstance(value, torch.Tensor):
        if value.is_quantized:
            extra = 0
            if value.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric,
                                   torch.per_channel_affine_float_qparams):
                extra = value.q_per_channel_scales().numel() * 4 + value.q_per_channel_zero_points().numel() * 4
            return value.numel() * value.element_size() + extra
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def state_dict_bytes(model: torch.nn.Module) -> int:
    """Bytes a checkpoint holds; a tensor shared by two keys (tied input and output embeddings)
    is stored once, so it is counted once."""
    total, seen = 0, set()
    for value in model.state_dict().values():
        if isinstance(value, torch.Tensor) and not value.is_quantized and value.numel():
            key = (value.untyped_storage().data_ptr(), value.storage_offset(), value.shape)
            if key in seen:
                continue
            seen.add(key)
        total += _tensor_bytes(value)
    return total


def param_buffer_bytes(model: torch.nn.Module) -> int:
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def model_size(model: torch.nn.Module, folder: Path) -> dict[str, float]:
    mb = MIB
    return {"state_dict_mb": round(state_dict_bytes(model) / mb, 3),
            "disk_mb": round(weight_bytes(folder) / mb, 3),
            "param_buffer_mb": round(param_buffer_bytes(model) / mb, 3)}
