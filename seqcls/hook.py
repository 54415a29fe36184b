"""Adds the ``seq_cls`` stage to LLaMA-Factory when LLaMA-Factory is imported.

Imported from a ``.pth`` file at every interpreter start (``make setup`` writes it), so it must be
cheap: it imports nothing heavy and only registers an import hook. When LLaMA-Factory's own
modules load, three small patches apply, all or none:

- ``FinetuningArguments.stage`` accepts ``seq_cls`` (command-line parsing checks the choices);
- ``llamafactory.train.tuner._training_function`` sends ``stage: seq_cls`` to our workflow and
  every other stage to LLaMA-Factory's own code, untouched;
- ``llamafactory.train.tuner.read_args`` reads a recipe file named on the command line with the
  project's reader (glue.schema.recipe), so every stage gets one-line errors and YAML's ``no`` as the word.

Fail-safe, in this order: before the first patch, the installed release must be
SUPPORTED_LLAMAFACTORY; each patch finds every name it changes before changing one, and a name that
has moved takes back the patches already made. Either way LLaMA-Factory runs as if the hook were
absent, and only a ``seq_cls`` recipe stops, with one line naming the fix. That stop, and the
one-line refusal of a recipe file that cannot be read, happen when ``llamafactory-cli`` loads
(``llamafactory.cli``): the command line is read there, and nothing of LLaMA-Factory's is changed.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import seqcls
from seqcls import STAGE

Undo = Callable[[], None]
RECIPE_SUFFIXES = (".yaml", ".yml")


class Moved(Exception):
    """A name a patch changes is not where the supported LLaMA-Factory release has it."""


def _allow_stage(module: ModuleType) -> Undo:
    import typing

    cls = getattr(module, "FinetuningArguments", None)
    stage = getattr(cls, "__dataclass_fields__", {}).get("stage")
    if stage is None or typing.get_origin(stage.type) is not typing.Literal:
        raise Moved("llamafactory.hparams.finetuning_args.FinetuningArguments.stage (a Literal)")
    original = stage.type

    def set_type(hint: Any) -> None:
        stage.type = hint
        cls.__annotations__["stage"] = hint

    if STAGE not in typing.get_args(original):
        set_type(typing.Literal[(*typing.get_args(original), STAGE)])
    return lambda: set_type(original)


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


def command_line_recipe(args: list[str], hints: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The recipe of ``llamafactory-cli train RECIPE.yaml [key=value ...]`` (``args`` are the words
    after ``train``), read and checked by the project's reader with the type ``hints`` of the
    classes that parse it; None when the command line names no recipe file. A recipe that cannot
    be read, a bad override and a post-training recipe stop with one line."""
    if not args or not args[0].endswith(RECIPE_SUFFIXES):
        return None
    from glue.schema.recipe import RecipeError, training_recipe

    try:
        return training_recipe(args[0], args[1:], hints or {})
    except RecipeError as err:
        raise SystemExit(f"error: {err}") from None


def _route_tuner(module: ModuleType) -> Undo:
    originals = {name: getattr(module, name, None) for name in ("_training_function", "read_args")}
    for name, function in originals.items():
        if not callable(function):
            raise Moved(f"llamafactory.train.tuner.{name}")
    training_function, read_args = originals.values()

    def _training_function(config: dict[str, Any]) -> None:
        if requested_stage(config.get("args")) != STAGE:
            return training_function(config)
        from seqcls.workflow import run_from_cli

        run_from_cli(config["args"], config.get("callbacks") or [])

    def _read_args(args: Any = None) -> Any:
        if args is None:
            from glue.schema.recipe import llamafactory_hints

            recipe = command_line_recipe(sys.argv[1:], llamafactory_hints())
            if recipe is not None:
                return recipe
        return read_args(args)

    module._training_function, module.read_args = _training_function, _read_args

    def undo() -> None:
        for name, function in originals.items():
            setattr(module, name, function)

    return undo


