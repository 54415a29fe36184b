"""Peak memory of a block of work (training, quantizing, evaluating), as results report it."""
from __future__ import annotations

import os
import threading
import time

import torch

from core import MIB


def rss_mb() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


class PeakMemory:
    """Context manager sampling RSS (and CUDA allocations) to find the peak inside a block:
    ``ru_maxrss`` alone cannot, because it includes everything before the block."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.start_mb = self.peak_mb = 0.0
        self.cuda_peak_mb: float | None = None
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_mb())
            time.sleep(self.interval_s)

    def __enter__(self) -> "PeakMemory":
        self.start_mb = self.peak_mb = rss_mb()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb())
        if torch.cuda.is_available():
            self.cuda_peak_mb = torch.cuda.max_memory_allocated() / MIB

    def as_dict(self) -> dict[str, float | None]:
        return {"rss_start_mb": round(self.start_mb, 1), "rss_peak_mb": round(self.peak_mb, 1),
                "rss_increase_mb": round(self.peak_mb - self.start_mb, 1),
                "cuda_peak_mb": None if self.cuda_peak_mb is None else round(self.cuda_peak_mb, 1)}
