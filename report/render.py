"""Render the report: ``python -m report.render [--results results] [--out results/report]``.

Reads only result JSONs (and the optional bench files), computes intervals and tests, draws the
figures and fills the Jinja templates in report_templates/ into report.html, then WeasyPrint
turns the same HTML into report.pdf.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from data_prep.common import atomic_write_text
from report import figures, insights, methods
from report.analysis import Row, analyse, dig
from report.results import Group, ReportError, load_bench, load_groups

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "report_templates"
REFERENCES = Path(__file__).with_name("reference_results.yaml")
HYPERPARAMETERS = [("learning_rate", "learning rate"), ("per_device_train_batch_size", "batch size"),
                   ("gradient_accumulation_steps", "grad. accum."), ("num_train_epochs", "epochs"),
                   ("cutoff_len", "max seq. length"), ("max_train_samples", "train examples"),
                   ("lora_rank", "LoRA r"), ("lora_alpha", "LoRA alpha"), ("lora_dropout", "LoRA dropout"),
                   ("lora_target", "LoRA target"), ("quantization_bit", "quant. bits")]
MAX_VALUE_CHARS = 160


def points_cell(delta: float | None) -> str:
    """A difference in percentage points with its sign; no "-0.0" for a rounding-level change."""
    if delta is None:
        return "–"
    text = f"{delta * 100:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def _scalar(value: Any) -> str:
    """Floats to 4 significant digits (a loss of 1.3578524893902717 reads as 1.358)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def compact_modules(names: list[str] | dict[str, str]) -> list[str]:
    """Module names with layer indices folded: 36 names of a 6-layer encoder read as
    ``bert.encoder.layer.*.attention.self.query (x6)``; a dict's values (dtypes) are kept."""
    items = names.items() if isinstance(names, dict) else ((n, None) for n in names)
    counts: dict[str, int] = {}
    for name, value in items:
        key = re.sub(r"\.\d+(?=\.|$)", ".*", name) + (f": {value}" if value else "")
        counts[key] = counts.get(key, 0) + 1
    return [f"{key} (x{n})" if n > 1 else key for key, n in counts.items()]


def flatten(block: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested provenance block as (dotted key, short text) rows, whatever keys it has."""
    if prefix.endswith("modules") and isinstance(block, (list, dict)) and block and \
            all(isinstance(v, str) for v in (block.values() if isinstance(block, dict) else block)):
        block = compact_modules(block)
    if isinstance(block, dict):
        rows = []
        for key, value in block.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(block, list) and all(not isinstance(v, (dict, list)) for v in block):
        text = ", ".join(map(_scalar, block))
    elif isinstance(block, (dict, list)):
        text = json.dumps(block, separators=(", ", ": "))
    else:
        text = _scalar(block)
    return [(prefix, text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…")]


def _hyperparameters(rows: list[Row]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns that at least one variant's recipe sets, and each variant's values."""
    contents = {r.variant: dig(r.result, "recipe.content") or {} for r in rows}
    keys = [(k, label) for k, label in HYPERPARAMETERS if any(k in c for c in contents.values())]
    table = [{"variant": v, "recipe": dig(r.result, "recipe.path"),
              "settings": [c.get(k) for k, _ in keys], "quant_config": flatten(c.get("quant_config") or {})}
             for (v, c), r in zip(contents.items(), rows)]
    return [label for _, label in keys], table


def _references(refs: dict[str, Any], dataset: str) -> dict[str, Any] | None:
    norm = {k.replace("_", ""): v for k, v in refs.items()}
    return norm.get(dataset.replace("_", ""))


def _group_context(group: Group, fig_dir: Path, n_resamples: int, refs: dict[str, Any]) -> dict[str, Any]:
    rows = analyse(group, n_resamples)
    batch = next((r.batch_size for r in rows if r.batch_size), None)
    pareto = figures.pareto(rows, group.split_label, fig_dir / f"pareto_{group.key}.png")
    confusion = figures.confusion_grid(group, fig_dir / f"confusion_{group.key}.png")
    hyper_cols, hyper_rows = _hyperparameters(rows)
    return {
        "group": group, "rows": rows, "batch_size": batch,
        "pareto": pareto and f"figures/{pareto.name}", "confusion": f"figures/{confusion.name}",
        "summary": insights.group_sentences(rows),
        "variant_sentences": [insights.variant_sentence(r, batch) for r in rows if r.variant != "baseline"],
        "fidelity_sentences": [s for s in (insights.fidelity_sentence(r) for r in rows) if s],
        "hyper_cols": hyper_cols, "hyper_rows": hyper_rows,
        "references": _references(refs, group.dataset),
    }


def _bench(data: dict[str, Any]) -> dict[str, Any]:
    """A benchmark file (written by bench/, schema owned there) read defensively: its per-variant
    rows as a throughput table when they have the expected shape, else its scalar entries."""
    rows = data.get("rows") if isinstance(data.get("rows"), list) else []
    rows = [r for r in rows if isinstance(r, dict) and isinstance(r.get("timings"), dict)]
    workloads = list(rows[0]["timings"]) if rows else []
    fields = ("throughput_ex_per_s.median", "ms_per_batch.median", "speedup_vs_baseline")
    table = [{"variant": r.get("variant", "?"), "backend": r.get("backend"), "macro_f1": r.get("macro_f1"),
              "cells": [tuple(dig(r["timings"], f"{w}.{f}") for f in fields) for w in workloads]} for r in rows]
    notes = [(k, v) for k, v in flatten({"target.met": dig(data, "target.met"),
                                         "target.shortfalls": dig(data, "target.shortfalls"),
                                         "target.note": dig(data, "target.note"),
                                         "peak.formula": dig(data, "peak.formula"),
                                         "timing_note": data.get("timing_note"),
                                         "skipped": data.get("skipped") or None}) if v != "None"]
    if not table:  # unknown shape: show its top-level scalars so nothing is silently dropped
        notes += [(k, v) for k, v in flatten({k: v for k, v in data.items() if not isinstance(v, (dict, list))})]
    return {"workloads": workloads, "rows": table, "notes": notes}


def _bench_figure(results_dir: Path, name: str, fig_dir: Path) -> str | None:
    """bench/ draws results/bench/<name>_throughput.png; copied next to the report's own figures."""
    src = results_dir / "bench" / f"{name}_throughput.png"
    if not src.is_file():
        return None
    fig_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, fig_dir / src.name)
    return f"figures/{src.name}"


