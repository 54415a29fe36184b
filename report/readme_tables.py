"""README.md's results tables, one per track, generated from the result JSONs through
``report.analysis.Row`` so the README quotes the same numbers as the reports.

    python -m report.readme_tables [--results results] [--readme README.md] [--check]

Each table lives between ``<!-- results:<dataset>/<model>:begin -->`` and ``...:end -->`` and ends
with the answer to "which variant should I use", derived from the rows. ``make report`` rewrites
the blocks; ``--check`` (and tests/test_readme.py) fails when one is stale.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from core import docblocks
from core.io import atomic_write_text
from eval.results import BASELINE, ResultsError, load_groups
from report.analysis import Analysed, Row, analyse_group, dig
from report.results import ReportError

BUDGET_POINTS = 0.5    # "within budget": at most this many macro-F1 points below the FP32 baseline
N_RESAMPLES = 100      # the tables show point estimates only, which do not depend on resampling
KIND = "results"  # README blocks: <!-- results:<dataset>/<model>:begin -->
ONE_RUN_MINUTES = 60   # the longest a track's eval-all takes on 2 cores (AG News: 36 min): longer is not one run


def block_key(analysed: Analysed) -> str:
    return f"{analysed.group.dataset}/{analysed.group.model_tag}"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _points(row: Row) -> float | None:
    return 0.0 if row.variant == BASELINE else (None if row.delta_f1 is None else row.delta_f1.estimate * 100)


def _line(row: Row) -> str:
    base = row.variant == BASELINE
    share = 100.0 if base else None if row.size_ratio is None else 100 / row.size_ratio
    b1, bn = (1.0, 1.0) if base else (row.speedup("example"), row.speedup("batch"))
    return (f"| {row.variant} | {row.macro_f1.estimate:.4f} | {_num(_points(row), '{:+.2f}')} | "
            f"{_num(row.size_mb, '{:.1f}')} | {_num(share, '{:.0f}%')} | {_num(row.ms_example, '{:.1f}')} | "
            f"{_num(b1 if row.ms_example else None, '{:.2f}x')} | {_num(bn if row.ms_batch else None, '{:.2f}x')} |")


def _pick(rows: list[Row], key: Callable[[Row], Any], what: Callable[[Row], str]) -> str:
    best = min(rows, key=key, default=None)
    return f"`{best.variant}` ({what(best)})" if best else "none measured"


def _times(row: Row, kind: str) -> str:
    speedup = 1.0 if row.variant == BASELINE else row.speedup(kind)
    return f"{_num(speedup, '{:.2f}x')} FP32"


def advice(analysed: Analysed) -> list[str]:
    """Which variant to use: one line per constraint, each naming the row that answers it."""
    rows = analysed.rows
    base = analysed.row(BASELINE)
    within = [r for r in rows if _points(r) is not None and _points(r) >= -BUDGET_POINTS]
    timed_b1 = [r for r in within if r.ms_example]
    timed_bn = [r for r in within if r.ms_batch]
    budget = f"within {BUDGET_POINTS} macro-F1 points of FP32"
    lines = [
        "- Best quality: " + _pick(rows, lambda r: -r.macro_f1.estimate,
                                   lambda r: f"macro-F1 {r.macro_f1.estimate:.4f}"),
        f"- Smallest {budget}: " + _pick([r for r in within if r.size_mb], lambda r: (r.size_mb, -r.macro_f1.estimate),
                                         lambda r: f"{r.size_mb:.1f} MiB"),
        f"- Fastest at batch 1 {budget}: " + _pick(timed_b1, lambda r: r.ms_example,
                                                   lambda r: f"{r.ms_example:.1f} ms/example, {_times(r, 'example')}"),
        f"- Fastest at batch {analysed.batch_size or 'N'} {budget}: "
        + _pick(timed_bn, lambda r: r.ms_batch, lambda r: f"{r.ms_batch:.0f} ms/batch, {_times(r, 'batch')}"),
    ]
    return lines if base is not None else lines[:1]


def timed_when(results: list[dict[str, Any]]) -> str:
    """When the rows' latencies were measured, from their results' ``provenance.created``: one
    stretch short enough to be one evaluation run, or the span a reader must know to weigh the
    speed-ups, which are ratios between rows."""
    stamps = sorted(datetime.fromisoformat(dig(r, "provenance.created")) for r in results
                    if r.get("latency") and dig(r, "provenance.created"))
    if len(stamps) < 2:
        return "one row timed"
    minutes = (stamps[-1] - stamps[0]).total_seconds() / 60
    if minutes <= ONE_RUN_MINUTES:
        return f"all rows timed within {max(1, round(minutes))} min of each other"
    return (f"rows timed over {minutes / 60:.1f} h, in more than one evaluation run: "
            "speed-ups between them mix runs")


def table(analysed: Analysed) -> str:
    group, base = analysed.group, analysed.group.baseline or {}
    machine = base.get("provenance", {}).get("machine", {})
    threads = (base.get("latency") or {}).get("threads")
    where = f"{machine.get('cpu', 'an unrecorded CPU')}, {threads or '?'} threads" if machine else "an unrecorded CPU"
    n = analysed.batch_size or "N"
    lines = [f"{group.split_label}; latency on {where}, {timed_when(list(group.results.values()))}.", "",
             f"| variant | macro-F1 | vs FP32 (points) | size MiB | size vs FP32 | ms/example | speed-up b1 "
             f"| speed-up b{n} |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [_line(row) for row in analysed.rows]
    return "\n".join(lines + ["", *advice(analysed), ""])


def tables(results_dir: Path) -> dict[str, str]:
    """Block key -> generated Markdown, for every (dataset, model) group under ``results_dir``."""
    return {block_key(a): table(a) for a in (analyse_group(g, N_RESAMPLES) for g in load_groups(results_dir))}


def rewrite(text: str, generated: dict[str, str], source: str = "README.md") -> str:
    """``text`` with every results block replaced; a block whose group has no results is an error."""
    for key in docblocks.missing(text, KIND, generated):
        raise ReportError(f"{source}: results block '{key}' has no results under results/{key}/; "
                          "remove the block or run its evaluation (make eval-all)")
    return docblocks.replace(text, KIND, generated)


def stale(readme: Path, results_dir: Path) -> list[str]:
    """Keys of the blocks in ``readme`` that differ from what ``results_dir`` gives."""
    return docblocks.stale(readme.read_text(encoding="utf-8"), KIND, tables(results_dir))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="folder of result JSONs")
    parser.add_argument("--readme", type=Path, default=Path("README.md"), help="the file holding the blocks")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a block is stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            keys = stale(args.readme, args.results)
            if keys:
                raise ReportError(f"{args.readme}: results block(s) {', '.join(keys)} out of date; run make report")
            return
        text = args.readme.read_text(encoding="utf-8")
        new = rewrite(text, tables(args.results), str(args.readme))
        if new != text:
            atomic_write_text(args.readme, new)
            print(f"{args.readme}: results tables updated")
    except (ReportError, ResultsError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
