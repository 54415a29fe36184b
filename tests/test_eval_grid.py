"""eval.grid on tiny tensors whose answer is known: weights built on a grid lie on it, Gaussian
weights do not, and the shares add up over matrices."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.grid import NF4_LEVELS, TOLERANCE, grid_shares, on_grid, weight_matrices


def _q4_1(rng: np.random.Generator, rows: int = 4, cols: int = 64) -> np.ndarray:
    """Every block of 32: min + step x q with q in 0..15, both ends used."""
    q = rng.integers(0, 16, (rows * cols // 32, 32))
    q[:, 0], q[:, 1] = 0, 15
    low, step = rng.normal(0, 0.1, (len(q), 1)), rng.uniform(0.001, 0.02, (len(q), 1))
    return (low + step * q).reshape(rows, cols)


def _nf4(rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, 16, (4, 64))
    idx[:, 0] = 15   # each block of 64 reaches its absmax
    return NF4_LEVELS[idx] * rng.uniform(0.01, 0.1, (4, 1))


def _int8(rng: np.random.Generator) -> np.ndarray:
    q = rng.integers(-127, 128, (4, 16)).astype(float)
    q[:, 0] = 127
    return q * rng.uniform(0.001, 0.01, (4, 1))


@pytest.mark.parametrize("grid, build", [("q4_1", _q4_1), ("nf4", _nf4), ("int8", _int8)])
def test_weights_built_on_a_grid_lie_on_it(grid, build):
    rng = np.random.default_rng(0)
    assert on_grid(build(rng), grid).all()
    assert on_grid(rng.normal(0, 0.05, (4, 64)), grid).mean() < 0.1


def test_a_4bit_grid_sits_on_the_int8_grid_only_by_chance():
    rng = np.random.default_rng(1)
    w = _q4_1(rng)
    assert on_grid(w, "q4_1").all() and on_grid(w, "int8").mean() < 0.5


def test_shares_weight_each_matrix_by_its_size():
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.05, (12, 64))
    shares = grid_shares([_q4_1(rng, 4, 64), noise])
    # a block's own min and max always lie on its Q4_1 grid: 2 of every 32 noise weights
    assert shares["q4_1"] == pytest.approx((256 + on_grid(noise, "q4_1").sum()) / 1024)
    assert 256 / 1024 < shares["q4_1"] < 0.35
    with pytest.raises(ValueError, match="unknown"):
        on_grid(np.zeros((2, 32)), "fp8")


def test_nf4_nearest_level_matches_the_brute_force_search() -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(8, 64))
    weight[0, :16] = NF4_LEVELS * np.abs(weight[0]).max()  # some weights exactly on the grid
    blocks = weight.reshape(-1, 64)
    x = blocks / np.abs(blocks).max(1, keepdims=True)
    brute = (np.abs(x[..., None] - NF4_LEVELS).min(-1) <= TOLERANCE).reshape(-1)
    assert brute.sum() >= 16
    assert np.array_equal(on_grid(weight, "nf4"), brute)


def test_weight_matrices_are_the_floating_point_2d_parameters() -> None:
    model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    assert [m.shape for m in weight_matrices(model)] == [(5, 3), (2, 3)]
