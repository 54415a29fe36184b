"""GPTQ rounding (Frantar et al. 2023, "GPTQ: Accurate Post-Training Quantization for Generative
Pre-trained Transformers"): a weight is rounded one input column at a time, and each column's
rounding error is pushed onto the columns not yet rounded, weighted by how the Linear's inputs
correlate (the Hessian ``H = X^T X`` of its squared output error). Round-to-nearest minimises
each weight's own error; GPTQ minimises the Linear's output error ``||(W - Q) X||`` on the
calibration inputs, with the same grid and the same storage.

The grid is the caller's (``RoundColumn``): this module knows nothing of NF4 or int8 codes, so a
method that stores a weight on its own grid (bitsandbytes' NF4, :mod:`glue.quant.bnb`) gets the
same rounding for any grid. Each Linear is rounded on inputs from the FP32 model (one calibration
pass for all of them), not on the outputs of Linears already rounded."""
from __future__ import annotations

from typing import Callable

import torch

from glue.quant.base import FilterFn, observe
from glue.quant.outliers import token_rows

# (a column of the weight (rows, 1), its input index) -> that column on the storage grid
RoundColumn = Callable[[torch.Tensor, int], torch.Tensor]
DAMP = 0.01  # added to H's diagonal, as a share of its mean: keeps the inverse finite for rarely active inputs


@torch.no_grad()
def hessians(model: torch.nn.Module, filter_fn: FilterFn, batches: list[dict[str, torch.Tensor]]
             ) -> dict[str, torch.Tensor]:
    """``X^T X`` of each selected Linear's input over the real tokens of ``batches`` (padding dropped)."""
    sums: dict[str, torch.Tensor] = {}

    def record(name: str, x: torch.Tensor, _y: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        rows = token_rows(x, batch).double()
        sums[name] = sums.get(name, 0) + rows.T @ rows

    observe(model, filter_fn, batches, record)
    return {name: h.float() for name, h in sums.items()}


def inverse_factor(hessian: torch.Tensor, damp: float = DAMP) -> torch.Tensor:
    """The upper Cholesky factor ``U`` of ``H^-1`` (``U^T U = H^-1``). Row ``i`` of ``U`` divided
    by ``U[i, i]`` is how the error of column ``i`` moves the columns after it, given that the
    columns before it are already fixed. An input never active (a zero diagonal) gets a unit
    diagonal: its column is rounded alone."""
    h = hessian.double().clone()
    dead = torch.diagonal(h) == 0
    h[dead, dead] = 1.0
    h += damp * torch.diagonal(h).mean() * torch.eye(len(h), dtype=h.dtype)
    return torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)


@torch.no_grad()
def gptq(weight: torch.Tensor, hessian: torch.Tensor, round_column: RoundColumn, damp: float = DAMP,
         block: int = 128) -> torch.Tensor:
    """``weight`` (out, in) on ``round_column``'s grid, rounded column by column with each error
    spread over the later columns (``w[:, j] -= err * U[i, j] / U[i, i]``). The spread reaches the
    columns of the same ``block`` at once and the rest once per block, in one matmul (GPTQ's lazy
    batch update: the same numbers, a fraction of the memory traffic). With a diagonal ``hessian``
    (uncorrelated inputs) it is round-to-nearest."""
    w = weight.detach().float().clone()
    u = inverse_factor(hessian, damp).float()
    out = torch.empty_like(w)
    for start in range(0, w.shape[1], block):
        end = min(start + block, w.shape[1])
        errors = torch.empty(w.shape[0], end - start)
        for i in range(start, end):
            column = w[:, i:i + 1]
            rounded = round_column(column, i)
            out[:, i:i + 1] = rounded
            error = (column - rounded) / u[i, i]
            w[:, i + 1:end] -= error @ u[i:i + 1, i + 1:end]
            errors[:, i - start] = error[:, 0]
        w[:, end:] -= errors @ u[start:end, end:]
    return out.to(weight.dtype)
