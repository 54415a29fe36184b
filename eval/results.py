"""Read the result JSONs (eval/SCHEMA.md) back, checked and grouped: the one loader of the
eval-all table, the notebook's table and the report.

Results live at ``results/<dataset>/<model_tag>/<variant>.json``; ``results/bench/`` (the
benchmark) and ``results/report/`` (the rendered report) are other jobs' outputs.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ProjectError
from core.names import check_name

REQUIRED = ("dataset", "split_label", "model_tag", "variant", "labels", "n_examples", "metrics", "predictions")
NOT_RESULTS = {"bench", "report"}
SENSITIVITY = "sensitivity_ptq_dynamic.json"  # written beside the results by eval.sensitivity, not a result JSON
NAMES = ("dataset", "model_tag", "variant")
BASELINE = "baseline"


class ResultsError(ProjectError):
    """A missing or malformed result JSON, worded for the user."""


@dataclass
class Group:
    """All variants of one model on one dataset split: what the tables compare."""

    dataset: str
    model_tag: str
    split_label: str
    labels: list[str]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # variant -> result, baseline first

    @classmethod
    def from_results(cls, results: Iterable[dict[str, Any]]) -> Group:
        """A group from results held in memory (the notebook's), baseline first."""
        results = list(results)
        first = results[0]
        group = cls(first["dataset"], first["model_tag"], first["split_label"], first["labels"],
                    {r["variant"]: r for r in results})
        group.results = {v: group.results[v] for v in sorted(group.results, key=lambda v: (v != BASELINE, v))}
        return group

    @property
    def key(self) -> str:
        return f"{self.dataset}_{self.model_tag}"

    @property
    def baseline(self) -> dict[str, Any] | None:
        return self.results.get(BASELINE)


def _read(path: Path, results_dir: Path | None = None) -> dict[str, Any]:
    """A result JSON, checked. Its names become report and figure file names, so each must be a
    plain name; under ``results_dir`` they must also be the ones its place
    ``<dataset>/<model_tag>/<variant>.json`` gives it, or one file could stand in for another."""
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path}: not valid JSON ({err}); rerun its evaluation (python -m eval.evaluate)") from None
    missing = [k for k in REQUIRED if k not in result]
    if missing:
        raise ResultsError(f"{path}: missing {', '.join(missing)}; it does not follow eval/SCHEMA.md "
                           "(rerun python -m eval.evaluate on that model folder)")
    for key in NAMES:
        check_name(result[key], str(path), key, ResultsError, "fix the field or remove the file")
    if results_dir is not None:
        rel = path.relative_to(results_dir).parts
        if len(rel) != 3:
            raise ResultsError(f"{path}: not at <dataset>/<model_tag>/<variant>.json under {results_dir}; "
                               "move the file there")
        for key, placed in zip(NAMES, (*rel[:2], path.stem)):
            if result[key] != placed:
                raise ResultsError(f"{path}: key '{key}' holds {result[key]!r}, but the file's place names it "
                                   f"{placed!r}; move the file to <dataset>/<model_tag>/<variant>.json "
                                   "or fix the field")
    preds = result["predictions"]
    if len(preds.get("y_true", [])) != result["n_examples"] or len(preds.get("y_pred", [])) != result["n_examples"]:
        raise ResultsError(f"{path}: predictions.y_true/y_pred do not hold n_examples={result['n_examples']} labels")
    return result


def stored_result(path: str | Path, weights_sha256: dict[str, str] | None,
                  results_dir: str | Path | None = None) -> dict[str, Any] | None:
    """The result at ``path`` when it measured these very weights (its ``weights_sha256`` equals the
    model folder's), else None. A result of another build under the same name (a retrained baseline,
    one trained on another CPU kind) or of unrecorded weights is never reused for a new model; nor,
    given ``results_dir``, one whose names are not those of its place under it."""
    path = Path(path)
    try:
        result = _read(path, None if results_dir is None else Path(results_dir)) if path.is_file() else None
    except ResultsError:
        return None
    if result is None or weights_sha256 is None or result.get("weights_sha256") != weights_sha256:
        return None
    return result


def stored_predictions(results_dir: str | Path, dataset: str, model_tag: str, variant: str,
                       weights_sha256: dict[str, str] | None) -> dict[str, Any] | None:
    """The ``predictions`` block of one variant's result, found by its names, when it measured
    these weights; None otherwise."""
    result = stored_result(Path(results_dir) / dataset / model_tag / f"{variant}.json", weights_sha256, results_dir)
    return None if result is None else result["predictions"]


def load_groups(results_dir: str | Path) -> list[Group]:
    """Every (dataset, model_tag) group under ``results_dir``, baseline first in each."""
    results_dir = Path(results_dir)
    paths = sorted(p for p in results_dir.glob("*/*/*.json")
                   if p.parts[-3] not in NOT_RESULTS and p.name != SENSITIVITY)
    if not paths:
        raise ResultsError(f"no result JSONs under {results_dir}/<dataset>/<model_tag>/: run `make eval-all` first")
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for path in paths:
        r = _read(path, results_dir)
        key = (r["dataset"], r["model_tag"], r.get("split", ""))
        if key in found and r["labels"] != found[key][0]["labels"]:
            raise ResultsError(f"{path}: labels {r['labels']} differ from the other {r['dataset']} results "
                               f"{found[key][0]['labels']}")
        found.setdefault(key, []).append(r)
    return [Group.from_results(results) for results in found.values()]
