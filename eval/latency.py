"""Latency: warm up, then time each call and keep every sample, so medians and spreads come
from the same run. Callers compare methods as ratios within one run (timings here move ~30%)."""
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
    return {"median": float(np.median(samples_ms)), "p10": float(np.percentile(samples_ms, 10)),
            "p90": float(np.percentile(samples_ms, 90)), "n": int(len(samples_ms))}


def measure_latency(predict: Callable[[list[str]], object], texts: list[str], batch_size: int = 32,
                    n_single: int = 100, n_batches: int = 20, warmup: int = 5, seed: int = 0) -> dict:
    """ms/example at batch 1 over single real texts, ms/batch over batches of ``batch_size``
    real texts (padded to their longest): the test set's real length distribution."""
    rng = random.Random(seed)
    singles = rng.sample(texts, min(n_single, len(texts)))
    batches = [rng.sample(texts, min(batch_size, len(texts))) for _ in range(n_batches)]
    single_iter, batch_iter = iter(singles * 2), iter(batches * 2)
    single = summarize(time_calls(lambda: predict([next(single_iter)]), len(singles), warmup))
    batch = summarize(time_calls(lambda: predict(next(batch_iter)), len(batches), min(warmup, n_batches)))
    return {
        "ms_per_example": round(single["median"], 3), "ms_per_example_p10": round(single["p10"], 3),
        "ms_per_example_p90": round(single["p90"], 3),
        "ms_per_batch": round(batch["median"], 3), "ms_per_batch_p10": round(batch["p10"], 3),
        "ms_per_batch_p90": round(batch["p90"], 3),
        "batch_size": batch_size, "n_single": len(singles), "n_batches": len(batches), "warmup": warmup,
        "threads": torch.get_num_threads(),
    }
