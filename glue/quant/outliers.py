"""Outlier Linears: the ones one int8 scale per activation tensor cannot serve.

Eager torch.ao static INT8 (ptq_static, qat) quantizes each wrapped Linear's input *and* its output
with one scale per tensor. Where a few tokens carry values hundreds of times the typical token's
(MPNet's feed-forward outputs reach 600x), that scale leaves the typical token less than one int8
step and the prediction collapses. The scan measures, on a sample of the train split, each Linear's
*token spread*: the largest token's absolute maximum over the median token's, for its input and its
output, padding excluded. Linears whose spread exceeds ``outlier_ratio`` stay FP32: the scan returns a
copy of the config with them added to ``skip_modules``, which the manifest stores, so the saved config
rebuilds the same structure without data.

A hand-picked ratio is one way to choose; with a ``max_drop`` budget, accuracy-aware tuning
(glue/quant/tuning.py) orders its fallback by the same spread (``tuning_strategy: outlier_spread``)
and stops where validation macro-F1 is within budget. A ratio set as well keeps its Linears FP32
before tuning starts.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from glue.quant.base import QuantConfig, QuantContext, layer_filter, observe, require

SCAN_BATCH_SIZE = 32
C = TypeVar("C", bound="OutlierOption")


@dataclass
class OutlierOption(QuantConfig):
    """For eager static INT8 (ptq_static, qat): keep the Linears with outlier tokens in FP32."""

    outlier_ratio: float = 0.0   # token spread above which a Linear stays FP32; 0 turns the scan off
    outlier_samples: int = 256   # first N train texts the scan reads

    def validate(self) -> None:
        super().validate()
        require(self.outlier_ratio == 0 or self.outlier_ratio > 1, "outlier_ratio",
                f"{self.outlier_ratio}: a spread is at least 1 (the largest token over the median one); "
                "use 0 to turn the scan off, or a ratio such as 32")
        require(self.outlier_samples > 0, "outlier_samples", "must be positive")


def spread(token_absmax: torch.Tensor) -> float:
    """The largest token's absolute maximum over the median token's (1.0 when all are equal)."""
    median = token_absmax.median().clamp(min=torch.finfo(token_absmax.dtype).tiny)
    return (token_absmax.max() / median).item()


def token_rows(x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """``x`` as one row per token with the padding dropped (a pooled head's rows, one per text, and
    a batch without an attention mask are kept whole)."""
    rows = x.reshape(-1, x.shape[-1])
    mask = batch.get("attention_mask")
    real = None if mask is None else mask.reshape(-1).bool()
    return rows[real] if real is not None and rows.shape[0] == real.shape[0] else rows


def token_spreads(model: torch.nn.Module, config: QuantConfig, batches: list[dict[str, torch.Tensor]]
                  ) -> dict[str, float]:
    """Each quantizable Linear's token spread over ``batches``, the larger of input and output."""
    seen: dict[tuple[str, str], list[torch.Tensor]] = {}  # (Linear, "in" | "out") -> per-token absmax

    def record(name: str, x_in: torch.Tensor, x_out: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        for side, x in (("in", x_in), ("out", x_out)):
            seen.setdefault((name, side), []).append(token_rows(x, batch).abs().amax(dim=-1).float())

    observe(model, layer_filter(config), batches, record)
    spreads: dict[str, float] = {}
    for (name, _side), values in seen.items():
        spreads[name] = max(spreads.get(name, 1.0), spread(torch.cat(values)))
    return spreads


def keep_outliers_fp32(model: torch.nn.Module, config: C, context: QuantContext) -> tuple[C, dict[str, Any] | None]:
    """When ``config.outlier_ratio`` is set, scan ``model`` (FP32, eval mode) and return a copy of
    ``config`` that also skips the Linears above it, with the manifest's ``outlier_scan`` block
    (them and their spreads); otherwise ``config`` itself and None."""
    if not config.outlier_ratio:
        return config, None
    spreads = token_spreads(model.eval(), config, context.batches(SCAN_BATCH_SIZE, config.outlier_samples))
    kept = {name: round(value, 1) for name, value in sorted(spreads.items(), key=lambda item: -item[1])
            if value > config.outlier_ratio}
    quantized = [round(value, 1) for value in spreads.values() if value <= config.outlier_ratio]
    scan = {"ratio": config.outlier_ratio, "texts": min(config.outlier_samples, len(context.split.texts)),
            "kept_fp32": kept, "largest_quantized": max(quantized, default=None)}
    return dataclasses.replace(config, skip_modules=[*config.skip_modules, *kept]), scan
