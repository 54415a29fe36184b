"""What produced a result: commit, package versions, machine, and peak memory."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

from core import MIB
from core.paths import REPO, portable_argv

PACKAGES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "datasets", "llamafactory",
            "scikit-learn", "numpy", "torchao", "onnxruntime", "safetensors", "tokenizers")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def git_commit() -> dict[str, object]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    # Code or recipes changed since the commit; results/ is what the pipeline itself writes, so
    # eval-all's own earlier results must not mark its later ones dirty.
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"))
    return {"git_commit": commit, "git_dirty": dirty}


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, object] = {"cpu": cpu, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                               "platform": platform.platform()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def provenance(**extra: object) -> dict[str, object]:
    return {**git_commit(), "packages": package_versions(), "machine": machine(),
            "argv": portable_argv(sys.argv), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}


def rss_mb() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def max_rss_mb() -> float:
    """High-water resident set size of this process since it started."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
