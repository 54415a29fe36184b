"""Latency: warm up, then time each call and keep every sample, so medians and spreads come
from the same run. The whole measurement is repeated in rounds over the same texts, so the
report can tell a real speed difference from run-to-run noise (timings here move ~30%)."""
from __future__ import annotations

import random
import time
from typing import Callable

import numpy as np
import torch


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 3) -> np.ndarray:
    """Milliseconds per call of ``fn`` over ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) * 1e3)
    return np.asarray(samples)


def summarize(samples_ms: np.ndarray) -> dict[str, float]:
    return {"median": float(np.median(samples_ms)), "mean": float(np.mean(samples_ms)), "p10": float(np.percentile(samples_ms, 10)),
            "p90": float(np.percentile(samples_ms, 90)), "n": int(len(samples_ms))}


def _rounds(fn: Callable[[list[str]], object], inputs: list[list[str]], rounds: int, warmup: int) -> list[np.ndarray]:
    """``rounds`` passes over the same inputs, each warmed up and timed separately."""
    out = []
    for _ in range(rounds):
        calls = iter(inputs * 2)
        out.append(time_calls(lambda: fn(next(calls)), len(inputs), warmup))
    return out


def measure_latency(predict: Callable[[list[str]], object], texts: list[str], batch_size: int = 32,
                    n_single: int = 100, n_batches: int = 20, warmup: int = 5, seed: int = 0,
                    rounds: int = 3) -> dict:
    """ms/example at batch 1 over single real texts, ms/batch over batches of ``batch_size``
    real texts (padded to their longest): the test set's real length distribution. The samples
    are split into ``rounds`` repeats of the same texts; each round's median is kept, so the
    spread between rounds is measured, not assumed. Medians resist a stray slow call; means are
kept too, because an average latency is what a throughput budget needs."""
    rng = random.Random(seed)
    per_round_single, per_round_batches = max(1, n_single // rounds), max(1, n_batches // rounds)
    singles = [[t] for t in rng.sample(texts, min(per_round_single, len(texts)))]
    batches = [rng.sample(texts, min(batch_size, len(texts))) for _ in range(per_round_batches)]
    single_rounds = _rounds(predict, singles, rounds, warmup)
    batch_rounds = _rounds(predict, batches, rounds, min(warmup, per_round_batches))
    single, batch = summarize(np.concatenate(single_rounds)), summarize(np.concatenate(batch_rounds))
    return {
        "ms_per_example": round(single["median"], 3), "ms_per_example_mean": round(single["mean"], 3),
        "ms_per_example_p10": round(single["p10"], 3),
        "ms_per_example_p90": round(single["p90"], 3),
        "ms_per_batch": round(batch["median"], 3), "ms_per_batch_mean": round(batch["mean"], 3),
        "ms_per_batch_p10": round(batch["p10"], 3),
        "ms_per_batch_p90": round(batch["p90"], 3),
        "ms_per_example_rounds": [round(float(np.median(r)), 3) for r in single_rounds],
        "ms_per_batch_rounds": [round(float(np.median(r)), 3) for r in batch_rounds],
        "rounds": rounds, "batch_size": batch_size, "n_single": single["n"], "n_batches": batch["n"],
        "warmup": warmup, "threads": torch.get_num_threads(),
    }
