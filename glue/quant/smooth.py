"""SmoothQuant (Xiao et al., 2023): move activation outliers into the weights before quantizing.

A Linear computes ``x @ W.T``. For any positive per-input-channel vector ``s``,
``(x / s) @ (W * s).T`` is the same product, so dividing the few input channels that carry huge
values (MPNet's feed-forward inputs reach 40-100 against a median channel of ~1.5) and multiplying
the matching weight columns leaves the FP32 model unchanged while shrinking the range one
per-tensor activation scale must cover. ``alpha`` splits the difficulty:
``s_j = max|x_j| ** alpha / max|W_j| ** (1 - alpha)``; 0 leaves activations alone, 1 moves all of
it into the weights (whose per-output-channel int8 scales then suffer instead).

The division is kept as an explicit multiply by ``1 / s`` inside :class:`SmoothedLinear`, so it
works in front of any Linear (also the feed-forward down-projection, whose GELU input cannot
absorb a scale); a compiler fuses it with the activation quantization that follows.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from glue.quant.base import CalibrationOption, FilterFn, observe, replace_modules, require, select

SMOOTHED_INNER = ".linear"  # the wrapped Linear's name inside a SmoothedLinear
# Channels that never fire would give s = 0; this floor keeps 1 / s finite.
MIN_SCALE = 1e-5


@dataclass
class SmoothQuantOption(CalibrationOption):
    """For methods that can run SmoothQuant before quantizing (ptq_dynamic, ptq_pt2e, qat_pt2e);
    the calibration sample's input maxima set its scales."""

    smooth_alpha: float = 0.0  # migration strength; 0 turns SmoothQuant off

    def validate(self) -> None:
        super().validate()
        require(0.0 <= self.smooth_alpha <= 1.0, "smooth_alpha", f"{self.smooth_alpha} is outside [0, 1]")


def smooth_scales(activation_absmax: torch.Tensor, weight: torch.Tensor, alpha: float) -> torch.Tensor:
    """Per-input-channel ``s`` for a Linear weight of shape (out, in), from its inputs' absmax (in,)."""
    weight_absmax = weight.detach().abs().amax(dim=0).clamp(min=MIN_SCALE)
    return (activation_absmax.clamp(min=MIN_SCALE) ** alpha / weight_absmax ** (1 - alpha)).clamp(min=MIN_SCALE)


class SmoothedLinear(torch.nn.Module):
    """``linear(x * inv_scale)`` where ``linear``'s weight columns were multiplied by ``1 / inv_scale``."""

    def __init__(self, linear: torch.nn.Linear, scales: torch.Tensor | None = None) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("inv_scale", torch.ones(linear.in_features))
        if scales is not None:
            with torch.no_grad():
                linear.weight.mul_(scales)
            self.inv_scale = 1.0 / scales

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inv_scale)


def input_absmax(model: torch.nn.Module, filter_fn: FilterFn, batches: list[dict[str, torch.Tensor]]
                 ) -> dict[str, torch.Tensor]:
    """Per-channel absolute maximum of each selected module's input over ``batches``."""
    seen: dict[str, torch.Tensor] = {}

    def record(name: str, x: torch.Tensor, _output: torch.Tensor, _batch: dict[str, torch.Tensor]) -> None:
        x = x.abs().reshape(-1, x.shape[-1]).amax(dim=0)
        seen[name] = torch.maximum(seen[name], x) if name in seen else x

    observe(model, filter_fn, batches, record)
    return seen


def smooth_(model: torch.nn.Module, filter_fn: FilterFn, batches: list[dict[str, torch.Tensor]],
            alpha: float) -> int:
    """Replace every selected Linear by a :class:`SmoothedLinear` with scales measured on
    ``batches`` (a Linear the batches never reach keeps scales of 1); the model's FP32 outputs
    are unchanged up to rounding. Returns how many were replaced."""
    absmax = input_absmax(model.eval(), filter_fn, batches)
    seen = {id(module): absmax.get(name) for name, module in select(model, filter_fn)}

    def smoothed(linear: torch.nn.Module) -> SmoothedLinear:
        observed = seen[id(linear)]
        return SmoothedLinear(linear, None if observed is None else smooth_scales(observed, linear.weight, alpha))

    return replace_modules(model, filter_fn, smoothed)


def smoothed_structure_(model: torch.nn.Module, filter_fn: FilterFn) -> int:
    """The module structure :func:`smooth_` builds, without data (scales of 1), to load a saved
    state into."""
    return replace_modules(model, filter_fn, SmoothedLinear)
