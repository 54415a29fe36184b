"""Resume a training run only from a complete checkpoint of the same recipe, and report the
whole run (not its last piece) after a resume.

How the sequence-classification stage uses it:

    record = start_run(recipe_dict, work_dir)         # before LLaMA-Factory's get_train_args
    trainer.add_callback(record)                       # or pass it in the Trainer's callbacks
    trainer.train(resume_from_checkpoint=record.resumed_from)
    stats = record.whole_run(trainer.state)            # loss, wall time, steps/s of the whole run

``start_run`` must run before LLaMA-Factory parses the recipe: its ``get_train_args`` resumes
from the newest ``checkpoint-N`` folder whatever state it is in, which is the reported crash.

A checkpoint is complete when every file the Trainer (transformers 5.6 ``_save_checkpoint``)
writes is there and intact (weights, optimizer.pt, scheduler.pt, rng_state*.pth,
trainer_state.json) and ``run_record.json`` is there: :class:`RunRecord` writes it from
``on_save``, which the Trainer calls after the checkpoint is fully written, so it is the last
file of a checkpoint and marks it finished. Incomplete checkpoints (a kill during a save) are
renamed to a hidden ``.incomplete-checkpoint-N`` with a one-line warning; the Trainer, eval-all
and this module ignore hidden folders.

A checkpoint written under another recipe, or from other data (the fingerprint holds the sha256
of every prepared split the recipe names), is never resumed: resume_point refuses, saying what
changed and naming the fix. Starting fresh instead would discard, without being asked, a run that
may have taken hours, because of what may be an accidental edit; the user decides (restore the
recipe or data, or start over with ``overwrite_output_dir=true``, the stage's own key).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from core.io import atomic_write_json, sha256_file
from data_prep.prepared import dataset_file
from glue.folder.weights import file_problem
from glue.schema.recipe import RecipeError

RUN_RECORD = "run_record.json"
SET_ASIDE_PREFIX = ".incomplete-"
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHTS = ("model.safetensors", "adapter_model.safetensors", "model.safetensors.index.json",
           "pytorch_model.bin", "adapter_model.bin")
# Keys that change where or how often things are written or logged, never what is computed:
# a rerun that changes only these resumes the run.
NOT_FINGERPRINTED = frozenset({
    "output_dir", "overwrite_output_dir", "logging_dir", "logging_steps", "logging_strategy", "logging_first_step",
    "report_to", "run_name", "save_steps", "save_strategy", "save_total_limit", "disable_tqdm", "plot_loss",
    "resume_from_checkpoint"})
# How the training command starts over (llamafactory-cli train: the work folder is then removed).
RESTART = "add overwrite_output_dir=true to the command to start over"
DATA_KEYS = ("dataset", "eval_dataset")


class CheckpointError(RecipeError):
    """A checkpoint that must not be resumed (another recipe wrote it), worded with the fix."""


def recipe_fingerprint(recipe: Mapping[str, Any]) -> str:
    """A short hash of everything in a recipe that changes what training computes. Put what
    identifies the inputs beyond their names (data sha256) into ``recipe`` too."""
    kept = {k: v for k, v in recipe.items() if k not in NOT_FINGERPRINTED}
    text = json.dumps(kept, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_digests(recipe: Mapping[str, Any]) -> dict[str, str]:
    """sha256 of every prepared split the recipe trains or evaluates on (``dataset_dir``'s files)."""
    names = []
    for key in DATA_KEYS:
        value = recipe.get(key)
        items = value if isinstance(value, list) else str(value).split(",") if value else []
        names += [str(item).strip() for item in items if str(item).strip()]
    folder = recipe.get("dataset_dir", "data")
    return {name: sha256_file(dataset_file(folder, name)) for name in names}


def run_inputs(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """What a run's checkpoints depend on: the fingerprinted recipe keys and the data's sha256."""
    kept = json.loads(json.dumps({k: v for k, v in recipe.items() if k not in NOT_FINGERPRINTED}, default=str))
    return {"recipe": kept, "data_sha256": data_digests(recipe)}


def what_changed(before: Mapping[str, Any] | None, now: Mapping[str, Any]) -> str:
    """``other data (...)`` / ``another recipe (...)``, from two runs' inputs (older records have none)."""
    if not before:
        return "another recipe or other data"
    old_data, old_recipe, recipe = before.get("data_sha256", {}), before.get("recipe", {}), now["recipe"]
    data = [f"{name}: sha256 {str(old_data.get(name))[:12]}... now {digest[:12]}..."
            for name, digest in now["data_sha256"].items() if old_data.get(name) != digest]
    keys = [f"{key}: {old_recipe.get(key)!r} -> {recipe.get(key)!r}"
            for key in sorted({*old_recipe, *recipe}) if old_recipe.get(key) != recipe.get(key)]
    parts = [f"other data ({'; '.join(data)})"] * bool(data) + [f"another recipe ({', '.join(keys)})"] * bool(keys)
    return " and ".join(parts) or "another recipe or other data"


def _intact(folder: Path, name: str) -> str | None:
    path = folder / name
    if not path.is_file():
        return f"{name} is missing"
    return file_problem(path) or (f"{name} is empty" if path.stat().st_size == 0 else None)


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` (checkpoint-N) cannot be resumed, or None when it is complete."""
    weights = [name for name in WEIGHTS if (folder / name).is_file()]
    if not weights:
        return f"no model weights ({' or '.join(WEIGHTS[:2])})"
    rng = sorted(p.name for p in folder.glob("rng_state*.pth"))
    if not rng:
        return "rng_state.pth is missing"
    for name in [*weights, "optimizer.pt", "scheduler.pt", *rng, *(["scaler.pt"] if (folder / "scaler.pt").exists() else [])]:
        problem = _intact(folder, name)
        if problem:
            return problem
    for name in ("trainer_state.json", RUN_RECORD):
        try:
            content = json.loads((folder / name).read_text())
        except FileNotFoundError:
            return f"{name} is missing"
        except (json.JSONDecodeError, UnicodeDecodeError):
            return f"{name} is not valid JSON"
        if not isinstance(content, dict):
            return f"{name} is not a JSON object"
    step = int(CHECKPOINT.match(folder.name).group(1))
    if json.loads((folder / "trainer_state.json").read_text()).get("global_step") != step:
        return f"trainer_state.json is not at step {step}"
    return None


def checkpoints(output_dir: str | Path) -> list[Path]:
    """The Trainer's checkpoint-N folders in ``output_dir``, oldest first."""
    folder = Path(output_dir)
    found = [p for p in folder.iterdir() if p.is_dir() and CHECKPOINT.match(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(CHECKPOINT.match(p.name).group(1)))


def set_aside(folder: Path, why: str) -> Path:
    """Rename an unusable checkpoint out of the Trainer's sight, with a one-line warning."""
    target = folder.with_name(f"{SET_ASIDE_PREFIX}{folder.name}")
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{SET_ASIDE_PREFIX}{folder.name}-{n}")
    try:
        folder.rename(target)
    except FileNotFoundError:  # another process of a distributed run set it aside first
        return target
    print(f"warning: {folder} is incomplete ({why}); set aside as {target.name}", file=sys.stderr)
    return target


def resume_point(output_dir: str | Path, fingerprint: str, inputs: Mapping[str, Any] | None = None,
                 restart: str = RESTART) -> str | None:
    """The newest complete checkpoint in ``output_dir`` to resume from, or None to start fresh.
    Newer incomplete ones are set aside; one written under another recipe or from other data
    (``inputs``: this run's, see run_inputs) raises CheckpointError naming ``restart``, the fix."""
    for folder in reversed(checkpoints(output_dir)):
        problem = checkpoint_problem(folder)
        if problem:
            set_aside(folder, problem)
            continue
        record = json.loads((folder / RUN_RECORD).read_text())
        written = record.get("fingerprint")
        if written != fingerprint:
            change = what_changed(record.get("inputs"), inputs or {"recipe": {}, "data_sha256": {}})
            raise CheckpointError(
                f"{folder} was written by a run with {change} (fingerprint {written}, now {fingerprint}); "
                f"rerun with the recipe and data that wrote it to resume, or {restart}")
        print(f"resuming from {folder}")
        return str(folder)
    return None


def whole_run_stats(log_history: list[dict[str, Any]], segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Training statistics of a run made of ``segments`` (one per process that trained it:
    start_step, end_step, wall_s; the last is the one that finished), from the Trainer's
    ``log_history`` (restored from the resumed checkpoint, then extended).

    The Trainer's own ``train_loss`` and ``train_runtime`` cover only the last segment (its
    loss sum is divided by all steps). Here: the mean loss over every step whose loss was
    logged (each logged value weighs the steps since the previous log or segment start) plus
    the last segment's unlogged tail, recovered from its train_loss; wall time is the sum of
    the segments' times up to the checkpoint each later one resumed from (work after that
    checkpoint was lost and redone, and is not counted)."""
    if not segments:
        raise ValueError("whole_run_stats needs at least one segment")
    final = segments[-1]
    starts = sorted(s["start_step"] for s in segments)
    loss_sum, loss_steps, previous = 0.0, 0, 0
    for entry in log_history:
        if "loss" not in entry or "step" not in entry:
            continue
        step = entry["step"]
        if step > final["start_step"]:
            break  # the last segment's losses are all in its train_loss
        start = max([previous] + [s for s in starts if s < step])
        loss_sum += entry["loss"] * (step - start)
        loss_steps += step - start
        previous = step
    end = next((e for e in reversed(log_history) if "train_loss" in e), None)
    if end is not None:
        loss_sum += end["train_loss"] * final["end_step"]  # the Trainer divides by all steps
        loss_steps += final["end_step"] - final["start_step"]
    wall_s = sum(s["wall_s"] for s in segments)
    steps = final["end_step"]
    return {"train_loss": loss_sum / loss_steps if loss_steps else None, "loss_steps": loss_steps,
            "global_steps": steps, "wall_time_s": round(wall_s, 3),
            "steps_per_s": round(steps / wall_s, 4) if wall_s > 0 else None,
            "s_per_step": round(wall_s / steps, 4) if steps else None,
            "resumes": len(segments) - 1, "segments": segments}


class RunRecord(TrainerCallback):
    """Writes ``run_record.json`` (fingerprint and the run's segments so far) as the last file
    of every checkpoint, and gives the whole run's statistics after training."""

    def __init__(self, fingerprint: str, resumed_from: str | None = None, inputs: dict[str, Any] | None = None) -> None:
        self.fingerprint, self.resumed_from, self.inputs = fingerprint, resumed_from, inputs
        self.earlier: list[dict[str, Any]] = (
            json.loads((Path(resumed_from) / RUN_RECORD).read_text())["segments"] if resumed_from else [])
        self.start_step = 0
        self.started = time.perf_counter()
        self.segments = list(self.earlier)

    def _segments(self, step: int) -> list[dict[str, Any]]:
        mine = {"start_step": self.start_step, "end_step": step, "wall_s": round(time.perf_counter() - self.started, 3)}
        return [*self.earlier, mine]

    def on_train_begin(self, args, state, control, **kwargs) -> None:
        self.start_step, self.started = state.global_step, time.perf_counter()

    def on_save(self, args, state, control, **kwargs) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            atomic_write_json(folder / RUN_RECORD, {"fingerprint": self.fingerprint, "inputs": self.inputs,
                                                     "segments": self._segments(state.global_step)})

    def on_train_end(self, args, state, control, **kwargs) -> None:
        self.segments = self._segments(state.global_step)

    def whole_run(self, state) -> dict[str, Any]:
        """Call after ``trainer.train()``: the manifest's training statistics for the whole run,
        with the Trainer's total_flos (which it already accumulates across resumes)."""
        return {**whole_run_stats(state.log_history, self.segments), "total_flos": state.total_flos}


def start_run(recipe: Mapping[str, Any], work_dir: str | Path, restart: str = RESTART) -> RunRecord:
    """Decide where a run starts: incomplete checkpoints in ``work_dir`` are set aside, those of
    another recipe or other data are refused (naming ``restart``), and the returned callback
    knows the checkpoint to resume from (``resumed_from``, None for a fresh start)."""
    inputs = run_inputs(recipe)
    fingerprint = recipe_fingerprint({**recipe, "data_sha256": inputs["data_sha256"]} if inputs["data_sha256"]
                                     else recipe)
    return RunRecord(fingerprint, resume_point(work_dir, fingerprint, inputs, restart), inputs)
