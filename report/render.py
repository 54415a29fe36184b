"""Render the reports: ``python -m report.render [--results results] [--out results/report]``.

Reads only result JSONs (and the optional bench and sensitivity files), computes intervals and
tests, draws the figures and fills the Jinja templates in report_templates/ into HTML files,
which WeasyPrint turns into emotion.pdf, agnews.pdf, metrics.pdf, appendix.pdf and one
<dataset>.pdf per other dataset with results. A document that runs past its page limit, a table
or figure wider than the page, a printed interval whose word breaks the verdict rule, or a
hand-in with a build or tool word in it is an error.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.io import atomic_write_text
from eval.results import ResultsError, load_groups
from report import claims, documents, handin
from report.results import ReportError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "report_templates"
PAGE_LIMITS = {"emotion": (3, 5), "agnews": (1, 5), "metrics": (1, 6), "appendix": (1, None)}
DATASET_PAGES = (1, 5)   # the hand-in of any other dataset
# Words a hand-in must not contain: how it was built, tools' commands, file-system paths.
BUILD_WORDS = ("make ", ".json", ".yaml", ".csv", "PyPI", "python -m", "Rendered by", "results/", "recipes/",
               "met False", "met True", "pkg://", "outputs/", "epoch(s)", " MB ", " MB)", " MB,", "MB;")
# Identifiers (snake_case, dotted API names, module paths such as bert.encoder.layer.3.output.dense) are
# allowed only in the hand-in's names appendix.
IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b|\b[a-z]+\.[a-z_]+\(|\btorch\.[a-z_.]+"
                        r"|\b[a-z]+(?:\.[a-z]+)*\.\d+\.[a-z][a-z0-9_.]*")


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


def plain_text(html: str) -> str:
    """The text a reader sees: block elements end a clause (¶), inline tags vanish."""
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    html = re.sub(r"</?(td|th|tr|li|p|h[1-6]|div|table|figcaption|ul|ol|section)\b[^>]*>", "¶", html)
    text = re.sub(r"<[^>]+>", "", html)
    return re.sub(r"&amp;", "&", re.sub(r"\s+", " ", text))


def handin_problems(html: str) -> list[str]:
    """Build words anywhere, and identifiers outside the names appendix, of a hand-in."""
    body = re.sub(r'<section class="codenames">.*?</section>', "", html, flags=re.S)
    text = plain_text(body)
    found = [repr(w) for w in BUILD_WORDS if w in text]
    found += [f"identifier {m.group(0)!r}" for m in IDENTIFIER.finditer(text)]
    return found


def check(name: str, html: str, is_handin: bool) -> None:
    """The verdict rule in every document; the reader's words in every hand-in."""
    wrong = claims.disagreements(plain_text(html))
    if wrong:
        raise ReportError(f"{name}.html: {wrong[0]} ({len(wrong)} in all): every comparison must take its word "
                          "from report/claims.py")
    found = handin_problems(html) if is_handin else []
    if found:
        raise ReportError(f"{name}.html: a hand-in says {found[0]} ({len(found)} in all): use the reader's words "
                          "(report/names.py) and keep identifiers to the names appendix")


def _write_pdf(html: str, out_dir: Path, name: str) -> tuple[Path, int]:
    from weasyprint import HTML

    # "Using fontTools instead of HarfBuzz-Subset": font subsetting falls back to a slower path, output is the same
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html, base_url=str(out_dir)).render()
    problems = overflowing(document)
    if problems:
        raise ReportError(f"{name}.pdf: content wider than the page ({problems[0]}; {len(problems)} in all): "
                          f"shorten the cell or figure in report_templates/{name}.html.j2")
    low, high = PAGE_LIMITS.get(name, DATASET_PAGES)
    pages = len(document.pages)
    if pages < low or (high is not None and pages > high):
        raise ReportError(f"{name}.pdf: {pages} pages, the limit is {low} to {high or 'any'}: move detail into "
                          "the appendix (report_templates/appendix.html.j2)")
    path, tmp = out_dir / f"{name}.pdf", out_dir / f".{name}.pdf.tmp"
    document.write_pdf(tmp)
    tmp.replace(path)
    return path, pages


