"""Integer quantization written out by hand (no quantization library), so every step is visible.

An affine quantizer maps a real ``x`` to an integer ``q = clamp(round(x / scale) + zero_point)``
and back with ``x' = (q - zero_point) * scale``. Symmetric quantization fixes ``zero_point = 0``
(the range is ``[-max|x|, max|x|]``, which integer matmuls need for a cheap rescale); asymmetric
uses the real ``[min, max]`` range (one more useful code for skewed tensors). Per-tensor uses one
scale; per-channel one scale per slice along ``axis`` (per output row of a weight, per token of an
activation), which keeps one outlier row from ruining the resolution of all the others.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

EPS = torch.finfo(torch.float32).eps


@dataclass
class QTensor:
    values: torch.Tensor      # integer codes, int8
    scale: torch.Tensor       # float32; shape broadcastable to values (1 element per tensor or per channel)
    zero_point: torch.Tensor  # int32, same shape as scale; all zeros when symmetric


def qrange(bits: int = 8) -> tuple[int, int]:
    """Signed integer range of ``bits`` bits; symmetric quantization drops the lowest code so
    that +/-max map to +/-qmax exactly."""
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _reduce(x: torch.Tensor, axis: int | None, fn) -> torch.Tensor:
    """min/max over every dimension except ``axis`` (all of them when ``axis`` is None), kept
    broadcastable to ``x``."""
    if axis is None:
        return fn(x.reshape(-1)).reshape([1] * x.dim())
    dims = [d for d in range(x.dim()) if d != axis % x.dim()]
    return fn(x, dim=dims, keepdim=True) if dims else x.clone()


def quantize(x: torch.Tensor, *, bits: int = 8, symmetric: bool = True, axis: int | None = None) -> QTensor:
    """Quantize ``x`` to signed ``bits``-bit integers; ``axis`` selects per-channel scales."""
    if not 2 <= bits <= 8:
        raise ValueError(f"bits={bits}: int8 storage holds 2 to 8 bits")
    x = x.detach().float()
    qmin, qmax = qrange(bits)
    if symmetric:
        absmax = _reduce(x.abs(), axis, torch.amax)
        scale = (absmax / qmax).clamp_min(EPS)
        zero_point = torch.zeros_like(scale, dtype=torch.int32)
    else:
        # The range must contain 0 so that 0 (padding, ReLU zeros) is represented exactly.
        lo = _reduce(x, axis, torch.amin).clamp_max(0)
        hi = _reduce(x, axis, torch.amax).clamp_min(0)
        scale = ((hi - lo) / (qmax - qmin)).clamp_min(EPS)
        zero_point = (qmin - torch.round(lo / scale)).clamp(qmin, qmax).to(torch.int32)
    values = torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax).to(torch.int8)
    return QTensor(values, scale, zero_point)


def dequantize(q: QTensor) -> torch.Tensor:
    return (q.values.to(torch.int32) - q.zero_point).float() * q.scale


def quantize_rows_symmetric(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fast path for activations: per-row (per-token) symmetric int8, scale shaped (M, 1).
    A few vectorised passes over ``x`` (abs+max, divide, round, convert); no clamp is needed
    because ``|x| / (absmax / 127) <= 127`` by construction. (``torch.aminmax(x, dim=1)`` would
    save a pass, but its row reduction is many times slower than ``abs().amax`` on CPU.)"""
    scale = x.abs().amax(dim=1, keepdim=True).clamp_min_(EPS).div_(127.0)
    return (x / scale).round_().to(torch.int8), scale


def int8_matmul(x: torch.Tensor, w_t: torch.Tensor, w_scale: torch.Tensor,
                w_zero_point: torch.Tensor | None = None, per_token: bool = True,
                bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ dequant(w_t) + bias`` computed in integers: quantize ``x`` (M, K) symmetrically per
    row (``per_token``) or with one scale for the whole batch, multiply int8 x int8 with int32
    accumulation (``torch._int_mm``), then rescale in two fused passes.

    ``w_t`` is the int8 weight pre-transposed to (K, N) and contiguous; ``w_scale`` has N entries
    (or 1). With an asymmetric weight, ``sum_k x_q[m,k] * (w[k,n] - zp[n])`` equals
    ``acc[m,n] - zp[n] * sum_k x_q[m,k]``, one cheap correction.
    """
    if per_token:
        x_q, x_scale = quantize_rows_symmetric(x)
    else:
        q = quantize(x, bits=8, symmetric=True)
        x_q, x_scale = q.values, q.scale
    acc = int_mm(x_q, w_t)
    if w_zero_point is not None:
        acc = acc - x_q.sum(dim=1, keepdim=True, dtype=torch.int32) * w_zero_point.reshape(1, -1)
    out = acc * x_scale  # int32 * float32 -> float32 in one pass
    w_scale = w_scale.reshape(1, -1)
    return torch.addcmul(bias, out, w_scale) if bias is not None else out.mul_(w_scale)


def int_mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch._int_mm`` within its shape rules. The CPU kernel takes any shape (checked here for
    M in 1..32 and K, N of 6, 20, 384); the CUDA one needs M > 16 and K, N multiples of 8, so rows
    are zero-padded there and K/N that do not fit are refused clearly."""
    if a.device.type != "cuda":
        return torch._int_mm(a, b)
    m, k = a.shape
    n = b.shape[1]
    if k % 8 or n % 8:
        raise ValueError(f"torch._int_mm on CUDA needs K and N to be multiples of 8, got K={k}, N={n}; "
                         "use the dequant mode for this layer")
    rows = max(32, -(-m // 8) * 8)
    if rows != m:
        a = torch.nn.functional.pad(a, (0, 0, 0, rows - m))
    return torch._int_mm(a, b)[:m]
