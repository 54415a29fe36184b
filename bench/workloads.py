"""What is timed: passes over fixed token batches, identical for every runner.

- ``real``: real test texts in random order, batches of ``batch_size`` padded to their own
  longest text: the cost users see on this data's length distribution.
- ``fixed``: every row exactly ``seq_len`` real tokens (test texts joined, then cut): how cost
  grows with sequence length at the same batch size.

One pass covers ``max(batch_size, examples_per_pass)`` examples, so small batches are timed over
several calls and a pass takes a comparable time at every batch size.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch

from bench.flops import FlopCounter

Inputs = dict[str, torch.Tensor]


@dataclass
class Workload:
    name: str
    kind: str
    batch_size: int
    batches: list[Inputs]
    flops: int  # matmul FLOPs of one pass, padding included

    @property
    def examples(self) -> int:
        return sum(int(b["input_ids"].shape[0]) for b in self.batches)

    @property
    def tokens(self) -> int:
        """Tokens computed per pass, padding included."""
        return sum(int(b["input_ids"].numel()) for b in self.batches)

    def describe(self) -> dict[str, Any]:
        lengths = [int(b["input_ids"].shape[1]) for b in self.batches]
        return {"name": self.name, "kind": self.kind, "batch_size": self.batch_size, "batches_per_pass": len(self.batches),
                "examples_per_pass": self.examples, "tokens_per_pass": self.tokens,
                "real_tokens_per_pass": sum(int(b["attention_mask"].sum()) for b in self.batches),
                "padded_length_min": min(lengths), "padded_length_max": max(lengths),
                "gflop_per_pass": round(self.flops / 1e9, 3)}


def real_workload(texts: list[str], tokenizer: Any, batch_size: int, examples_per_pass: int, max_length: int,
                  counter: FlopCounter, seed: int = 0) -> Workload:
    n = max(batch_size, examples_per_pass) // batch_size * batch_size
    if n > len(texts):
        raise ValueError(f"batch size {batch_size} needs {n} texts, the split has {len(texts)}")
    sample = random.Random(seed + batch_size).sample(texts, n)
    batches = [dict(tokenizer(sample[i:i + batch_size], padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")) for i in range(0, n, batch_size)]
    flops = sum(counter.count(*b["input_ids"].shape) for b in batches)
    return Workload(f"real_b{batch_size}", "real", batch_size, batches, flops)


def fixed_workload(texts: list[str], tokenizer: Any, batch_size: int, seq_len: int, examples_per_pass: int,
                   counter: FlopCounter) -> Workload:
    ids = tokenizer(" ".join(texts[:200]), truncation=True, max_length=seq_len, return_tensors="pt")
    if ids["input_ids"].shape[1] < seq_len:
        raise ValueError(f"the first 200 test texts give only {ids['input_ids'].shape[1]} tokens, fewer than {seq_len}")
    row = {k: v.expand(batch_size, -1).contiguous() for k, v in ids.items()}
    n_batches = max(1, examples_per_pass // batch_size)
    batches = [row] * n_batches
    return Workload(f"len{seq_len}_b{batch_size}", "fixed", batch_size, batches,
                    n_batches * counter.count(batch_size, seq_len))
