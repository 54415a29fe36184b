"""What each of the four documents contains, as template contexts built from the analysed
groups: emotion.pdf and agnews.pdf (the assignments' quantization reports), metrics.pdf (the
metrics essay) and appendix.pdf (full blocks, benchmark, statistics)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from eval.results import SENSITIVITY, Group
from report import blocks, discussion, figures, handin, handin_agnews, insights, names, standins
from report.analysis import Analysed, analyse_group, dig
from report.results import load_bench

REFERENCES = Path(__file__).with_name("reference_results.yaml")
LEAD_EMOTION = ("mpnet-base", "minilm-l6")   # the bert-base-sized encoder leads where its results exist


def _ordered(tracks: list[Analysed], lead: tuple[str, ...]) -> list[Analysed]:
    rank = {tag: i for i, tag in enumerate(lead)}
    return sorted(tracks, key=lambda a: (rank.get(a.group.model_tag, len(rank)), a.group.model_tag))


def _sensitivity(results_dir: Path, a: Analysed) -> tuple[dict[str, Any] | None, str]:
    path = results_dir / a.group.dataset / a.group.model_tag / SENSITIVITY
    rel = f"results/{a.group.dataset}/{a.group.model_tag}/{SENSITIVITY}"
    return (json.loads(path.read_text()) if path.is_file() else None), rel


def agnews(tracks: list[Analysed], encoders: list[Analysed], fig_dir: Path) -> dict[str, Any]:
    """agnews.pdf: the common hand-in with every variant's latency and the 4-bit origin analysed."""
    view = handin.context("agnews", "Quantizing a decoder news classifier: INT8 from scratch and bitsandbytes",
                          tracks, fig_dir, every_confusion=True)
    return handin_agnews.extend(view, tracks[0], encoders)


def by_dataset(tracks: list[Analysed]) -> dict[str, list[Analysed]]:
    """Tracks of the other datasets, grouped per dataset in a stable order."""
    out: dict[str, list[Analysed]] = {}
    for a in sorted(tracks, key=lambda a: (a.group.dataset, a.group.model_tag)):
        out.setdefault(a.group.dataset, []).append(a)
    return out


def bench_cpu(data: dict[str, Any]) -> str | None:
    """The CPU a benchmark file was measured on, as its ``peak`` block names it: model name, kind
    (bench/peak.py) and ISA flags. Every speed-up in the file is a ratio on that CPU alone."""
    peak = data.get("peak") if isinstance(data.get("peak"), dict) else {}
    if not peak.get("model_name"):
        return None
    kind = f", {peak['cpu_kind']} kind" if peak.get("cpu_kind") else ""
    return f"{peak['model_name']}{kind} ({peak.get('cores', '?')} cores; flags: {peak.get('isa_summary', '?')})"


def grouped_profiles(data: dict[str, Any]) -> str | None:
    """The bench's profiles summed by kind of work; files written before the profile saw inside
    compiled graphs (no ``groups``) say nothing a reader could use, so they give None."""
    profiles = data.get("profile") if isinstance(data.get("profile"), dict) else {}
    summaries = [p["summary"] for p in profiles.values() if isinstance(p, dict) and "groups" in p and "summary" in p]
    return " | ".join(summaries) or None


def _bench(data: dict[str, Any]) -> dict[str, Any]:
    """A benchmark file (written by bench/, schema owned there) read defensively: its per-variant
    rows as a throughput table when they have the expected shape, else its scalar entries; with
    the CPU it names, since one file holds one model on one CPU kind."""
    rows = data.get("rows") if isinstance(data.get("rows"), list) else []
    rows = [r for r in rows if isinstance(r, dict) and isinstance(r.get("timings"), dict)]
    workloads = list(rows[0]["timings"]) if rows else []
    fields = ("throughput_ex_per_s.median", "ms_per_batch.median", "speedup_vs_baseline")
    table = [{"variant": r.get("variant", "?"), "backend": r.get("backend"), "macro_f1": r.get("macro_f1"),
              "cells": [tuple(dig(r["timings"], f"{w}.{f}") for f in fields) for w in workloads]} for r in rows]
    notes = [(k, v) for k, v in blocks.flatten({"target.threshold": dig(data, "target.criteria.threshold.applies"),
                                                "target.met": dig(data, "target.met"),
                                                "target.shortfalls": dig(data, "target.shortfalls"),
                                                "where the time goes": grouped_profiles(data),
                                                "target pick's speed-up if its int8 matmuls took no time":
                                                    dig(data, "profile.target_best_variant.ceiling_speedup_if_int8_matmuls_free"),
                                                "timing_note": data.get("timing_note"),
                                                "skipped": data.get("skipped") or None}) if v != "None"]
    if not table:  # unknown shape: show its top-level scalars so nothing is silently dropped
        notes += blocks.flatten({k: v for k, v in data.items() if not isinstance(v, (dict, list))})
    return {"workloads": workloads, "rows": table, "notes": notes, "cpu": bench_cpu(data)}


