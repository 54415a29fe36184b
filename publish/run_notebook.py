"""Execute the notebook headlessly (nbclient) and print its runtime per variant: how docs/benchmark.md's
notebook runtime is measured, and how tests/test_notebook.py runs it.

    python -m publish.run_notebook outputs/publish/local/inference_eval.ipynb [--work-dir outputs/notebook] \
        [--results results]     # also record the runtime, with the CPU and commit, in results/notebook/runtime.json

The notebook reads its settings from ``NB_*`` environment variables (see its first cell); this
sets ``NB_WORK_DIR`` and passes the rest through. The executed copy is saved in the work folder.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from core.io import atomic_write_json, atomic_write_text
from core.paths import REPO
from core.provenance import provenance

RUNTIME_FILE = "runtime.json"  # written by the notebook's last cell: seconds per variant


def execute(notebook: Path, env: dict[str, str], timeout_s: int = 3600) -> nbformat.NotebookNode:
    """Run every cell from the repository root with ``env`` added to this process's environment;
    a failing cell raises nbclient's CellExecutionError carrying the cell's error message."""
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3", resources={"metadata": {"path": str(REPO)}})
    client.execute(env={**os.environ, **env})
    return nb


def stop_message(err: CellExecutionError) -> str:
    """The line a stopped notebook ended with (``SystemExit: error: ...``), without terminal colours."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
    return next(line for line in reversed(lines) if line.strip())


def runtime_table(runtime: dict[str, dict[str, float]]) -> str:
    lines = ["| variant | device | download s | evaluation s | total s |", "|---|---|---|---|---|"]
    for variant, r in runtime.items():
        lines.append(f"| {variant} | {r['device']} | {r['download_s']:.1f} | {r['evaluate_s']:.1f} | "
                     f"{r['download_s'] + r['evaluate_s']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--work-dir", type=Path, default=Path("outputs/notebook"),
                        help="downloads, results, runtime.json and the executed notebook")
    parser.add_argument("--results", type=Path, default=None,
                        help="also write <results>/notebook/runtime.json with the machine and commit")
    args = parser.parse_args(argv)
    work = args.work_dir.resolve()
    start = time.perf_counter()
    try:
        nb = execute(args.notebook, {"NB_WORK_DIR": str(work)})
    except CellExecutionError as err:
        raise SystemExit(f"error: the notebook stopped: {stop_message(err)}") from None
    wall_s = time.perf_counter() - start
    atomic_write_text(work / f"executed_{args.notebook.name}", nbformat.writes(nb))
    runtime = json.loads((work / RUNTIME_FILE).read_text())
    if args.results is not None:
        atomic_write_json(args.results / "notebook" / RUNTIME_FILE,
                          {"notebook": args.notebook.name, "wall_s": round(wall_s, 1), "variants": runtime,
                           "note": "download_s reads a local make-publish folder, not a network",
                           "provenance": provenance()})
    print(runtime_table(runtime))
    print(f"whole notebook: {wall_s:.1f} s (kernel start and imports included)")


if __name__ == "__main__":
    main()
