"""The data rule of mk/data.mk: which folder a dataset is read from, and which files make it stale."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOW = 'show: ; @echo "dir=[$(call data_dir,$(DATASET))] files=[$(call data_files,$(DATASET))]"'


def make_show(*args: str) -> str:
    out = subprocess.run(["make", "--no-print-directory", *args, "--eval", SHOW, "show"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def remembered(tmp_path: Path) -> tuple[Path, Path]:
    """An output folder where dataset 'mydata' was prepared from a folder holding two files."""
    source = tmp_path / "mine"
    source.mkdir()
    for name in ("a.csv", "b.csv"):
        (source / name).write_text("x\n")
    prepared = tmp_path / "out" / "data" / "mydata"
    prepared.mkdir(parents=True)
    (prepared / "data_dir.txt").write_text(f"{source}\n")
    return tmp_path / "out", source


def test_remembered_folder_is_used_without_data_dir(remembered: tuple[Path, Path]) -> None:
    out, source = remembered
    shown = make_show(f"OUT={out}", "DATASET=mydata")
    assert shown == f"dir=[{source}] files=[{source}/a.csv {source}/b.csv]"


def test_data_dir_on_the_command_line_wins(remembered: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = remembered
    assert make_show(f"OUT={out}", "DATASET=mydata", f"DATA_DIR={tmp_path}/other").startswith(
        f"dir=[{tmp_path}/other] files=[]")


def test_empty_data_dir_depends_on_the_registry_folder_not_the_root(tmp_path: Path) -> None:
    shown = make_show(f"OUT={tmp_path}", "DATASET=mydata", "DATA_DIR=")
    files = shown.split("files=[")[1].rstrip("]").split()
    assert files and all(f.startswith("data/") for f in files), shown


def test_never_prepared_dataset_without_a_copy_reads_the_registry_folder(tmp_path: Path) -> None:
    shown = make_show(f"OUT={tmp_path}", "DATASET=mydata", f"SHARED={tmp_path}/none")
    assert shown.startswith("dir=[] files=[data/")
