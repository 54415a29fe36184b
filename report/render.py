"""Render the reports: ``python -m report.render [--results results] [--out results/report]``.

Reads only result JSONs (and the optional bench and sensitivity files), computes intervals and
tests, draws the figures and fills the Jinja templates in report_templates/ into four HTML files,
which WeasyPrint turns into emotion.pdf, agnews.pdf, metrics.pdf and appendix.pdf. A document
that runs past its page limit, or a table or figure wider than the page, is an error.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.io import atomic_write_text
from eval.results import ResultsError, load_groups
from report import claims, documents
from report.results import ReportError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "report_templates"
PAGE_LIMITS = {"emotion": (3, 5), "agnews": (1, 5), "metrics": (1, 6), "appendix": (1, None)}


@dataclass(frozen=True)
class Rendered:
    html: Path
    pdf: Path | None
    pages: int | None


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda x, fmt="{:.3f}": "–" if x is None else fmt.format(x)
    env.filters["pts"] = lambda x: "–" if x is None else claims.pts(x)
    return env


def overflowing(document: Any) -> list[str]:
    """Tables, images and lines that reach past the page's content box in a laid-out WeasyPrint
    document: what a reader would see clipped."""
    problems = []
    for number, page in enumerate(document.pages, 1):
        box = page._page_box
        right = box.content_box_x() + box.width + 0.5
        stack = list(box.children)
        while stack:
            child = stack.pop()
            tag = getattr(child, "element_tag", "")
            if tag in ("table", "img", "pre", "p", "li", "td") and child.position_x + child.margin_width() > right:
                problems.append(f"page {number}: <{tag}> ends at {child.position_x + child.margin_width():.0f}px, "
                                f"page content ends at {right:.0f}px")
            stack.extend(getattr(child, "children", []))
    return problems


def _write_pdf(html: str, out_dir: Path, name: str) -> tuple[Path, int]:
    from weasyprint import HTML

    # "Using fontTools instead of HarfBuzz-Subset": font subsetting falls back to a slower path, output is the same
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html, base_url=str(out_dir)).render()
    problems = overflowing(document)
    if problems:
        raise ReportError(f"{name}.pdf: content wider than the page ({problems[0]}; {len(problems)} in all): "
                          f"shorten the cell or figure in report_templates/{name}.html.j2")
    low, high = PAGE_LIMITS[name]
    pages = len(document.pages)
    if pages < low or (high is not None and pages > high):
        raise ReportError(f"{name}.pdf: {pages} pages, the limit is {low} to {high or 'any'}: move detail into "
                          "the appendix (report_templates/appendix.html.j2)")
    path, tmp = out_dir / f"{name}.pdf", out_dir / f".{name}.pdf.tmp"
    document.write_pdf(tmp)
    tmp.replace(path)
    return path, pages


DOCUMENTS = ("emotion", "agnews", "metrics", "appendix")


def contexts(results_dir: Path, out_dir: Path, n_resamples: int,
             only: tuple[str, ...] = DOCUMENTS) -> dict[str, dict[str, Any]]:
    """The documents' template contexts (all four by default), from the result JSONs alone."""
    from report import metrics_essay

    fig_dir = out_dir / "figures"
    tracks = documents.analysed_tracks(load_groups(results_dir), n_resamples)
    everything = tracks["emotion"] + tracks["agnews"] + tracks["other"]
    out = {}
    if "emotion" in only and tracks["emotion"]:
        out["emotion"] = documents.quantization_report(
            "emotion", "Quantizing an emotion classifier: PTQ, QAT, QLoRA and INT8 on CPU", tracks["emotion"],
            everything, fig_dir, results_dir, diagram=True)
    if "agnews" in only and tracks["agnews"]:
        out["agnews"] = documents.quantization_report(
            "agnews", "Quantizing a decoder news classifier: INT8 from scratch and bitsandbytes", tracks["agnews"],
            everything, fig_dir, results_dir, diagram=False)
    if "metrics" in only:
        out["metrics"] = metrics_essay.context(results_dir, fig_dir)
    if "appendix" in only:
        out["appendix"] = documents.appendix(everything, results_dir, fig_dir)
    return out


def render(results_dir: Path, out_dir: Path, pdf: bool = True, n_resamples: int = 2000,
           only: tuple[str, ...] = DOCUMENTS) -> dict[str, Rendered]:
    env = _environment()
    css = (TEMPLATES / "style.css").read_text()
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    outputs = {}
    for name, context in contexts(results_dir, out_dir, n_resamples, only).items():
        html = env.get_template(f"{name}.html.j2").render(**context, css=css, created=created)
        html_path = out_dir / f"{name}.html"
        atomic_write_text(html_path, html)
        pdf_path, pages = _write_pdf(html, out_dir, name) if pdf else (None, None)
        outputs[name] = Rendered(html_path, pdf_path, pages)
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
    except (ReportError, ResultsError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    for name, r in outputs.items():
        print(f"{r.pdf or r.html}" + (f" ({r.pages} pages)" if r.pages else ""))


if __name__ == "__main__":
    main()
