"""Evaluate every model folder under outputs/models in one run, then print the comparison.

    python -m eval.eval_all [--models outputs/models] [--results results] [--dataset NAME]

Each folder is evaluated in its own process, so peak memory is the variant's own and one
crash does not stop the rest. Baselines go first, so the others read their stored predictions for
fidelity instead of predicting them again.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from core.io import atomic_write_text
from core.names import UnsafeName, VariantId, check_name
from eval.results import ResultsError, load_groups
from eval.tables import summary


def discover(models_dir: Path, dataset: str | None = None) -> list[Path]:
    """Finished model folders (outputs/models/<dataset>/<model_tag>/<variant>/variant.json),
    baselines first. Hidden folders are skipped: staging folders of a running or killed job
    (core.io.staged_output) hold a variant.json before they are complete."""
    models_dir = Path(models_dir)
    if dataset is not None:
        check_name(dataset, "--dataset", "dataset")
    folders = sorted(p.parent for p in models_dir.glob(f"{dataset or '*'}/*/*/variant.json")
                     if not any(part.startswith(".") for part in p.parent.relative_to(models_dir).parts))

    def order(folder: Path) -> tuple[str, str, bool]:
        identity = VariantId.from_folder(folder)
        return identity.dataset, identity.model_tag, identity.variant != "baseline"

    return sorted(folders, key=order)


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
        try:
            folders = discover(Path(args.models), args.dataset)
        except UnsafeName as err:
            raise SystemExit(f"error: {err}") from None
        if not folders:
            where = f"{args.models}/{args.dataset}" if args.dataset else args.models
            raise SystemExit(f"error: no model folders under {where}; build some first (make all)")
        for i, folder in enumerate(folders, 1):
            print(f"[{i}/{len(folders)}] evaluating {folder}", flush=True)
            cmd = [sys.executable, "-m", "eval.evaluate", str(folder), "--results", args.results, *args.extra]
            if subprocess.run(cmd, check=False).returncode != 0:
                failed.append(str(folder))
    try:
        table = summary(load_groups(args.results))
    except ResultsError as err:
        raise SystemExit(f"error: {err}") from None
    atomic_write_text(Path(args.results) / "summary.md", "# Comparison (written by eval.eval_all)\n\n" + table)
    print("\n" + table)
    if failed:
        raise SystemExit(f"error: evaluation failed for {', '.join(failed)} (see the messages above)")


if __name__ == "__main__":
    main()
