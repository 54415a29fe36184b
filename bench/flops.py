"""Matmul FLOPs of one forward pass, counted from the model's own shapes.

torch's FlopCounterMode counts every mm/addmm/bmm the forward runs, i.e. each Linear layer
(2 x rows x in x out) and the attention products QK^T and AV (2 x 2 x batch x L^2 x hidden per
layer). On CPU the fused SDPA kernel has no FLOP formula, so we count on a copy built from the
config with eager attention, which runs the same products as plain matmuls. Padding tokens are
counted: the hardware computes them. Elementwise ops (softmax, GELU, LayerNorm) are left out, as
usual for GFLOP/s figures of transformers.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoModelForSequenceClassification, PretrainedConfig


class FlopCounter:
    """Counts FLOPs per (batch, sequence length) for one architecture, memoised."""

    def __init__(self, config: PretrainedConfig) -> None:
        torch.manual_seed(0)  # the weights are irrelevant; only shapes are used
        self.model = AutoModelForSequenceClassification.from_config(config, attn_implementation="eager").eval()
        self.count = lru_cache(maxsize=None)(self._count)

    def _count(self, batch: int, length: int) -> int:
        ids = torch.zeros(batch, length, dtype=torch.long)
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            self.model(input_ids=ids, attention_mask=torch.ones_like(ids))  # MPNet takes no token_type_ids
        return int(counter.get_total_flops())