DOCUMENTS = ("emotion", "agnews", "metrics", "appendix")
TEMPLATE = {"emotion": "handin", "agnews": "agnews", "metrics": "metrics", "appendix": "appendix"}


def contexts(results_dir: Path, out_dir: Path, n_resamples: int,
             only: tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """The documents' template contexts (every document by default: the four, and one hand-in per
    other dataset), from the result JSONs alone."""
    from report import metrics_essay

    fig_dir = out_dir / "figures"
    tracks = documents.analysed_tracks(load_groups(results_dir), n_resamples)
    everything = tracks["emotion"] + tracks["agnews"] + tracks["other"]
    wanted = (lambda name: only is None or name in only)
    out = {}
    if wanted("emotion") and tracks["emotion"]:
        out["emotion"] = handin.context(
            "emotion", "Quantizing an emotion classifier: PTQ, QAT and QLoRA", tracks["emotion"], fig_dir)
    if wanted("agnews") and tracks["agnews"]:
        out["agnews"] = documents.agnews(tracks["agnews"], tracks["emotion"], fig_dir)
    for dataset, own in documents.by_dataset(tracks["other"]).items():
        if dataset in DOCUMENTS:
            raise ReportError(f"{results_dir / dataset}: dataset {dataset!r} has a document's name "
                              f"({', '.join(DOCUMENTS)}), so its hand-in would overwrite {dataset}.pdf: "
                              "rename the dataset")
        if wanted(dataset):
            out[dataset] = handin.context(dataset, f"Quantizing a classifier on {dataset}: every method measured",
                                          own, fig_dir, assignment=False)
    if wanted("metrics"):
        out["metrics"] = metrics_essay.context(results_dir, fig_dir)
    if wanted("appendix"):
        out["appendix"] = documents.appendix(everything, results_dir, fig_dir)
    return out


def render(results_dir: Path, out_dir: Path, pdf: bool = True, n_resamples: int = 2000,
           only: tuple[str, ...] | None = None, student: handin.Student = handin.Student()) -> dict[str, Rendered]:
    env = _environment()
    css = (TEMPLATES / "style.css").read_text()
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    outputs = {}
    for name, context in contexts(results_dir, out_dir, n_resamples, only).items():
        html = env.get_template(f"{TEMPLATE.get(name, 'handin')}.html.j2").render(**context, css=css, created=created,
                                                                                  student=student)
        html_path = out_dir / f"{name}.html"
        atomic_write_text(html_path, html)
        check(name, html, is_handin=name not in ("metrics", "appendix"))
        pdf_path, pages = _write_pdf(html, out_dir, name) if pdf else (None, None)
        outputs[name] = Rendered(html_path, pdf_path, pages)
    unknown = sorted(set(only or ()) - set(outputs))
    if unknown:
        raise ReportError(f"no results for {', '.join(unknown)} under {results_dir}: evaluate them first "
                          f"(make all DATASET={unknown[0]})")
    return outputs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="folder of result JSONs")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <results>/report)")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per interval")
    parser.add_argument("--only", nargs="+", help="documents to render (emotion, agnews, metrics, appendix or a "
                                                  "dataset's name; default: all)")
    parser.add_argument("--student", default="", help="the author's name, shown on each hand-in's first page")
    parser.add_argument("--roll", default="", help="the author's roll number, shown beside the name")
    args = parser.parse_args(argv)
    try:
        outputs = render(args.results, args.out or args.results / "report", not args.no_pdf, args.resamples,
                         tuple(args.only) if args.only else None, handin.Student(args.student, args.roll))
    except (ReportError, ResultsError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    for name, r in outputs.items():
        print(f"{r.pdf or r.html}" + (f" ({r.pages} pages)" if r.pages else ""))


if __name__ == "__main__":
    main()
