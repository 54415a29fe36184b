"""What each of the four documents contains, as template contexts built from the analysed
groups: emotion.pdf and agnews.pdf (the assignments' quantization reports), metrics.pdf (the
metrics essay) and appendix.pdf (full blocks, benchmark, statistics)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from eval.results import Group
from report import blocks, discussion, figures, insights, standins
from report.analysis import Analysed, analyse_group, dig
from report.results import load_bench

REFERENCES = Path(__file__).with_name("reference_results.yaml")
LEAD_EMOTION = ("mpnet-base", "minilm-l6")   # the bert-base-sized encoder leads where its results exist
SENSITIVITY = "sensitivity_ptq_dynamic.json"


def _ordered(tracks: list[Analysed], lead: tuple[str, ...]) -> list[Analysed]:
    rank = {tag: i for i, tag in enumerate(lead)}
    return sorted(tracks, key=lambda a: (rank.get(a.group.model_tag, len(rank)), a.group.model_tag))


def _sensitivity(results_dir: Path, a: Analysed) -> tuple[dict[str, Any] | None, str]:
    path = results_dir / a.group.dataset / a.group.model_tag / SENSITIVITY
    rel = f"results/{a.group.dataset}/{a.group.model_tag}/{SENSITIVITY}"
    return (json.loads(path.read_text()) if path.is_file() else None), rel


def _track(a: Analysed, fig_dir: Path, results_dir: Path) -> dict[str, Any]:
    """Everything one model track shows: tables, sentences, figures, per-method analysis."""
    sens, where = _sensitivity(results_dir, a)
    trade = figures.tradeoff(a.rows, f"{a.group.model_tag} on {a.group.split_label}",
                             fig_dir / f"tradeoff_{a.group.key}.png")
    confusion = figures.confusion_grid(a.group, fig_dir / f"confusion_{a.group.key}.png")
    method_notes = [s for s in (discussion.qat_vs_static(a), discussion.dynamic_losses(a, sens, where),
                                discussion.scratch_modes(a), discussion.pt2e_vs_eager(a), discussion.qat_two_ways(a),
                                discussion.training_budget(a, "qlora_sft")) if s]
    return {
        "a": a, "group": a.group, "rows": a.rows, "batch_size": a.batch_size,
        "summary": insights.group_sentences(a.rows, len(a.group.labels), a.n_resamples, a.batch_size),
        "method_notes": method_notes, "decisions": discussion.decision_table(a),
        "quant": [{"variant": r.variant, **blocks.quant_summary(r.result), "training": blocks.training_summary(r.result)}
                  for r in a.rows],
        "tradeoff": trade and f"figures/{trade.name}", "confusion": f"figures/{confusion.name}",
        "sensitivity": sens, "sensitivity_path": where,
    }


def quantization_report(dataset: str, title: str, tracks: list[Analysed], all_tracks: list[Analysed],
                        fig_dir: Path, results_dir: Path, diagram: bool) -> dict[str, Any]:
    """emotion.pdf / agnews.pdf: stand-ins, methods, results, analysis and the decision table."""
    views = [_track(a, fig_dir, results_dir) for a in tracks]
    by_dataset = {d: [a for a in all_tracks if a.group.dataset == d] for d in ("emotion", "agnews")}
    cross = [s for s in (discussion.nf4_encoder_vs_decoder(next(iter(by_dataset["emotion"]), None),
                                                           next(iter(by_dataset["agnews"]), None)),
                         discussion.bnb_int8_cpu_gpu(tracks)) if s]
    return {"title": title, "dataset": dataset, "tracks": views, "standins": standins.standin_rows(tracks),
            "diagram": diagram and f"figures/{figures.pipelines(fig_dir / 'pipelines.png').name}",
            "cross_notes": cross}


def _bench(data: dict[str, Any]) -> dict[str, Any]:
    """A benchmark file (written by bench/, schema owned there) read defensively: its per-variant
    rows as a throughput table when they have the expected shape, else its scalar entries."""
    rows = data.get("rows") if isinstance(data.get("rows"), list) else []
    rows = [r for r in rows if isinstance(r, dict) and isinstance(r.get("timings"), dict)]
    workloads = list(rows[0]["timings"]) if rows else []
    fields = ("throughput_ex_per_s.median", "ms_per_batch.median", "speedup_vs_baseline")
    table = [{"variant": r.get("variant", "?"), "backend": r.get("backend"), "macro_f1": r.get("macro_f1"),
              "cells": [tuple(dig(r["timings"], f"{w}.{f}") for f in fields) for w in workloads]} for r in rows]
    notes = [(k, v) for k, v in blocks.flatten({"target.met": dig(data, "target.met"),
                                                "target.shortfalls": dig(data, "target.shortfalls"),
                                                "timing_note": data.get("timing_note"),
                                                "skipped": data.get("skipped") or None}) if v != "None"]
    if not table:  # unknown shape: show its top-level scalars so nothing is silently dropped
        notes += blocks.flatten({k: v for k, v in data.items() if not isinstance(v, (dict, list))})
    return {"workloads": workloads, "rows": table, "notes": notes}


def appendix(tracks: list[Analysed], results_dir: Path, fig_dir: Path) -> dict[str, Any]:
    """appendix.pdf: every block in full, the statistics table, the benchmark, published numbers."""
    refs = yaml.safe_load(REFERENCES.read_text())
    views = []
    for a in tracks:
        sens, where = _sensitivity(results_dir, a)
        confusion = figures.confusion_grid(a.group, fig_dir / f"confusion_{a.group.key}.png")
        views.append({
            "a": a, "group": a.group, "rows": a.rows, "confusion": f"figures/{confusion.name}",
            "blocks": [{"variant": r.variant,
                        "quantization": blocks.appendix_rows(blocks.quant_block(r.result), blocks.HIDDEN_QUANT_KEYS),
                        "training": blocks.appendix_rows(r.result.get("training")),
                        "recipe": blocks.appendix_rows(r.result.get("recipe"))} for r in a.rows],
            "variant_sentences": [insights.variant_sentence(r, a.batch_size) for r in a.rows if r.variant != "baseline"],
            "references": refs.get(a.group.dataset), "sensitivity": sens, "sensitivity_path": where})
    bench_fig = {}
    for name in load_bench(results_dir):
        src = results_dir / "bench" / f"{name}_throughput.png"
        if src.is_file():
            fig_dir.mkdir(parents=True, exist_ok=True)
            (fig_dir / src.name).write_bytes(src.read_bytes())
            bench_fig[name] = f"figures/{src.name}"
    return {"title": "Appendix: quantization blocks, statistics, benchmark", "tracks": views,
            "bench": {n: {**_bench(d), "figure": bench_fig.get(n)} for n, d in load_bench(results_dir).items()},
            "quant_references": refs["quantization"]}


def analysed_tracks(groups: list[Group], n_resamples: int) -> dict[str, list[Analysed]]:
    tracks = [analyse_group(g, n_resamples) for g in groups]
    return {"emotion": _ordered([a for a in tracks if a.group.dataset == "emotion"], LEAD_EMOTION),
            "agnews": _ordered([a for a in tracks if a.group.dataset == "agnews"], ()),
            "other": [a for a in tracks if a.group.dataset not in ("emotion", "agnews")]}