def appendix(tracks: list[Analysed], results_dir: Path, fig_dir: Path) -> dict[str, Any]:
    """appendix.pdf: every block in full, the statistics table, the benchmark, published numbers."""
    refs = yaml.safe_load(REFERENCES.read_text())
    views = []
    for a in tracks:
        sens, where = _sensitivity(results_dir, a)
        confusion = figures.confusion_grid(a.group, fig_dir / f"confusion_{a.group.key}.png")
        trade = figures.tradeoff(a.rows, f"{a.group.model_tag} on {a.group.split_label}",
                                 fig_dir / f"tradeoff_{a.group.key}.png")
        views.append({
            "a": a, "group": a.group, "rows": a.rows, "confusion": f"figures/{confusion.name}",
            "tradeoff": trade and f"figures/{trade.name}",
            "blocks": [{"variant": r.variant, "title": names.variant(r.variant), "tuning": r.tuning,
                        "rounds": blocks.tuning_rounds(r.tuning), "selection": r.selection,
                        "evaluations": blocks.selection_rows(r.selection),
                        "quantization": blocks.appendix_rows(blocks.quant_block(r.result), blocks.HIDDEN_QUANT_KEYS),
                        "training": blocks.appendix_rows(r.result.get("training")),
                        "recipe": blocks.appendix_rows(r.result.get("recipe"))} for r in a.rows],
            "variant_sentences": [insights.variant_sentence(r, a.batch_size) for r in a.rows if r.variant != "baseline"],
            "method_notes": [n for n in (discussion.qat_vs_static(a), discussion.dynamic_losses(a, sens, where),
                                         discussion.scratch_modes(a), discussion.pt2e_vs_eager(a),
                                         discussion.qat_two_ways(a), discussion.training_budget(a, "qlora"),
                                         discussion.training_budget(a, "qlora_sft")) if n],
            "decisions": discussion.decision_table(a),
            "references": refs.get(a.group.dataset), "sensitivity": sens, "sensitivity_path": where})
    bench_fig = {}
    for name in load_bench(results_dir):
        src = results_dir / "bench" / f"{name}_throughput.png"
        if src.is_file():
            fig_dir.mkdir(parents=True, exist_ok=True)
            (fig_dir / src.name).write_bytes(src.read_bytes())
            bench_fig[name] = f"figures/{src.name}"
    by_name = {d: next((a for a in tracks if a.group.dataset == d), None) for d in ("emotion", "agnews")}
    cross = [n for n in (discussion.nf4_encoder_vs_decoder(by_name["emotion"], by_name["agnews"]),
                         discussion.bnb_int8_cpu_gpu(tracks)) if n]
    return {"title": "Appendix: quantization blocks, statistics, benchmark", "tracks": views, "cross_notes": cross,
            "standins": standins.standin_rows(tracks),
            "bench": {n: {**_bench(d), "figure": bench_fig.get(n)} for n, d in load_bench(results_dir).items()},
            "quant_references": refs["quantization"]}


def analysed_tracks(groups: list[Group], n_resamples: int) -> dict[str, list[Analysed]]:
    tracks = [analyse_group(g, n_resamples) for g in groups]
    return {"emotion": _ordered([a for a in tracks if a.group.dataset == "emotion"], LEAD_EMOTION),
            "agnews": _ordered([a for a in tracks if a.group.dataset == "agnews"], ()),
            "other": [a for a in tracks if a.group.dataset not in ("emotion", "agnews")]}
