"""The benchmark figure: throughput against batch size, one line per runner (real lengths, and fixed
length when the bench timed it), and beside it each row's speed-up over the FP32 baseline at the
target workload, with the per-repeat ratios the median is taken over."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend first)

from bench.runners import PROJECT_BACKEND  # noqa: E402
from bench.target import per_repeat_speedups  # noqa: E402
from core.io import file_mode  # noqa: E402


def plot_throughput(result: dict[str, Any], path: Path) -> None:
    workloads = {w["name"]: w for w in result["workloads"]}
    kinds = [(kind, title) for kind, title in (("real", "real test lengths (padded to each batch's longest)"),
                                               ("fixed", f"fixed {result['settings']['seq_len']} tokens"))
             if any(w["kind"] == kind for w in workloads.values())]
    colors = plt.cm.tab20.colors  # 20 distinct colours: one per row, the same in every panel
    fig, axes = plt.subplots(1, len(kinds) + 1, figsize=(7 * len(kinds) + 6, 6.5),
                             gridspec_kw={"width_ratios": [1] * len(kinds) + [0.9]})
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
    plot_speedups(axes[-1], result, colors)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=8, loc="lower center", ncol=8)
    cpu = result.get("peak", {})
    fig.suptitle(f"{result['model_tag']} on {result['dataset']}: throughput and speed-up, {result['settings']['threads']} threads "
                 f"of {cpu.get('model_name', 'an unrecorded CPU')} ({cpu.get('cpu_kind', 'kind not recorded')})\n"
                 "(solid: this project, dashed: other toolkits)", fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
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


def plot_speedups(ax: Any, result: dict[str, Any], colors: tuple) -> None:
    """Speed-up over the baseline at the target workload: the median (bar) and every repeat's
    same-pass ratio (dots), with the target's threshold when the bench judged one."""
    judged = result.get("target", {}).get("criteria", {}).get("target", {})  # the Target the bench applied
    workload = judged.get("workload") or next(w["name"] for w in result["workloads"] if w["kind"] == "real")
    base = result["rows"][0]
    timed = [(index, row) for index, row in enumerate(result["rows"]) if workload in row["timings"]]
    for y, (index, row) in enumerate(timed):
        ratios = per_repeat_speedups(row, base, workload) or []
        ax.barh(y, row["timings"][workload]["speedup_vs_baseline"], color=colors[index % len(colors)], alpha=0.55,
                hatch=None if row["backend"] == PROJECT_BACKEND else "//")
        ax.plot(ratios, [y] * len(ratios), "k.", ms=3)
    ax.set_yticks(range(len(timed)), [row["variant"] for _, row in timed], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", lw=1)
    if judged.get("min_speedup"):
        ax.axvline(judged["min_speedup"], color="red", lw=1, ls="--", label=f"target {judged['min_speedup']:g}x")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel(f"x the baseline at {workload} (bar: median; dots: each repeat)")
    ax.set_title("speed-up over the baseline (hatched: other toolkits)", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
