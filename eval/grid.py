"""How much of a model's weights lie on a quantization grid: the share of weights that a 4-bit
(GGUF Q4_1 or NF4) or a per-row int8 quantizer would reproduce exactly. A decoder converted from
a 4-bit file and fine-tuned with most layers frozen keeps much of its weight on the source grid,
which makes re-quantizing it cheaper than it would be for a model trained in 16 or 32 bits; the
report reads these shares from ``weights_origin.grid_share`` when an evaluation recorded them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

# The 16 NF4 levels (Dettmers et al. 2023, as bitsandbytes defines them), in units of the block's absmax.
NF4_LEVELS = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                       0.7229568362236023, 1.0])
GRIDS = ("q4_1", "nf4", "int8")
TOLERANCE = 1e-3   # distance to the nearest level, in units of the grid's step (int8, Q4_1) or of absmax (NF4)


def _blocks(weight: np.ndarray, size: int) -> np.ndarray:
    flat = weight.reshape(-1)
    return flat[: len(flat) // size * size].reshape(-1, size)


def on_grid(weight: np.ndarray, grid: str, tolerance: float = TOLERANCE) -> np.ndarray:
    """A boolean per weight (trailing partial blocks dropped): does the grid reproduce it?"""
    w = np.asarray(weight, dtype=np.float64)
    if grid == "int8":   # symmetric, one scale per output row
        rows = w.reshape(w.shape[0], -1)
        scale = np.abs(rows).max(1, keepdims=True) / 127
        q = np.divide(rows, scale, out=np.zeros_like(rows), where=scale > 0)
        return (np.abs(q - np.round(q)) <= tolerance).reshape(-1)
    if grid == "nf4":    # 16 normal-quantile levels times each block of 64's absmax
        blocks = _blocks(w, 64)
        absmax = np.abs(blocks).max(1, keepdims=True)
        x = np.divide(blocks, absmax, out=np.zeros_like(blocks), where=absmax > 0).reshape(-1)
        upper = np.clip(np.searchsorted(NF4_LEVELS, x), 1, len(NF4_LEVELS) - 1)  # nearest level: a neighbour
        nearest = np.minimum(np.abs(x - NF4_LEVELS[upper - 1]), np.abs(x - NF4_LEVELS[upper]))
        return nearest <= tolerance
    if grid == "q4_1":   # GGUF Q4_1: min + step x {0..15} per block of 32
        blocks = _blocks(w, 32)
        low = blocks.min(1, keepdims=True)
        step = (blocks.max(1, keepdims=True) - low) / 15
        q = np.divide(blocks - low, step, out=np.zeros_like(blocks), where=step > 0)
        return (np.abs(q - np.round(q)) <= tolerance).reshape(-1)
    raise ValueError(f"grid {grid!r} is unknown; known: {', '.join(GRIDS)}")


def grid_shares(weights: Iterable[np.ndarray], tolerance: float = TOLERANCE) -> dict[str, float]:
    """Share of all weights (of the 2-D matrices given) that lie on each grid."""
    hits = dict.fromkeys(GRIDS, 0)
    totals = dict.fromkeys(GRIDS, 0)
    for weight in weights:
        for grid in GRIDS:
            mask = on_grid(weight, grid, tolerance)
            hits[grid] += int(mask.sum())
            totals[grid] += mask.size
    return {g: hits[g] / totals[g] for g in GRIDS if totals[g]}


def weight_matrices(model: torch.nn.Module) -> Iterator[np.ndarray]:
    """The model's floating-point 2-D weights (Linears and embeddings), one at a time."""
    for name, param in model.named_parameters():
        if param.ndim == 2 and param.is_floating_point():
            yield param.detach().float().cpu().numpy()
