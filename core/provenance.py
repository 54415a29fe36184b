"""What produced a result: commit (and whether code differed from it), package versions, machine,
command line, time."""
from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

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


@functools.cache
def git_commit() -> dict[str, object]:
    """The commit this process's code came from, read once (at import, below): a long build or
    evaluation must not record a commit made, or a file edited, while it ran."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:  # no git on this machine: the commit is unknown, not an error
            return ""

    commit = git("rev-parse", "HEAD") or "unknown"
    # Code or recipes changed since the commit; results/ is what the pipeline itself writes, so
    # eval-all's own earlier results must not mark its later ones dirty.
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"))
    return {"git_commit": commit, "git_dirty": dirty}


git_commit()  # read as the process starts, before its long work


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
