"""`make help` lists every described target once, under one of its groups."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GROUPS = ("run", "inspect", "publish", "maintain")
DESCRIBED = re.compile(r"^([a-zA-Z0-9_-]+):.*## (.*)$", re.MULTILINE)


def described_targets() -> dict[str, str]:
    """Target -> its ``## `` description, from the Makefile and mk/*.mk."""
    found = {}
    for path in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        found.update(DESCRIBED.findall(path.read_text()))
    return found


def test_every_description_names_a_group() -> None:
    untagged = [t for t, d in described_targets().items() if not re.match(rf"\[({'|'.join(GROUPS)})\] \S", d)]
    assert untagged == [], f"start their ## comment with one of {GROUPS} in brackets: {untagged}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_help_lists_every_target_under_its_group() -> None:
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    listed, group = {}, None
    for line in out.splitlines():
        if re.fullmatch(r"[a-z]+:", line):
            group = line[:-1]
        elif line.strip():
            listed[line.split()[0]] = group
    expected = {t: re.match(r"\[(\w+)\]", d)[1] for t, d in described_targets().items()}
    assert listed == expected
    assert [g for g in GROUPS if g in listed.values()] == [line[:-1] for line in out.splitlines()
                                                            if re.fullmatch(r"[a-z]+:", line)]
