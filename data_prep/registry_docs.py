"""Write the key reference of docs/datasets.md from the registry's one schema
(``data_prep.registry.DatasetSpec``), so the documentation cannot drift from what the code accepts.

    python -m data_prep.registry_docs [--docs docs/datasets.md] [--check]

The reference sits between ``<!-- registry:keys:begin -->`` and ``<!-- registry:keys:end -->``;
``--check`` (and tests/test_registry_docs.py) fails when it is stale.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from core import docblocks
from core.io import atomic_write_text
from data_prep.registry import DatasetSpec

DOCS = Path(__file__).resolve().parent.parent / "docs" / "datasets.md"
KIND, KEY = "registry", "keys"


def _default(f: dataclasses.Field) -> str:
    if f.default_factory is not dataclasses.MISSING or f.default in (None, ""):
        return "-"
    return f"`{json.dumps(f.default)}`"


def reference() -> str:
    """The key table: one row per registry key, in the schema's order."""
    lines = ["| key (JSON type) | accepts | default | what it does |", "|---|---|---|---|"]
    for f in dataclasses.fields(DatasetSpec):
        if "help" in f.metadata:
            types = " or ".join(t.__name__ for t in f.metadata["types"])
            accepts = f.metadata["value"].replace("<", "&lt;")  # Markdown would read <sha256> as a tag
            lines.append(f"| `{f.name}` ({types}) | {accepts} | {_default(f)} | {f.metadata['help']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DOCS, help="the Markdown file holding the block")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the block is stale")
    args = parser.parse_args(argv)
    text = args.docs.read_text(encoding="utf-8")
    if KEY not in docblocks.blocks(text, KIND):
        sys.exit(f"error: {args.docs}: no <!-- {KIND}:{KEY}:begin --> block; add the begin and end markers")
    if args.check:
        if docblocks.stale(text, KIND, {KEY: reference()}):
            sys.exit(f"error: {args.docs}: the registry key reference is out of date; "
                     "run python -m data_prep.registry_docs")
        return
    atomic_write_text(args.docs, docblocks.replace(text, KIND, {KEY: reference()}))


if __name__ == "__main__":
    main()
