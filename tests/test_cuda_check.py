"""tools/cuda_check.py needs a GPU; without one it must stop at once with one line and write nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_without_cuda_it_stops_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "cuda.json"
    run = subprocess.run([sys.executable, "tools/cuda_check.py", "--out", str(out), "--work", str(tmp_path / "w")],
                         cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"})
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: no CUDA device") and "Traceback" not in run.stderr
    assert not out.exists() and not (tmp_path / "w").exists()
