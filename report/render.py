"""Render the report: ``python -m report.render [--results results] [--out results/report]``.

Reads only result JSONs (and the optional bench files), computes intervals and tests, draws the
figures and fills the Jinja templates in report_templates/ into report.html, then WeasyPrint
turns the same HTML into report.pdf.
"""
from __future__ import annotations

import argparse
import json
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
                   ("lora_rank", "LoRA r"), ("lora_alpha", "LoRA alpha"), ("lora_dropout", "LoRA dropout")]
MAX_VALUE_CHARS = 160


def flatten(block: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested provenance block as (dotted key, short text) rows, whatever keys it has."""
    if isinstance(block, dict):
        rows = []
        for key, value in block.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(block, list) and all(not isinstance(v, (dict, list)) for v in block):
        text = ", ".join(map(str, block))
    elif isinstance(block, (dict, list)):
        text = json.dumps(block, separators=(", ", ": "))
    else:
        text = str(block)
    return [(prefix, text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…")]


def _hyperparameters(rows: list[Row]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns that at least one variant's recipe sets, and each variant's values."""
    contents = {r.variant: dig(r.result, "recipe.content") or {} for r in rows}
    keys = [(k, label) for k, label in HYPERPARAMETERS if any(k in c for c in contents.values())]
    table = [{"variant": v, "recipe": dig(r.result, "recipe.path"),
              "values": [c.get(k) for k, _ in keys], "quant_config": flatten(c.get("quant_config") or {})}
             for (v, c), r in zip(contents.items(), rows)]
    return [label for _, label in keys], table


def _references(dataset: str) -> dict[str, Any] | None:
    refs = yaml.safe_load(REFERENCES.read_text())
    norm = {k.replace("_", ""): v for k, v in refs.items()}
    return norm.get(dataset.replace("_", ""))


def _group_context(group: Group, fig_dir: Path, n_resamples: int) -> dict[str, Any]:
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
        "methods": [{"variant": r.variant, "method": r.method, "description": methods.describe(r.method),
                     "quantization": flatten(r.result.get("quantization") or {}),
                     "training": flatten(r.result.get("training") or {})} for r in rows],
        "hyper_cols": hyper_cols, "hyper_rows": hyper_rows,
        "references": _references(group.dataset),
    }


def _text_metrics() -> dict[str, Any]:
    from report import text_metrics

    encoder = text_metrics.MiniLMEncoder()
    rows = text_metrics.worked_examples(encoder)
    return {"rows": rows, "observations": text_metrics.observations(rows), "reference": text_metrics.REFERENCE,
            "source": text_metrics.SOURCE, "layer": encoder.layer}


def render(results_dir: Path, out_dir: Path, pdf: bool = True, n_resamples: int = 2000) -> dict[str, Path]:
    groups = load_groups(results_dir)
    fig_dir = out_dir / "figures"
    context = {
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "groups": [_group_context(g, fig_dir, n_resamples) for g in groups],
        "diagram": f"figures/{figures.ptq_vs_qat(fig_dir / 'ptq_vs_qat.png').name}",
        "quant_references": yaml.safe_load(REFERENCES.read_text())["quantization"],
        "bench": {name: flatten(data) for name, data in load_bench(results_dir).items()},
        "text_metrics": _text_metrics(),
        "toy": insights.same_accuracy_example(),
        "css": (TEMPLATES / "style.css").read_text(),
    }
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda x, fmt="{:.3f}": "–" if x is None else fmt.format(x)
    html = env.get_template("report.html.j2").render(**context)
    outputs = {"html": out_dir / "report.html"}
    atomic_write_text(outputs["html"], html)
    if pdf:
        from weasyprint import HTML

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
