"""The report's figures, drawn from the analysed rows (never from model outputs)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from report.analysis import Row  # noqa: E402
from report.results import Group  # noqa: E402

DPI = 150
plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "figure.dpi": DPI})

CONVERT = "convert: int8 weights\n+ scales/zero-points"
PIPELINES = {
    "PTQ (post-training quantization)": [
        ("fine-tuned\nFP32 model", "#dde6f0"), ("insert observers\n(min/max, histogram)", "#fde9c9"),
        ("calibrate: forward\npasses, no gradients", "#fde9c9"), (CONVERT, "#d8eed8"), ("int8 model", "#d8eed8")],
    "QAT (quantization-aware training)": [
        ("fine-tuned\nFP32 model", "#dde6f0"), ("insert fake-quant\n(quantize, dequantize)", "#fde9c9"),
        ("fine-tune: weights\nadapt to rounding (STE)", "#f7d4d4"), (CONVERT, "#d8eed8"), ("int8 model", "#d8eed8")],
}


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", dpi=DPI)
    plt.close(fig)
    return path


def ptq_vs_qat(path: Path) -> Path:
    """Two pipelines side by side: PTQ only observes, QAT trains through simulated rounding."""
    fig, ax = plt.subplots(figsize=(7.2, 2.8))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4.3)
    ax.axis("off")
    width, height, gap = 1.8, 0.95, 0.25
    for row, (title, boxes) in enumerate(PIPELINES.items()):
        y = 2.95 - row * 1.75
        ax.text(0.05, y + height + 0.12, title, fontsize=9, fontweight="bold")
        for i, (label, colour) in enumerate(boxes):
            x = 0.05 + i * (width + gap)
            ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.03", fc=colour, ec="#444"))
            ax.text(x + width / 2, y + height / 2, label, ha="center", va="center", fontsize=6.3)
            if i:
                ax.add_patch(FancyArrowPatch((x - gap, y + height / 2), (x, y + height / 2),
                                             arrowstyle="-|>", mutation_scale=10, color="#444"))
    ax.text(5.0, 0.55, "PTQ needs ~hundreds of unlabeled examples and minutes; "
            "QAT needs labeled data and a training run,\nbut lets the weights adapt to the int8 grid.",
            ha="center", va="center", fontsize=7, style="italic")
    return _save(fig, path)


def _front(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    xs, ys, best = [], [], -np.inf
    for x, y in sorted(points):
        if y > best:
            xs.append(x)
            ys.append(y)
            best = y
    return xs, ys


MARKERS = "osD^vP*Xh<>p"


def pareto(rows: list[Row], title: str, path: Path) -> Path | None:
    """Macro-F1 (with 95% CI) against size and against batch-1 latency. One colour and marker per
    variant (legend below, so close points never hide each other's labels); filled markers and the
    step line are the Pareto front."""
    axes_spec = [("size_mb", "size (MB, serialized state dict)", "pareto_size"),
                 ("ms_example", "latency (ms/example, batch 1, median)", "pareto_latency")]
    axes_spec = [a for a in axes_spec if any(getattr(r, a[0]) is not None for r in rows)]
    if not axes_spec:
        return None
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(axes_spec), figsize=(3.6 * len(axes_spec), 2.5), squeeze=False)
    for ax, (attr, label, flag) in zip(axes[0], axes_spec):
        pts = [(i, r) for i, r in enumerate(rows) if getattr(r, attr) is not None]
        for i, r in pts:
            x, ci, colour = getattr(r, attr), r.macro_f1, colours(i % 10)
            ax.errorbar(x, ci.estimate, yerr=[[ci.estimate - ci.low], [ci.high - ci.estimate]],
                        fmt=MARKERS[i % len(MARKERS)], color=colour, mfc=colour if getattr(r, flag) else "white",
                        capsize=2, ms=5, elinewidth=0.8, label=r.variant)
        xs, ys = _front([(getattr(r, attr), r.macro_f1.estimate) for _, r in pts])
        ax.step(xs, ys, where="post", color="#c0392b", lw=0.8, alpha=0.6)
        ax.set_xlabel(label)
        ax.set_ylabel("macro-F1")
        ax.grid(alpha=0.3)
        ax.margins(x=0.12, y=0.12)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.06 * (1 + (len(labels) - 1) // 5), 1, 1))
    return _save(fig, path)


def confusion_grid(group: Group, path: Path) -> Path:
    """Row-normalised confusion matrices, one small panel per variant, same colour scale."""
    variants = list(group.results)
    cols = min(5, len(variants))
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
        ax.set_title(variant, fontsize=8)
        ax.set_xlabel("predicted", fontsize=6)
        ax.set_ylabel("true", fontsize=6)
    fig.tight_layout()
    return _save(fig, path)
