"""The variants each model family's track builds, from the method registry.

    python -m glue.quant.tracks [--family encoder|decoder]
    python -m glue.quant.tracks --mk > mk/variants.mk

``--mk`` writes the Makefile's variant lists. They are kept in a committed file, so ``make`` works
before the virtual environment exists; tests/test_method_registry.py fails when it is stale.
"""
from __future__ import annotations

import argparse

from glue.quant import variants
from glue.schema.recipe import RecipeError

FAMILIES = ("encoder", "decoder")


def makefile_lists() -> str:
    lines = ["# Written by python -m glue.quant.tracks --mk (the method registry, glue/quant/): do not edit.",
             "# A track's variants: recipes/quantize/<variant>.yaml whose method runs on the family, and the",
             "# trained methods of that family."]
    lines += [f"{family.upper()}_VARIANTS := {' '.join(variants(family))}" for family in FAMILIES]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=FAMILIES, help="only the variants this family's track builds")
    parser.add_argument("--mk", action="store_true", help="print the Makefile's variant lists")
    args = parser.parse_args(argv)
    try:
        print(makefile_lists() if args.mk else "\n".join(variants(args.family)), end="" if args.mk else "\n")
    except RecipeError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
