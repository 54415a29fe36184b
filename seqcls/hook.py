"""Adds the ``seq_cls`` stage to LLaMA-Factory when LLaMA-Factory is imported.

Imported from a ``.pth`` file at every interpreter start (``make setup`` writes it), so it must be
cheap: it imports nothing heavy and only registers an import hook. When LLaMA-Factory's own
modules load, two small patches apply:

- ``FinetuningArguments.stage`` accepts ``seq_cls`` (command-line parsing checks the choices);
- ``llamafactory.train.tuner._training_function`` sends ``stage: seq_cls`` to our workflow and
  every other stage to LLaMA-Factory's own code, untouched.

A different LLaMA-Factory release is never patched blindly: a seq_cls recipe then stops with one
line naming the fix, and LLaMA-Factory's own stages run as if the hook were absent.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from seqcls import STAGE, SUPPORTED_LLAMAFACTORY


def _allow_stage(module: ModuleType) -> None:
    import typing

    cls = module.FinetuningArguments
    field = cls.__dataclass_fields__["stage"]
    choices = typing.get_args(field.type)
    if STAGE not in choices:
        field.type = typing.Literal[(*choices, STAGE)]
        cls.__annotations__["stage"] = field.type


def requested_stage(args: Any) -> str | None:
    """The ``stage`` a recipe asks for, read before LLaMA-Factory parses it (a dict from a YAML
    recipe, or ``--stage X`` / ``--stage=X`` on the command line)."""
    if isinstance(args, dict):
        return args.get("stage")
    args = list(args or [])
    for i, arg in enumerate(args):
        if arg == "--stage" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--stage="):
            return arg.split("=", 1)[1]
    return None


def _dispatch_seq_cls(module: ModuleType) -> None:
    original: Callable[[dict[str, Any]], None] = module._training_function

    def _training_function(config: dict[str, Any]) -> None:
        if requested_stage(config.get("args")) != STAGE:
            return original(config)
        from llamafactory.extras.env import VERSION

        if VERSION != SUPPORTED_LLAMAFACTORY:
            raise SystemExit(f"error: stage {STAGE} was written for LLaMA-Factory {SUPPORTED_LLAMAFACTORY}, "
                             f"but {VERSION} is installed; run `make setup` to install the pinned release")
        from seqcls.workflow import run_from_cli

        run_from_cli(config["args"], config.get("callbacks") or [])

    module._training_function = _training_function


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "llamafactory.hparams.finetuning_args": _allow_stage,
    "llamafactory.train.tuner": _dispatch_seq_cls,
}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds a patched module with the normal machinery, then runs its patch right after the
    module's own code, before anyone can use it."""

    def find_spec(self, name: str, path: Any = None, target: Any = None):
        patch = PATCHES.get(name)
        if patch is None:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            patch(module)

        spec.loader.exec_module = exec_and_patch
        return spec


def install() -> None:
    """Register the hook once; patch modules already imported (a late install)."""
    if any(isinstance(finder, _PatchAfterImport) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _PatchAfterImport())
    for name, patch in PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])


def is_active() -> bool:
    return any(isinstance(finder, _PatchAfterImport) for finder in sys.meta_path)
