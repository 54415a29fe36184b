"""Staged outputs (a killed job loses nothing and leaves nothing), file modes, portable paths."""
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.io import atomic_write_json, clean_stale_staging, is_staging, staged_output
from core.paths import REPO, portable, portable_argv
from eval.eval_all import discover


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_success_replaces_the_whole_folder(tmp_path, umask_022):
    out = tmp_path / "variant"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with staged_output(out) as staging:
        assert is_staging(staging) and staging.parent == tmp_path
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["variant"]
    assert _mode(out) == 0o755


def test_failure_keeps_the_finished_folder(tmp_path):
    out = tmp_path / "variant"
    out.mkdir()
    (out / "model.txt").write_text("finished")
    with pytest.raises(RuntimeError):
        with staged_output(out) as staging:
            (staging / "half.txt").write_text("half")
            raise RuntimeError("bad data")
    assert (out / "model.txt").read_text() == "finished"
    assert [p.name for p in tmp_path.iterdir()] == ["variant"]


HOLD = """
import sys, time
from core.io import staged_output
with staged_output(sys.argv[1]) as staging:
    (staging / "part").write_text("x")
    print(staging, flush=True)
    time.sleep(60)
"""


def _start_holder(out: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    return proc, Path(proc.stdout.readline().strip())


def test_killed_jobs_staging_is_cleaned_but_a_live_one_is_not(tmp_path):
    out = tmp_path / "variant"
    killed, killed_staging = _start_holder(out)
    live, live_staging = _start_holder(out)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert killed_staging.is_dir()  # SIGKILL runs no cleanup
        assert clean_stale_staging(out) == [killed_staging]
        assert not killed_staging.exists() and live_staging.is_dir()
    finally:
        live.kill()
        live.wait()
    with staged_output(out) as staging:
        (staging / "done").write_text("ok")
    assert not live_staging.exists() and (out / "done").is_file()


def test_atomic_writes_are_readable_by_others(tmp_path, umask_022):
    atomic_write_json(tmp_path / "results" / "r.json", {"a": 1})
    assert _mode(tmp_path / "results" / "r.json") == 0o644
    assert _mode(tmp_path / "results") == 0o755


def test_eval_all_skips_hidden_and_incomplete_folders(tmp_path):
    root = tmp_path / "models" / "emotion" / "m"
    for name in ("baseline", ".ptq.staging-abc", "qat"):
        (root / name).mkdir(parents=True)
        (root / name / "variant.json").write_text("{}")
    (root / "qlora" / "checkpoint-5").mkdir(parents=True)  # a training run without variant.json
    hidden = tmp_path / "models" / ".old" / "m" / "baseline"
    hidden.mkdir(parents=True)
    (hidden / "variant.json").write_text("{}")
    assert [p.name for p in discover(tmp_path / "models")] == ["baseline", "qat"]


def test_portable_paths_hold_no_absolute_path(tmp_path):
    data = tmp_path / "my data"
    assert portable(data / "train.txt", data) == "train.txt"
    assert portable(REPO / "recipes" / "x.yaml") == "recipes/x.yaml"
    assert portable(tmp_path / "elsewhere" / "f.json") == "f.json"
    argv = [str(REPO / "glue" / "train.py"), str(REPO / "recipes" / "r.yaml"), f"output_dir={tmp_path}/o", "lr=1"]
    assert portable_argv(argv) == ["glue/train.py", "recipes/r.yaml", "output_dir=o", "lr=1"]


def test_provenance_records_a_portable_argv(monkeypatch, tmp_path):
    from core.provenance import provenance

    monkeypatch.setattr(sys, "argv", [str(REPO / "eval" / "evaluate.py"), str(tmp_path / "models" / "v")])
    argv = provenance()["argv"]
    assert argv == ["eval/evaluate.py", "v"] and not any(os.path.isabs(a) for a in argv)


def test_prepared_data_records_paths_relative_to_the_data_folder(prepared_dir, umask_022):
    import json

    meta = json.loads((prepared_dir / "emotion" / "meta.json").read_text())
    assert sorted(s["path"] for s in meta["sources"].values()) == ["test.txt", "train.txt", "validation.txt"]


def test_manifests_and_results_hold_no_absolute_path(tiny_bert_dir, prepared_dir, tmp_path):
    import json
    import shutil

    from eval.evaluate import evaluate_folder, write_result
    from glue.folder.manifest import MANIFEST, Manifest

    folder = Path(shutil.copytree(tiny_bert_dir, tmp_path / "models" / "emotion" / "tiny-bert" / "baseline"))
    manifest = Manifest.read(folder)
    manifest.recipe_path, manifest.base_model = str(tmp_path / "r.yaml"), str(tiny_bert_dir)
    manifest.recipe = {"dataset_dir": str(prepared_dir), "cutoff_len": 64}
    manifest.training = {"resumed_from": str(tmp_path / "w" / "checkpoint-4")}
    manifest.write(folder)
    written = json.loads((folder / MANIFEST).read_text())
    assert written["base_model"] == str(tiny_bert_dir)  # a loader opens it: kept
    assert written["recipe"]["dataset_dir"] == prepared_dir.name and written["recipe_path"] == "r.yaml"
    result = evaluate_folder(folder, dataset_dir=prepared_dir, results_dir=tmp_path / "results", latency=False)
    text = write_result(result, tmp_path / "results").read_text()
    assert str(tmp_path) not in text and '"/' not in text


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_with_and_without_an_atomic_exchange(tmp_path, monkeypatch, exchange):
    import core.io

    if not exchange:  # a file system without renameat2(RENAME_EXCHANGE): two renames
        monkeypatch.setattr(core.io, "_exchange", lambda a, b: False)
    out = tmp_path / "variant"
    out.mkdir()
    (out / "old").write_text("old")
    with staged_output(out) as staging:
        (staging / "new").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new"] and [p.name for p in tmp_path.iterdir()] == ["variant"]


def test_the_commit_is_read_once_as_the_process_starts(monkeypatch):
    """A commit made while a long build runs must not be recorded as the one that built it."""
    from core import provenance as module

    at_start = module.provenance()["git_commit"]

    def later_git(*args, **kwargs):
        raise AssertionError("git was asked again after the process started")

    monkeypatch.setattr(module.subprocess, "run", later_git)
    assert module.provenance()["git_commit"] == at_start


def test_no_git_on_the_machine_records_an_unknown_commit(monkeypatch):
    from core import provenance as module

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(module.subprocess, "run", no_git)
    assert module.git_commit.__wrapped__() == {"git_commit": "unknown", "git_dirty": False}
