"""The report's inputs besides the result JSONs (eval/results.py reads those): the optional
benchmark files, and the report's own error."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ProjectError


class ReportError(ProjectError):
    """A report that cannot be rendered as asked (a page limit, a table wider than the page)."""


def load_bench(results_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Optional benchmark files (results/bench/<model>-<cpu kind>.json, one per model and CPU kind),
    keyed by file stem; unreadable files are reported as such rather than stopping the report. The
    verdicts ``python -m bench.target`` writes beside them (``<bench>_target_<target>.json``) are
    not benches: each bench already carries its own ``target`` block, which the report shows."""
    out = {}
    for path in sorted((Path(results_dir) / "bench").glob("*.json")):
        if "_target_" in path.stem:
            continue
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            data = {"error": f"unreadable ({err})"}
        out[path.stem] = data if isinstance(data, dict) else {"rows": data}
    return out
