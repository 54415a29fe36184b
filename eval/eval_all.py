"""Evaluate every model folder under outputs/models in one run, then print the comparison.

    python -m eval.eval_all [--models outputs/models] [--results results] [--dataset NAME]

Each folder is evaluated in its own process, so peak memory is the variant's own and one
crash does not stop the rest. Baselines go first: the others' fidelity is measured against them.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from data_prep.common import atomic_write_text


def discover(models_dir: Path, dataset: str | None = None) -> list[Path]:
    """Finished model folders (outputs/models/<dataset>/<model_tag>/<variant>/variant.json),
    baselines first. Hidden folders are skipped: staging folders of a running or killed job
    (core.io.staged_output) hold a variant.json before they are complete."""
    models_dir = Path(models_dir)
    folders = sorted(p.parent for p in models_dir.glob(f"{dataset or '*'}/*/*/variant.json")
                     if not any(part.startswith(".") for part in p.parent.relative_to(models_dir).parts))
    return sorted(folders, key=lambda p: (p.parent.parent.name, p.parent.name, p.name != "baseline"))


def load_results(results_dir: Path) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for path in sorted(Path(results_dir).glob("*/*/*.json")):
        result = json.loads(path.read_text())
        if "metrics" in result and "variant" in result:
            groups.setdefault((result["dataset"], result["model_tag"]), []).append(result)
    for rows in groups.values():
        rows.sort(key=lambda r: (r["variant"] != "baseline", r["variant"]))
    return groups


def comparison_table(rows: list[dict]) -> str:
    """A Markdown table; speed-up is baseline ms/batch over the variant's, from the same run."""
    base = next((r for r in rows if r["variant"] == "baseline"), None)
    header = ("| variant | macro-F1 | accuracy | size MB | ms/example | ms/batch | speed-up b32 | "
              "flip rate | peak RSS MB |")
    lines = [header, "|" + "|".join(["---"] * 9) + "|"]
    for r in rows:
        lat, fid = r.get("latency", {}), r.get("fidelity") or {}
        speed = (base["latency"]["ms_per_batch"] / lat["ms_per_batch"]
                 if base and lat.get("ms_per_batch") and base["latency"].get("ms_per_batch") else None)
        cells = [r["variant"], f"{r['metrics']['macro_f1']:.4f}", f"{r['metrics']['accuracy']:.4f}",
                 f"{r['size_mb']:.1f}", f"{lat.get('ms_per_example', float('nan')):.2f}",
                 f"{lat.get('ms_per_batch', float('nan')):.1f}", f"{speed:.2f}x" if speed else "-",
                 f"{fid['flip_rate']:.3f}" if "flip_rate" in fid else "-",
                 f"{r['memory']['rss_peak_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results_dir: Path) -> str:
    parts = []
    for (dataset, model_tag), rows in load_results(results_dir).items():
        origin = (rows[0].get("weights_origin") or {}).get("note")
        note = f"Weights: {origin}.\n\n" if origin else ""
        parts.append(f"### {dataset} / {model_tag} ({rows[0]['split_label']})\n\n{note}{comparison_table(rows)}\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="outputs/models")
    parser.add_argument("--results", default="results")
    parser.add_argument("--dataset", default=None, help="evaluate this dataset's folders only (the table lists all)")
    parser.add_argument("--table-only", action="store_true", help="print the table from existing results")
    parser.add_argument("extra", nargs="*", help="arguments passed to eval.evaluate (e.g. --limit 200)")
    args = parser.parse_args(argv)
    failed = []
    if not args.table_only:
        folders = discover(Path(args.models), args.dataset)
        if not folders:
            where = f"{args.models}/{args.dataset}" if args.dataset else args.models
            raise SystemExit(f"error: no model folders under {where}; build some first (make all)")
        for i, folder in enumerate(folders, 1):
            print(f"[{i}/{len(folders)}] evaluating {folder}", flush=True)
            cmd = [sys.executable, "-m", "eval.evaluate", str(folder), "--results", args.results, *args.extra]
            if subprocess.run(cmd, check=False).returncode != 0:
                failed.append(str(folder))
    table = report(Path(args.results))
    atomic_write_text(Path(args.results) / "summary.md", "# Comparison (written by eval.eval_all)\n\n" + table)
    print("\n" + table)
    if failed:
        raise SystemExit(f"error: evaluation failed for {', '.join(failed)} (see the messages above)")


if __name__ == "__main__":
    main()
