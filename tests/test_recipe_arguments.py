"""Every recipe in recipes/ and recipes/quantize/ gives the arguments it gave before the entry
points shared one reader: ``llamafactory-cli train`` (the stage's recipe, through seqcls/hook.py),
glue.sft.register and ``python -m glue.quantize``, each as written and with the overrides make passes.
MPNet's quantization settings, once make's command-line extras, are the recipes in
recipes/quantize/mpnet/ now, and give the arguments the extras gave.

recipe_arguments.json was written from the recipe files by the readers before they were one; it
holds no measured number. A deliberate change to a recipe changes its rows by hand."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from glue.schema.recipe import load_recipe
from glue.sft.register import read_recipe

REPO = Path(__file__).resolve().parent.parent
ROWS = json.loads((Path(__file__).with_name("recipe_arguments.json")).read_text())


def read(row: dict, monkeypatch) -> dict:
    if row["reader"] == "llamafactory-cli train":
        from llamafactory.train import tuner

        monkeypatch.setattr(sys, "argv", ["llamafactory-cli", row["recipe"], *row["overrides"]])
        return {"arguments": tuner.read_args()}
    if row["reader"] == "sft.register":
        return {"arguments": read_recipe(Path(row["recipe"]), row["overrides"])}
    recipe = load_recipe(row["recipe"], row["overrides"])
    return {"arguments": recipe.raw, "glue": dataclasses.asdict(recipe.glue)}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row['reader']}:{row['recipe']}:{len(row['overrides'])}")
def test_the_reader_gives_the_recorded_arguments(row, monkeypatch):
    monkeypatch.chdir(REPO)
    assert read(row, monkeypatch) == {key: row[key] for key in ("arguments", "glue") if key in row}


def test_every_recipe_has_rows():
    recipes = {str(p.relative_to(REPO)) for p in (REPO / "recipes").rglob("*.yaml")}
    assert recipes == {row["recipe"] for row in ROWS}
