"""Resume only from complete checkpoints of the same recipe; whole-run statistics after a
resume. Fake checkpoint folders, no training."""
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file

from glue.schema.recipe import RecipeError
from seqcls.checkpoints import (
    RUN_RECORD,
    CheckpointError,
    RunRecord,
    checkpoint_problem,
    recipe_fingerprint,
    resume_point,
    start_run,
    whole_run_stats,
)

FP = "f" * 16
FILES = ["model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json", RUN_RECORD]


def make_checkpoint(out: Path, step: int, fingerprint: str = FP) -> Path:
    """The files transformers 5.6's Trainer writes into checkpoint-N, plus the run record."""
    folder = out / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    save_file({"w": torch.full((64,), float(step))}, folder / "model.safetensors")
    (folder / "config.json").write_text("{}")
    torch.save({"state": {0: {"exp_avg": torch.zeros(64)}}, "param_groups": []}, folder / "optimizer.pt")
    torch.save({"last_epoch": step}, folder / "scheduler.pt")
    torch.save({"cpu": torch.random.get_rng_state()}, folder / "rng_state.pth")
    torch.save({"lr": 1e-4}, folder / "training_args.bin")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    (folder / RUN_RECORD).write_text(json.dumps({"fingerprint": fingerprint, "segments": [
        {"start_step": 0, "end_step": step, "wall_s": float(step)}]}))
    return folder


def test_no_checkpoint_means_start_fresh(tmp_path):
    assert resume_point(tmp_path / "missing", FP) is None
    assert resume_point(tmp_path, FP) is None


def test_newest_complete_checkpoint_is_chosen(tmp_path):
    for step in (5, 10, 15):
        make_checkpoint(tmp_path, step)
    assert resume_point(tmp_path, FP) == str(tmp_path / "checkpoint-15")


