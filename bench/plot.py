"""Throughput against batch size, one line per runner: real lengths and fixed length side by side."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend first)

from bench.runners import PROJECT_BACKEND  # noqa: E402
from core.io import file_mode  # noqa: E402


def plot_throughput(result: dict[str, Any], path: Path) -> None:
    kinds = [("real", "real test lengths (padded to each batch's longest)"),
             ("fixed", f"fixed {result['settings']['seq_len']} tokens")]
    workloads = {w["name"]: w for w in result["workloads"]}
    colors = plt.cm.tab20.colors  # 20 distinct colours: one per row, the same in both panels
    fig, axes = plt.subplots(1, 2, figsize=(14, 5), sharey=True)
    for ax, (kind, title) in zip(axes, kinds):
        for index, row in enumerate(result["rows"]):
            cells = sorted((workloads[name]["batch_size"], cell) for name, cell in row["timings"].items()
                           if workloads[name]["kind"] == kind)
            if not cells:
                continue
            xs = [b for b, _ in cells]
            med = [c["throughput_ex_per_s"]["median"] for _, c in cells]
            lo = [m - c["throughput_ex_per_s"]["p10"] for m, (_, c) in zip(med, cells)]
            hi = [c["throughput_ex_per_s"]["p90"] - m for m, (_, c) in zip(med, cells)]
            style = "-" if row["backend"] == PROJECT_BACKEND else "--"
            ax.errorbar(xs, med, yerr=[lo, hi], fmt=style + "o", ms=4, capsize=2, label=row["variant"],
                        color=colors[index % len(colors)])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("examples / s (median, p10-p90 bars)")
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=8, loc="center right")
    fig.suptitle(f"{result['model_tag']} on {result['dataset']}: throughput, {result['settings']['threads']} threads "
                 "(solid: this project, dashed: other toolkits)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.chmod(tmp, file_mode())  # mkstemp's 0600 would hide the figure from other users
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
