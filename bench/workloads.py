"""What is timed: passes over fixed token batches, identical for every runner.

- ``real``: real test texts in random order, batches of ``batch_size`` padded to their own
  longest text: the cost users see on this data's length distribution. Every repeat times a
  different pass (fresh texts), so the repeats sample the length distribution rather than one
  batch; every runner sees the same pass in the same repeat.
- ``fixed``: every row exactly ``seq_len`` real tokens (test texts joined, then cut): how cost
  grows with sequence length at the same batch size.

A pass covers ``max(batch_size, examples_per_pass)`` examples, so small batches are timed over
several calls and a pass takes a comparable time at every batch size.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bench.flops import FlopCounter
from core.errors import ProjectError

Inputs = dict[str, torch.Tensor]


@dataclass
class Workload:
    name: str
    kind: str
    batch_size: int
    passes: list[list[Inputs]]  # repeat i times passes[i % len(passes)]
    flops: list[int]            # matmul FLOPs of each pass, padding included

    @property
    def examples_per_pass(self) -> int:
        return sum(int(b["input_ids"].shape[0]) for b in self.passes[0])

    def describe(self) -> dict[str, Any]:
        batches = [b for one_pass in self.passes for b in one_pass]
        lengths = [int(b["input_ids"].shape[1]) for b in batches]
        return {"name": self.name, "kind": self.kind, "batch_size": self.batch_size,
                "distinct_passes": len(self.passes), "batches_per_pass": len(self.passes[0]),
                "examples_per_pass": self.examples_per_pass,
                "padded_length": {"min": min(lengths), "median": float(np.median(lengths)), "max": max(lengths)},
                "padding_share": round(1 - sum(int(b["attention_mask"].sum()) for b in batches)
                                       / sum(int(b["input_ids"].numel()) for b in batches), 3),
                "gflop_per_pass_median": round(float(np.median(self.flops)) / 1e9, 3)}


class WorkloadError(ProjectError):
    """A workload the test split cannot fill."""


def real_workload(texts: list[str], tokenizer: Any, batch_size: int, examples_per_pass: int, n_passes: int,
                  max_length: int, counter: FlopCounter, seed: int = 0) -> Workload:
    per_pass = max(batch_size, examples_per_pass) // batch_size * batch_size
    if per_pass > len(texts):
        raise WorkloadError(f"batch size {batch_size} needs {per_pass} test texts, the split has {len(texts)}: "
                            "lower --batch-sizes or --examples-per-pass")
    n_passes = min(n_passes, len(texts) // per_pass)  # distinct texts in every pass while they last
    sample = random.Random(seed + batch_size).sample(texts, per_pass * n_passes)
    passes = []
    for start in range(0, len(sample), per_pass):
        chunk = sample[start:start + per_pass]
        passes.append([dict(tokenizer(chunk[i:i + batch_size], padding=True, truncation=True, max_length=max_length,
                                      return_tensors="pt")) for i in range(0, per_pass, batch_size)])
    flops = [sum(counter.count(*b["input_ids"].shape) for b in one_pass) for one_pass in passes]
    return Workload(f"real_b{batch_size}", "real", batch_size, passes, flops)


def fixed_workload(texts: list[str], tokenizer: Any, batch_size: int, seq_len: int, examples_per_pass: int,
                   counter: FlopCounter) -> Workload:
    ids = tokenizer(" ".join(texts[:200]), truncation=True, max_length=seq_len, return_tensors="pt")
    if ids["input_ids"].shape[1] < seq_len:
        raise WorkloadError(f"the first 200 test texts give only {ids['input_ids'].shape[1]} tokens, fewer than "
                            f"--seq-len {seq_len}: lower --seq-len, or pass --fixed-batch-sizes alone to skip "
                            "the fixed-length workloads")
    row = {k: v.expand(batch_size, -1).contiguous() for k, v in ids.items()}
    n_batches = max(1, examples_per_pass // batch_size)
    return Workload(f"len{seq_len}_b{batch_size}", "fixed", batch_size, [[row] * n_batches],
                    [n_batches * counter.count(batch_size, seq_len)])