def _training_rows(block: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A training block minus per-step histories (lists of records, too long for a table) and
    unset values."""
    kept = {k: v for k, v in (block or {}).items() if not (isinstance(v, list) and v and isinstance(v[0], dict))}
    return [(k, v) for k, v in flatten(kept) if v != "None"]


# Bookkeeping left out of the report's method table (it stays in each result JSON): the full
# per-module lists (their counts by type are shown), memory and timing of the quantization step.
HIDDEN_QUANT_KEYS = re.compile(r"(^|\.)(modules|peak_memory|weights_mb|baseline_weights_mb|quantize_time_s|time_s)(\.|$)")


def _quantization_rows(block: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in flatten(block) if not HIDDEN_QUANT_KEYS.search(k)]


def _methods(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per distinct (variant, quantization block): the same PTQ run on two datasets is
    described once, with the groups it appears in."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for g in groups:
        for r in g["rows"]:
            quant = r.result.get("quantization") or {}
            entry = seen.setdefault((r.variant, json.dumps(quant, sort_keys=True)), {
                "variant": r.variant, "method": r.method, "description": methods.describe(r.method),
                "quantization": _quantization_rows(quant), "training": _training_rows(r.result.get("training")), "groups": []})
            entry["groups"].append(g["group"].dataset)
    return list(seen.values())


def _text_metrics() -> dict[str, Any]:
    from report import text_metrics

    encoder = text_metrics.MiniLMEncoder()
    rows = text_metrics.worked_examples(encoder)
    return {"rows": rows, "observations": text_metrics.observations(rows), "reference": text_metrics.REFERENCE,
            "source": text_metrics.SOURCE, "layer": encoder.layer}


def render(results_dir: Path, out_dir: Path, pdf: bool = True, n_resamples: int = 2000) -> dict[str, Path]:
    groups = load_groups(results_dir)
    fig_dir = out_dir / "figures"
    refs = yaml.safe_load(REFERENCES.read_text())
    group_contexts = [_group_context(g, fig_dir, n_resamples, refs) for g in groups]
    context = {
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "groups": group_contexts, "methods": _methods(group_contexts),
        "diagram": f"figures/{figures.ptq_vs_qat(fig_dir / 'ptq_vs_qat.png').name}",
        "quant_references": refs["quantization"],
        "bench": {name: {**_bench(data), "figure": _bench_figure(results_dir, name, fig_dir)}
                  for name, data in load_bench(results_dir).items()},
        "text_metrics": _text_metrics(),
        "toy": insights.same_accuracy_example(),
        "css": (TEMPLATES / "style.css").read_text(),
    }
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda x, fmt="{:.3f}": "–" if x is None else fmt.format(x)
    env.filters["pts"] = points_cell
    html = env.get_template("report.html.j2").render(**context)
    outputs = {"html": out_dir / "report.html"}
    atomic_write_text(outputs["html"], html)
    if pdf:
        from weasyprint import HTML

        # "Using fontTools instead of HarfBuzz-Subset": font subsetting falls back to a slower path, output is the same
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        outputs["pdf"] = out_dir / "report.pdf"
        tmp = out_dir / ".report.pdf.tmp"
        HTML(string=html, base_url=str(out_dir)).write_pdf(tmp)
        tmp.replace(outputs["pdf"])
    return outputs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="folder of result JSONs")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <results>/report)")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per interval")
    args = parser.parse_args(argv)
    try:
        outputs = render(args.results, args.out or args.results / "report", not args.no_pdf, args.resamples)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    for path in outputs.values():
        print(path)


if __name__ == "__main__":
    main()
