"""The report's figures, drawn from the analysed rows (never from model outputs)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from eval.results import Group  # noqa: E402
from report.analysis import Row  # noqa: E402

DPI = 150
plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "figure.dpi": DPI})

PIPELINES = {
    "Dynamic PTQ (no data)": [
        ("fine-tuned\nFP32 model", "#dde6f0"), ("weights -> int8\n(per-channel scale)", "#d8eed8"),
        ("at run time: scale each\nbatch's activations", "#fde9c9"), ("int8 matmul,\nFP32 output", "#d8eed8")],
    "Static PTQ (unlabelled calibration texts)": [
        ("fine-tuned\nFP32 model", "#dde6f0"), ("insert observers\n(min/max, histogram)", "#fde9c9"),
        ("calibrate: forward\npasses, no gradients", "#fde9c9"), ("convert: int8 weights,\nfixed act. scales", "#d8eed8")],
    "QAT (labelled training data)": [
        ("fine-tuned\nFP32 model", "#dde6f0"), ("insert fake-quant\n(quantize+dequantize)", "#fde9c9"),
        ("fine-tune through\nrounding (STE)", "#f7d4d4"), ("convert: int8 weights,\nlearned act. scales", "#d8eed8")],
}


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", pad_inches=0.05, dpi=DPI)
    plt.close(fig)
    return path


def pipelines(path: Path) -> Path:
    """Dynamic PTQ, static PTQ and QAT as three pipelines: what each needs and when scales are fixed.
    The axes are sized to the boxes, so no box can fall outside the figure."""
    width, height, gap, row_h = 2.1, 0.8, 0.35, 1.25
    n_boxes = max(len(b) for b in PIPELINES.values())
    x_max = n_boxes * width + (n_boxes - 1) * gap + 0.1
    fig, ax = plt.subplots(figsize=(7.0, 0.95 * len(PIPELINES)))
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, row_h * len(PIPELINES))
    ax.axis("off")
    for row, (title, boxes) in enumerate(PIPELINES.items()):
        y = row_h * (len(PIPELINES) - 1 - row) + 0.05
        ax.text(0.05, y + height + 0.1, title, fontsize=8, fontweight="bold")
        for i, (label, colour) in enumerate(boxes):
            x = 0.05 + i * (width + gap)
            ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.02", fc=colour, ec="#444"))
            ax.text(x + width / 2, y + height / 2, label, ha="center", va="center", fontsize=6.5)
            if i:
                ax.add_patch(FancyArrowPatch((x - gap, y + height / 2), (x, y + height / 2),
                                             arrowstyle="-|>", mutation_scale=9, color="#444"))
    return _save(fig, path)


def _box(ax, x: float, y: float, w: float, h: float, text: str, colour: str, size: float = 6.5) -> None:
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", fc=colour, ec="#444"))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, color="#444"))


def qlora(path: Path) -> Path:
    """One QLoRA layer: the frozen NF4 weight (double-quantized block scales) dequantized on the
    fly beside the trainable low-rank path, summed before the next layer."""
    fig, ax = plt.subplots(figsize=(7.0, 2.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.45, 2.7)
    ax.axis("off")
    _box(ax, 0.05, 1.0, 1.3, 0.7, "input x\n(FP32)", "#dde6f0")
    _box(ax, 2.0, 1.75, 3.0, 0.8, "frozen W in NF4: 16 levels,\none scale per block of 64,\nscales stored in 8 bits (double quant.)",
         "#d8eed8", 6)
    _box(ax, 2.0, 0.15, 1.35, 0.75, "A (r x d)\ntrainable", "#f7d4d4")
    _box(ax, 3.65, 0.15, 1.35, 0.75, "B (d x r)\ntrainable", "#f7d4d4")
    _box(ax, 5.6, 1.75, 1.7, 0.8, "dequantize block\nby block, W x", "#fde9c9")
    _box(ax, 7.7, 1.0, 0.9, 0.7, "sum", "#dde6f0")
    _box(ax, 8.95, 1.0, 1.0, 0.7, "next layer,\nthen head\n(trainable)", "#dde6f0", 6)
    _arrow(ax, (1.35, 1.45), (2.0, 2.1))
    _arrow(ax, (1.35, 1.25), (2.0, 0.55))
    _arrow(ax, (5.0, 2.15), (5.6, 2.15))
    _arrow(ax, (3.35, 0.52), (3.65, 0.52))
    _arrow(ax, (7.3, 2.05), (7.75, 1.6))
    _arrow(ax, (5.0, 0.52), (7.75, 1.1))
    _arrow(ax, (8.6, 1.35), (8.95, 1.35))
    ax.text(6.0, 0.2, "(alpha / r) B A x", fontsize=6.5, style="italic")
    ax.text(0.05, -0.35, "Gradients reach A, B and the head only; the 4-bit weights never change.", fontsize=6.5)
    return _save(fig, path)


MARKERS = "osD^vP*Xh<>p"


def tradeoff(rows: list[Row], title: str, path: Path) -> Path | None:
    """Macro-F1 (95% CI) against size and against batch-1 latency (bars: fastest to slowest latency
    round, where eval repeated it). No front is drawn: which points differ is for the statistics."""
    axes_spec = [(a, label) for a, label in (("size_mb", "size (MB, state dict)"),
                                             ("ms_example", "latency (ms/example, batch 1, median)"))
                 if any(getattr(r, a) is not None for r in rows)]
    if not axes_spec:
        return None
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(axes_spec), figsize=(3.5 * len(axes_spec), 2.3), squeeze=False)
    for ax, (attr, label) in zip(axes[0], axes_spec):
        for i, r in enumerate(rows):
            x = getattr(r, attr)
            if x is None:
                continue
            ci, colour = r.macro_f1, colours(i % 10)
            rounds = r.rounds("example") if attr == "ms_example" else None
            xerr = [[x - min(rounds)], [max(rounds) - x]] if rounds else None
            ax.errorbar(x, ci.estimate, yerr=[[ci.estimate - ci.low], [ci.high - ci.estimate]], xerr=xerr,
                        fmt=MARKERS[i % len(MARKERS)], color=colour, capsize=2, ms=4, elinewidth=0.8,
                        label=r.variant)
        ax.set_xlabel(label)
        ax.set_ylabel("macro-F1")
        ax.grid(alpha=0.3)
        ax.margins(x=0.12, y=0.12)
    handles, labels = axes[0][0].get_legend_handles_labels()
    ncol = min(5, len(labels))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=6.5, frameon=False)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout(rect=(0, 0.07 * (1 + (len(labels) - 1) // ncol), 1, 1))
    return _save(fig, path)


def confusion_grid(group: Group, path: Path, variants: list[str] | None = None,
                   titles: dict[str, str] | None = None) -> Path:
    """Row-normalised confusion matrices, one small panel per variant, same colour scale."""
    variants = [v for v in (variants or group.results) if v in group.results]
    cols = min(5 if titles is None or len(group.labels) <= 4 else 4, len(variants))
    nrows = -(-len(variants) // cols)
    n = len(group.labels)
    fig, axes = plt.subplots(nrows, cols, figsize=(1.75 * cols, 1.85 * nrows), squeeze=False)
    for ax in axes.flat[len(variants):]:
        ax.axis("off")
    for ax, variant in zip(axes.flat, variants):
        cm = np.asarray(group.results[variant]["metrics"]["confusion_matrix"], float)
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{norm[i, j]:.2f}".lstrip("0") if norm[i, j] < 1 else "1", ha="center", va="center",
                        fontsize=5.5 if n > 4 else 7, color="white" if norm[i, j] > 0.6 else "black")
        short = [lab[:8] for lab in group.labels]
        ax.set_xticks(range(n), short, rotation=60, fontsize=6)
        ax.set_yticks(range(n), short, fontsize=6)
        ax.set_title((titles or {}).get(variant, variant), fontsize=7 if titles else 8)
        ax.set_xlabel("predicted", fontsize=6)
        ax.set_ylabel("true", fontsize=6)
    fig.tight_layout()
    return _save(fig, path)