PATCHES: dict[str, Callable[[ModuleType], Undo]] = {
    "llamafactory.hparams.finetuning_args": _allow_stage,
    "llamafactory.train.tuner": _route_tuner,
}


class _State:
    """What the hook has done in this interpreter (plain class: dataclasses is too heavy for a .pth)."""

    def __init__(self) -> None:
        self.problem: str | None = None  # why seq_cls cannot run here; LLaMA-Factory is then left as it is
        self.undo: dict[str, Undo] = {}  # each patched module: how to take its patch back


STATE = _State()


def installed_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llamafactory")
    except PackageNotFoundError:
        return None


def _refuse(problem: str) -> None:
    """Record why the stage cannot be added and take back every patch made so far."""
    STATE.problem = problem
    for undo in reversed(list(STATE.undo.values())):
        undo()
    STATE.undo.clear()


def _check_version() -> None:
    """Before the first patch: only the release the patches were written for is patched."""
    if STATE.problem is None and not STATE.undo:
        installed = installed_version()
        if installed != seqcls.SUPPORTED_LLAMAFACTORY:
            _refuse(f"stage {STAGE} was written for LLaMA-Factory {seqcls.SUPPORTED_LLAMAFACTORY}, "
                    f"but {installed or 'none'} is installed")


def patch(name: str, module: ModuleType) -> None:
    """Apply ``name``'s patch to ``module`` unless a check failed; a moved name undoes them all."""
    _check_version()
    if STATE.problem is not None or name in STATE.undo:
        return
    try:
        STATE.undo[name] = PATCHES[name](module)
    except Moved as moved:
        _refuse(f"{moved} has moved in LLaMA-Factory {installed_version()}, so stage {STAGE} cannot be added")


def problem() -> str | None:
    """Why stage seq_cls cannot run in this interpreter (None when it can), with the fix; loads the
    patched modules to find out, as training would."""
    _check_version()
    for name in PATCHES:
        if STATE.problem is None and name not in STATE.undo:
            try:
                patch(name, importlib.import_module(name))
            except ImportError as err:
                _refuse(f"{name} cannot be imported from LLaMA-Factory {installed_version()} ({err}), "
                        f"so stage {STAGE} cannot be added")
    if STATE.problem is None:
        return None
    return f"{STATE.problem}; run `make setup` to install LLaMA-Factory {seqcls.SUPPORTED_LLAMAFACTORY}"


def check_command_line(_module: ModuleType | None = None) -> None:
    """``llamafactory-cli train ...`` as it starts: its recipe is read and checked before
    LLaMA-Factory sees it, and a seq_cls recipe stops here when the stage cannot run."""
    args = sys.argv[1:]
    if not args or args[0] != "train":
        return
    recipe = command_line_recipe(args[1:])
    if requested_stage(recipe if recipe is not None else args[1:]) == STAGE and (why := problem()):
        raise SystemExit(f"error: {why}")


AFTER_LOAD: dict[str, Callable[[ModuleType], None]] = {
    **{name: (lambda module, name=name: patch(name, module)) for name in PATCHES},
    "llamafactory.cli": check_command_line,
}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds a watched module with the normal machinery, then runs its step right after the
    module's own code, before anyone can use it."""

    def find_spec(self, name: str, path: Any = None, target: Any = None):
        after = AFTER_LOAD.get(name)
        if after is None:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then(module: ModuleType) -> None:
            exec_module(module)
            after(module)

        spec.loader.exec_module = exec_then
        return spec


def install() -> None:
    """Register the hook once; patch modules already imported (a late install)."""
    if is_active():
        return
    sys.meta_path.insert(0, _PatchAfterImport())
    for name in PATCHES:
        if name in sys.modules:
            patch(name, sys.modules[name])


def is_active() -> bool:
    return any(isinstance(finder, _PatchAfterImport) for finder in sys.meta_path)