def test_the_reported_crash_case_is_set_aside(tmp_path, capsys):
    """Killed during a save: 0-byte optimizer.pt, no trainer_state.json."""
    make_checkpoint(tmp_path, 10)
    bad = make_checkpoint(tmp_path, 20)
    (bad / "optimizer.pt").write_bytes(b"")
    (bad / "trainer_state.json").unlink()
    assert resume_point(tmp_path, FP) == str(tmp_path / "checkpoint-10")
    assert not bad.exists() and (tmp_path / ".incomplete-checkpoint-20").is_dir()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "checkpoint-20 is incomplete (optimizer.pt is empty)" in lines[0]
    assert resume_point(tmp_path, FP) == str(tmp_path / "checkpoint-10")  # a rerun agrees


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("damage", ["delete", "truncate", "empty"])
def test_any_missing_or_damaged_file_makes_a_checkpoint_incomplete(tmp_path, name, damage):
    make_checkpoint(tmp_path, 10)
    path = make_checkpoint(tmp_path, 20) / name
    if damage == "delete":
        path.unlink()
    else:
        data = path.read_bytes()
        path.write_bytes(b"" if damage == "empty" else data[:len(data) // 2])
    assert checkpoint_problem(path.parent) is not None
    assert resume_point(tmp_path, FP) == str(tmp_path / "checkpoint-10")


def test_sharded_or_adapter_weights_are_accepted(tmp_path):
    folder = make_checkpoint(tmp_path, 10)
    (folder / "model.safetensors").rename(folder / "adapter_model.safetensors")
    assert checkpoint_problem(folder) is None
    (folder / "adapter_model.safetensors").unlink()
    assert "no model weights" in checkpoint_problem(folder)


def test_state_of_another_step_is_incomplete(tmp_path):
    folder = make_checkpoint(tmp_path, 10)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": 5}))
    assert "not at step 10" in checkpoint_problem(folder)


def test_all_incomplete_means_start_fresh(tmp_path):
    for step in (5, 10):
        (make_checkpoint(tmp_path, step) / "scheduler.pt").unlink()
    assert resume_point(tmp_path, FP) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [".incomplete-checkpoint-10", ".incomplete-checkpoint-5"]


def test_set_aside_twice_keeps_both(tmp_path):
    for _ in range(2):
        (make_checkpoint(tmp_path, 5) / "rng_state.pth").unlink()
        resume_point(tmp_path, FP)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".incomplete-checkpoint-5", ".incomplete-checkpoint-5-2"]


def test_changed_recipe_is_refused_not_resumed(tmp_path):
    make_checkpoint(tmp_path, 10, fingerprint="a" * 16)
    with pytest.raises(CheckpointError, match=r"another recipe or other data \(fingerprint a+, now f+\).*overwrite_output_dir=true"):
        resume_point(tmp_path, FP)
    assert (tmp_path / "checkpoint-10").is_dir()  # nothing was deleted


def test_fingerprint_follows_what_training_computes():
    recipe = {"learning_rate": 1e-4, "num_train_epochs": 3, "output_dir": "a", "logging_steps": 10}
    same = {"logging_steps": 50, "output_dir": "b", "num_train_epochs": 3, "learning_rate": 0.0001}
    assert recipe_fingerprint(recipe) == recipe_fingerprint(same)
    for key, value in (("learning_rate", 2e-4), ("num_train_epochs", 4), ("seed", 1), ("data_sha256", "x")):
        assert recipe_fingerprint({**recipe, key: value}) != recipe_fingerprint(recipe)


def _history(losses: list[float], log_every: int, upto: int, start: int = 0) -> list[dict]:
    """The Trainer's log entries: each the mean of the per-step losses since the last log."""
    entries, last = [], start
    for step in range(start + 1, upto + 1):
        if step % log_every == 0:
            entries.append({"loss": sum(losses[last:step]) / (step - last), "step": step})
            last = step
    return entries


def _final(losses: list[float], start: int) -> dict:
    """The Trainer's last entry: this process's loss sum divided by all steps."""
    return {"train_loss": sum(losses[start:]) / len(losses), "step": len(losses)}


LOSSES = [2.0 - 0.1 * i + 0.03 * (i % 3) for i in range(10)]


def test_uninterrupted_run_keeps_the_trainers_numbers():
    history = _history(LOSSES, 2, 10) + [_final(LOSSES, 0)]
    stats = whole_run_stats(history, [{"start_step": 0, "end_step": 10, "wall_s": 5.0}])
    assert stats["train_loss"] == pytest.approx(sum(LOSSES) / 10)
    assert (stats["global_steps"], stats["wall_time_s"], stats["steps_per_s"], stats["resumes"]) == (10, 5.0, 2.0, 0)


def test_resumed_run_describes_the_whole_run():
    """Checkpoint at 4 (a log step), killed later, resumed from 4 to the end."""
    history = _history(LOSSES, 2, 4) + _history(LOSSES, 2, 10, start=4) + [_final(LOSSES, 4)]
    segments = [{"start_step": 0, "end_step": 4, "wall_s": 3.0}, {"start_step": 4, "end_step": 10, "wall_s": 4.0}]
    stats = whole_run_stats(history, segments)
    assert stats["train_loss"] == pytest.approx(sum(LOSSES) / 10)
    assert history[-1]["train_loss"] != pytest.approx(sum(LOSSES) / 10)  # the Trainer's own number is off
    assert (stats["wall_time_s"], stats["steps_per_s"], stats["resumes"], stats["loss_steps"]) == (7.0, round(10 / 7, 4), 1, 10)


def test_unlogged_steps_before_a_checkpoint_are_left_out_and_counted():
    """Checkpoint at 5 with logs every 2: step 5's loss was never logged anywhere."""
    history = _history(LOSSES, 2, 5) + _history(LOSSES, 2, 10, start=5) + [_final(LOSSES, 5)]
    segments = [{"start_step": 0, "end_step": 5, "wall_s": 2.0}, {"start_step": 5, "end_step": 10, "wall_s": 2.0}]
    stats = whole_run_stats(history, segments)
    assert stats["loss_steps"] == 9
    assert stats["train_loss"] == pytest.approx((sum(LOSSES) - LOSSES[4]) / 9)


def _trainer_objects(out: Path, step: int):
    return SimpleNamespace(output_dir=str(out)), SimpleNamespace(global_step=step, is_world_process_zero=True)


def test_run_record_chains_segments_across_a_resume(tmp_path):
    first = RunRecord(FP)
    args, state = _trainer_objects(tmp_path, 0)
    first.on_train_begin(args, state, None)
    for step in (3, 6):
        make_checkpoint(tmp_path, step, fingerprint="x")
        args, state = _trainer_objects(tmp_path, step)
        first.on_save(args, state, None)
    (tmp_path / "checkpoint-6" / "optimizer.pt").write_bytes(b"")  # killed while saving step 6
    resumed = resume_point(tmp_path, FP)
    assert resumed == str(tmp_path / "checkpoint-3")
    second = RunRecord(FP, resumed)
    args, state = _trainer_objects(tmp_path, 3)
    second.on_train_begin(args, state, None)
    args, state = _trainer_objects(tmp_path, 8)
    second.on_train_end(args, state, None)
    spans = [(s["start_step"], s["end_step"]) for s in second.segments]
    assert spans == [(0, 3), (3, 8)]
    history = _history(LOSSES[:8], 1, 3) + _history(LOSSES[:8], 1, 8, start=3) + [_final(LOSSES[:8], 3)]
    stats = second.whole_run(SimpleNamespace(log_history=history, total_flos=123.0))
    assert stats["train_loss"] == pytest.approx(sum(LOSSES[:8]) / 8) and stats["total_flos"] == 123.0


def test_start_run_sets_aside_refuses_and_resumes(tmp_path):
    recipe = {"learning_rate": 1e-4, "output_dir": "x"}
    assert start_run(recipe, tmp_path).resumed_from is None
    good = make_checkpoint(tmp_path, 4, fingerprint=recipe_fingerprint(recipe))
    (make_checkpoint(tmp_path, 8, fingerprint=recipe_fingerprint(recipe)) / "trainer_state.json").unlink()
    record = start_run({**recipe, "output_dir": "y"}, tmp_path)
    assert record.resumed_from == str(good) and [s["end_step"] for s in record.earlier] == [4]
    with pytest.raises(RecipeError, match="another recipe"):
        start_run({**recipe, "learning_rate": 2e-4}, tmp_path)
