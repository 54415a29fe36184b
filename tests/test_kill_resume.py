"""A training run killed at random moments, one of them in the middle of a
checkpoint save, and rerun each time, ends with the metrics and weights of an uninterrupted run."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("llamafactory-cli"))
KILLER = Path(__file__).resolve().parent / "killtest"  # sitecustomize.py: dies inside a save
STEPS, SAVE_EVERY = 12, 2

pytestmark = pytest.mark.slow


def command(model: Path, data: Path, out: Path) -> list[str]:
    return [CLI, "train", "recipes/baseline_minilm.yaml", f"model_name_or_path={model}", f"dataset_dir={data}",
            f"output_dir={out}", f"max_steps={STEPS}", "per_device_train_batch_size=8", "logging_steps=1",
            "save_strategy=steps", f"save_steps={SAVE_EVERY}", "save_total_limit=2",
            "warmup_ratio=0", "use_cpu=true", "load_best_model_at_end=false"]


def environment(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(KILLER), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path, **extra}


def run(cmd: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=environment(**env))


def saved_steps(root: Path) -> list[int]:
    """Steps of the finished checkpoints anywhere under ``root`` (the stage's work folder)."""
    return sorted(int(p.parent.name.split("-")[1]) for p in root.rglob("checkpoint-*/trainer_state.json"))


def kill_after_checkpoint(cmd: list[str], root: Path, step: int, delay_s: float) -> None:
    """Start a run, SIGKILL it ``delay_s`` after checkpoint ``step`` (or a later one) is saved."""
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment())
    try:
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            if any(s >= step for s in saved_steps(root)):
                time.sleep(delay_s)
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def finished(out: Path) -> tuple[dict, dict]:
    manifest = json.loads((out / "variant.json").read_text())
    return manifest, load_file(out / "model.safetensors")


def metrics(manifest: dict) -> dict[str, float]:
    """Final validation metrics, without the timings."""
    return {k: v for k, v in manifest["training"]["validation"].items() if "runtime" not in k and "per_second" not in k}


def test_killed_and_rerun_equals_uninterrupted(tiny_bert_dir, prepared_dir, tmp_path):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    note = f"(random seed {seed})"

    reference = tmp_path / "reference" / "emotion" / "tiny-bert" / "baseline"
    done = run(command(tiny_bert_dir, prepared_dir, reference))
    assert done.returncode == 0, done.stderr[-3000:]

    root = tmp_path / "killed"
    out = root / "emotion" / "tiny-bert" / "baseline"
    cmd = command(tiny_bert_dir, prepared_dir, out)
    # 1. killed while writing a checkpoint's optimizer.pt: 0 bytes, no trainer_state.json after it
    during_save = rng.randrange(2 * SAVE_EVERY, STEPS, SAVE_EVERY)
    died = run(cmd, KILL_DURING_SAVE=str(during_save))
    assert died.returncode == -signal.SIGKILL, f"{note} the run was not killed during the save: {died.stderr[-2000:]}"
    # 2. killed at a random moment after a random later checkpoint
    kill_after_checkpoint(cmd, root, rng.randrange(during_save, STEPS, SAVE_EVERY), rng.uniform(0, 0.5))
    # 3. rerun to the end
    done = run(cmd)
    assert done.returncode == 0, f"{note} {done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, note

    want, want_weights = finished(reference)
    got, got_weights = finished(out)
    assert got["training"]["global_steps"] == want["training"]["global_steps"] == STEPS, note
    assert metrics(got) == pytest.approx(metrics(want), rel=1e-5), note
    # the manifest describes the whole run, not the last process's part of it
    assert got["training"]["train_loss"] == pytest.approx(want["training"]["train_loss"], rel=1e-5), note
    assert (want["training"]["resumes"], want["training"]["loss_steps"]) == (0, STEPS)
    assert got["training"]["resumes"] >= 1 and got["training"]["loss_steps"] == STEPS, note
    assert got["training"]["steps_per_s"] == pytest.approx(STEPS / got["training"]["wall_time_s"], rel=1e-3), note
    assert want_weights.keys() == got_weights.keys()
    for name, tensor in want_weights.items():
        assert (got_weights[name] - tensor).abs().max() <= 1e-6, f"{note} {name} differs"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], f"{note} work or staging folders left"
