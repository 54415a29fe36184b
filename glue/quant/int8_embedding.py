"""Weight-only int8 embedding tables: one symmetric scale per row, looked up with the row.

The word table is a fifth of a bert-base-sized encoder (23.4M of MPNet's 109.5M parameters) and
half of MiniLM-L6, so an INT8 model that keeps it FP32 stays above 40% of the FP32 size. A lookup
reads a few rows, so dequantizing only those rows (``int8 rows * their scales``) costs nothing
measurable, and the table stays int8 in memory too, not only on disk.
"""
from __future__ import annotations

from typing import Callable

import torch

from glue.quant.base import Int8EmbeddingsOption, embedding_filter, replace_modules, require_embeddings_found
from glue.quant.int8_math import quantize_rows_symmetric


class Int8Embedding(torch.nn.Module):
    """``nn.Embedding`` with an int8 table and a float scale per row (inference only)."""

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.register_buffer("weight", torch.zeros(num_embeddings, embedding_dim, dtype=torch.int8))
        self.register_buffer("scale", torch.ones(num_embeddings, 1))

    @classmethod
    def from_float(cls, embedding: torch.nn.Embedding) -> Int8Embedding:
        quantized = cls(embedding.num_embeddings, embedding.embedding_dim)
        quantized.weight, quantized.scale = quantize_rows_symmetric(embedding.weight.detach().float())
        return quantized

    @classmethod
    def like(cls, embedding: torch.nn.Embedding) -> Int8Embedding:
        """The same structure without values, to load a saved state into."""
        return cls(embedding.num_embeddings, embedding.embedding_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(ids, self.weight).float() * torch.nn.functional.embedding(ids, self.scale)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8 rows, per-row scale"


def int8_tables_(model: torch.nn.Module, config: Int8EmbeddingsOption,
                 make: Callable[[torch.nn.Embedding], Int8Embedding]) -> None:
    """Swap the Embedding tables ``config.embeddings`` names for ``make(table)``:
    ``Int8Embedding.from_float`` to quantize, ``Int8Embedding.like`` to load a saved state into."""
    if require_embeddings_found(model, config):
        replace_modules(model, embedding_filter(config), make)
