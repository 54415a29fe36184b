"""Imports go one way (README "Layout"): a package imports only packages on lower floors, and
inside glue a subpackage imports only glue subpackages on lower floors."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Floor of each package; a package may import its own floor's package and any lower floor's.
FLOORS = {"core": 0, "data_prep": 1, "glue": 2, "seqcls": 3, "eval": 3, "report": 4, "publish": 4, "bench": 4}
# Floors inside glue; glue's own modules (quantize.py, the CLI) stand above every subpackage.
GLUE_FLOORS = {"folder": 0, "schema": 1, "train": 2, "quant": 3, "sft": 4}


def imported_modules(path: Path) -> set[str]:
    """Dotted names ``path`` imports, at module level or inside functions (``from a import b`` gives
    ``a`` and ``a.b``: b may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def imported_packages(path: Path) -> set[str]:
    """Top-level project packages ``path`` imports."""
    return {name.split(".")[0] for name in imported_modules(path)} & FLOORS.keys()


def glue_part(parts: list[str]) -> str:
    """The glue subpackage (``glue.sft``) a dotted name's parts lie in, or ``glue`` for glue's own modules."""
    return f"glue.{parts[1]}" if len(parts) > 1 and parts[1] in GLUE_FLOORS else "glue"


def glue_floor(part: str) -> int:
    return GLUE_FLOORS.get(part.removeprefix("glue."), len(GLUE_FLOORS))


def glue_violations(root: Path) -> list[str]:
    out = []
    for path in sorted((root / "glue").rglob("*.py")):
        part = glue_part(list(path.relative_to(root).parent.parts))
        imported = {glue_part(name.split(".")) for name in imported_modules(path) if name.startswith("glue.")}
        for other in sorted(imported - {part}):
            if glue_floor(other) >= glue_floor(part):
                out.append(f"{path.relative_to(root)} imports {other} (floor {glue_floor(other)} >= {glue_floor(part)})")
    return out


def violations(root: Path) -> list[str]:
    out = []
    for package, floor in FLOORS.items():
        for path in sorted((root / package).rglob("*.py")):
            for other in sorted(imported_packages(path) - {package}):
                if FLOORS[other] >= floor:
                    out.append(f"{path.relative_to(root)} imports {other} (floor {FLOORS[other]} >= {floor})")
    return out + glue_violations(root)


def test_no_import_runs_against_the_layering() -> None:
    assert violations(REPO) == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    for package in FLOORS:
        (tmp_path / package).mkdir()
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from glue.folder.variant import load_variant\n")
    (tmp_path / "eval" / "sideways.py").write_text("import seqcls.export\n")
    assert violations(tmp_path) == ["core/bad.py imports glue (floor 2 >= 0)",
                                    "eval/sideways.py imports seqcls (floor 3 >= 3)"]


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_every_floor_exists(package: str) -> None:
    assert (REPO / package / "__init__.py").is_file()


def test_an_upward_import_inside_glue_is_caught(tmp_path: Path) -> None:
    for part in GLUE_FLOORS:
        (tmp_path / "glue" / part).mkdir(parents=True)
    (tmp_path / "glue" / "folder" / "up.py").write_text("def f():\n    from glue.schema.recipe import load_recipe\n")
    (tmp_path / "glue" / "quant" / "up.py").write_text("from glue.sft import register\n")
    (tmp_path / "glue" / "sft" / "cli.py").write_text("import glue.quantize\n")
    (tmp_path / "glue" / "train" / "down.py").write_text("from glue.folder.manifest import Manifest\n")
    assert violations(tmp_path) == ["glue/folder/up.py imports glue.schema (floor 1 >= 0)",
                                    "glue/quant/up.py imports glue.sft (floor 4 >= 3)",
                                    "glue/sft/cli.py imports glue (floor 5 >= 4)"]


@pytest.mark.parametrize("part", sorted(GLUE_FLOORS))
def test_every_glue_floor_exists(part: str) -> None:
    assert (REPO / "glue" / part / "__init__.py").is_file()
