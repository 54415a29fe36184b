"""The from-scratch quantizer: round-trip error bounds and integer matmuls against FP32."""
from __future__ import annotations

import pytest
import torch

from glue.quant.int8_embedding import Int8Embedding
from glue.quant.int8_math import dequantize, int8_matmul, int_mm, qrange, quantize

torch.manual_seed(0)
CASES = [(sym, axis) for sym in (True, False) for axis in (None, 0, 1)]


@pytest.mark.parametrize("symmetric,axis", CASES)
def test_round_trip_error_is_at_most_half_a_step(symmetric: bool, axis: int | None) -> None:
    x = torch.randn(16, 24) * torch.linspace(0.1, 5, 24)  # columns of very different ranges
    q = quantize(x, symmetric=symmetric, axis=axis)
    assert q.values.dtype == torch.int8
    error = (x - dequantize(q)).abs()
    # Every value lies inside its channel's range, so rounding is the only error: half a step.
    assert torch.all(error <= q.scale / 2 + 1e-6)


def test_per_channel_beats_per_tensor_on_uneven_channels() -> None:
    x = torch.randn(64, 8) * torch.tensor([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 10.0])
    small = slice(0, 7)  # one wide channel sets the per-tensor step for all the narrow ones
    per_tensor = (x - dequantize(quantize(x)))[:, small].abs().mean()
    per_channel = (x - dequantize(quantize(x, axis=1)))[:, small].abs().mean()
    assert per_channel < per_tensor / 10


def test_symmetric_has_zero_offset_and_asymmetric_keeps_zero_exact() -> None:
    x = torch.rand(5, 7) * 3 + 0.5  # all positive: asymmetric uses the whole code range
    assert torch.all(quantize(x, axis=0).zero_point == 0)
    q = quantize(torch.cat([x, torch.zeros(5, 1)], dim=1), symmetric=False, axis=0)
    assert torch.all(dequantize(q)[:, -1] == 0)
    lo, hi = qrange(8)
    assert q.values.min() >= lo and q.values.max() <= hi


def test_asymmetric_is_finer_on_skewed_data() -> None:
    x = torch.rand(1000) * 4 + 1
    sym, asym = quantize(x), quantize(x, symmetric=False)
    assert asym.scale.item() < sym.scale.item()


def test_fewer_bits_give_coarser_steps() -> None:
    x = torch.randn(100)
    assert quantize(x, bits=4).scale.item() == pytest.approx(quantize(x, bits=8).scale.item() * 127 / 7)
    with pytest.raises(ValueError, match="bits"):
        quantize(x, bits=9)


def test_int_mm_is_exact_integer_arithmetic() -> None:
    a = torch.randint(-128, 128, (5, 40), dtype=torch.int8)  # M=5: below CUDA's M>16, fine on CPU
    b = torch.randint(-128, 128, (40, 6), dtype=torch.int8)
    assert torch.equal(int_mm(a, b), a.long().mm(b.long()).int())


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("per_token", [True, False])
def test_int8_matmul_matches_fp32(symmetric: bool, per_token: bool) -> None:
    x, w = torch.randn(33, 64), torch.randn(64, 48) * 0.1
    q = quantize(w, symmetric=symmetric, axis=1)
    exact = x @ dequantize(q)
    approx = int8_matmul(x, q.values, q.scale, None if symmetric else q.zero_point, per_token)
    # Only x is rounded here: |error| <= sum_k |x_step/2 * w_k| per output.
    x_step = x.abs().amax(dim=1, keepdim=True) / 127 if per_token else x.abs().max() / 127
    bound = (x_step / 2) * dequantize(q).abs().sum(dim=0, keepdim=True)
    assert torch.all((approx - exact).abs() <= bound + 1e-4)
    assert (approx - x @ w).abs().max() < 0.05 * (x @ w).abs().max()


def test_int8_embedding_rounds_each_row_on_its_own_scale() -> None:
    table = torch.nn.Embedding(3, 2)
    with torch.no_grad():
        table.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.25], [0.0, 0.0]]))
    quantized = Int8Embedding.from_float(table)
    # row 0: scale 2/127, 1 / (2/127) = 63.5 rounds to even 64; row 1: scale 0.5/127, 0.25 -> 63.5 -> 64
    assert quantized.weight.tolist() == [[64, -127], [127, 64], [0, 0]]
    assert quantized.weight.dtype == torch.int8
    looked_up = quantized(torch.tensor([[1, 0], [2, 1]]))
    assert looked_up.shape == (2, 2, 2) and looked_up.dtype == torch.float32
    assert torch.allclose(looked_up[0, 1], torch.tensor([64 * 2 / 127, -2.0]))
    assert torch.allclose(looked_up[1, 1], torch.tensor([0.5, 64 * 0.5 / 127]))
    assert torch.equal(looked_up[1, 0], torch.zeros(2))  # an all-zero row stays zero (scale floor, no 0/0)
