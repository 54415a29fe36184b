"""The Markdown tables of a group of results: what `make eval-all` prints and writes to
results/summary.md, and what the notebook prints. (The report's PDF tables come from
report/analysis.Row, which adds intervals and verdicts to the same results.)"""
from __future__ import annotations

from eval.results import Group


def comparison_table(group: Group) -> str:
    """One row per variant; speed-up is the baseline's ms/batch over the variant's, both from results of one run."""
    base = group.baseline
    header = ("| variant | macro-F1 | accuracy | size MiB | ms/example | ms/batch | speed-up b32 | "
              "flip rate | peak RSS MiB |")
    lines = [header, "|" + "|".join(["---"] * 9) + "|"]
    for variant, r in group.results.items():
        lat, fid = r.get("latency", {}), r.get("fidelity") or {}
        speed = (base["latency"]["ms_per_batch"] / lat["ms_per_batch"]
                 if base and lat.get("ms_per_batch") and base["latency"].get("ms_per_batch") else None)
        cells = [variant, f"{r['metrics']['macro_f1']:.4f}", f"{r['metrics']['accuracy']:.4f}",
                 f"{r['size_mb']:.1f}", f"{lat.get('ms_per_example', float('nan')):.2f}",
                 f"{lat.get('ms_per_batch', float('nan')):.1f}", f"{speed:.2f}x" if speed else "-",
                 f"{fid['flip_rate']:.3f}" if "flip_rate" in fid else "-",
                 f"{r['memory']['rss_peak_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_class_f1_table(group: Group) -> str:
    """Per-class F1 of every variant, classes as columns."""
    lines = ["| variant | " + " | ".join(group.labels) + " |", "|---" * (len(group.labels) + 1) + "|"]
    lines += [f"| {variant} | " + " | ".join(f"{r['metrics']['per_class_f1'][label]:.3f}" for label in group.labels)
              + " |" for variant, r in group.results.items()]
    return "\n".join(lines)


def summary(groups: list[Group]) -> str:
    """Every group's comparison table under a heading naming its split (and its weights' origin)."""
    parts = []
    for group in groups:
        origin = (next(iter(group.results.values())).get("weights_origin") or {}).get("note")
        note = f"Weights: {origin}.\n\n" if origin else ""
        parts.append(f"### {group.dataset} / {group.model_tag} ({group.split_label})\n\n{note}"
                     f"{comparison_table(group)}\n")
    return "\n".join(parts)

