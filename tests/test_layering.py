"""Imports go one way (README "Layout"): a package imports only packages on lower floors."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Floor of each package; a package may import its own floor's package and any lower floor's.
FLOORS = {"core": 0, "data_prep": 1, "glue": 2, "seqcls": 3, "eval": 3, "report": 4, "publish": 4, "bench": 4}


def imported_packages(path: Path) -> set[str]:
    """Top-level project packages ``path`` imports (at module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & FLOORS.keys()


def violations(root: Path) -> list[str]:
    out = []
    for package, floor in FLOORS.items():
        for path in sorted((root / package).rglob("*.py")):
            for other in sorted(imported_packages(path) - {package}):
                if FLOORS[other] >= floor:
                    out.append(f"{path.relative_to(root)} imports {other} (floor {FLOORS[other]} >= {floor})")
    return out


def test_no_import_runs_against_the_layering() -> None:
    assert violations(REPO) == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    for package in FLOORS:
        (tmp_path / package).mkdir()
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from glue.variant import load_variant\n")
    (tmp_path / "eval" / "sideways.py").write_text("import seqcls.export\n")
    assert violations(tmp_path) == ["core/bad.py imports glue (floor 2 >= 0)",
                                    "eval/sideways.py imports seqcls (floor 3 >= 3)"]


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_every_floor_exists(package: str) -> None:
    assert (REPO / package / "__init__.py").is_file()
