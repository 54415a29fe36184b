"""The seq_cls hook fails safe: another LLaMA-Factory release, or a patched name that has moved,
leaves LLaMA-Factory exactly as it is, so its own stages run, and only a seq_cls recipe stops with
one line naming the fix."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import pytest

import seqcls
from seqcls import hook

REPO = Path(__file__).resolve().parent.parent
FIX = f"run `make setup` to install LLaMA-Factory {seqcls.SUPPORTED_LLAMAFACTORY}"


def fake_llamafactory(*, stage: bool = True, training_function: bool = True) -> tuple[ModuleType, ModuleType]:
    """Stand-ins for the two modules the hook patches, with a name left out where asked."""
    finetuning = ModuleType("finetuning_args")
    fields = [("stage", typing.Literal["pt", "sft"], dataclasses.field(default="sft"))] if stage else []
    finetuning.FinetuningArguments = dataclasses.make_dataclass("FinetuningArguments", fields)
    tuner = ModuleType("tuner")
    tuner.read_args = lambda args=None: args
    if training_function:
        tuner._training_function = lambda config: "llamafactory's own"
    return finetuning, tuner


def state_of(finetuning: ModuleType, tuner: ModuleType) -> tuple:
    """Everything of the two modules a patch could change."""
    cls = finetuning.FinetuningArguments
    stage = cls.__dataclass_fields__.get("stage")
    return (stage and stage.type, cls.__annotations__.get("stage"), vars(tuner).get("_training_function"),
            tuner.read_args)


@pytest.fixture
def fresh_hook(monkeypatch):
    """The hook as in a new interpreter, finding the supported release installed."""
    monkeypatch.setattr(hook, "STATE", hook._State())
    monkeypatch.setattr(hook, "installed_version", lambda: seqcls.SUPPORTED_LLAMAFACTORY)
    return hook


def patch_both(finetuning: ModuleType, tuner: ModuleType) -> None:
    hook.patch("llamafactory.hparams.finetuning_args", finetuning)
    hook.patch("llamafactory.train.tuner", tuner)


def test_the_supported_release_is_patched(fresh_hook):
    finetuning, tuner = fake_llamafactory()
    patch_both(finetuning, tuner)
    assert hook.STAGE in typing.get_args(finetuning.FinetuningArguments.__dataclass_fields__["stage"].type)
    assert tuner._training_function({"args": {"stage": "sft"}}) == "llamafactory's own"
    assert hook.problem() is None


@pytest.mark.parametrize("missing", ["stage", "training_function"])
def test_a_moved_name_leaves_llamafactory_untouched(fresh_hook, missing):
    finetuning, tuner = fake_llamafactory(**{missing: False})
    before = state_of(finetuning, tuner)
    patch_both(finetuning, tuner)
    assert state_of(finetuning, tuner) == before  # the stage Literal patched first is taken back too
    assert hook.problem() == f"{hook.STATE.problem}; {FIX}"
    assert "has moved in LLaMA-Factory" in hook.problem()


def test_another_release_is_not_patched_at_all(fresh_hook, monkeypatch):
    monkeypatch.setattr(hook, "installed_version", lambda: "0.9.9")
    finetuning, tuner = fake_llamafactory()
    before = state_of(finetuning, tuner)
    patch_both(finetuning, tuner)
    assert state_of(finetuning, tuner) == before
    assert hook.problem() == (f"stage seq_cls was written for LLaMA-Factory {seqcls.SUPPORTED_LLAMAFACTORY}, "
                              f"but 0.9.9 is installed; {FIX}")


# Run as `llamafactory-cli train RECIPE` runs (sys.argv, then llamafactory.cli loads), after a change
# the test names; prints LLaMA-Factory's own functions and stage choices, or stops.
SCRIPT = """
import json, sys, typing
import seqcls, seqcls.hook as hook
{change}
sys.argv = ["llamafactory-cli", "train", *json.loads(sys.argv[1])]
import llamafactory.cli
from llamafactory.hparams import finetuning_args, parser
from llamafactory.train import tuner
print(json.dumps({{"stages": typing.get_args(finetuning_args.FinetuningArguments.__dataclass_fields__["stage"].type),
                  "own": tuner.read_args is parser.read_args
                         and getattr(vars(tuner).get("_training_function"), "__module__", "") != "seqcls.hook"}}))
"""
ANOTHER_RELEASE = "seqcls.SUPPORTED_LLAMAFACTORY = '0.0.1'"
MOVED = ("route = hook.PATCHES['llamafactory.train.tuner']\n"
         "def moved(module):\n"
         "    del module._training_function\n"
         "    return route(module)\n"
         "hook.PATCHES['llamafactory.train.tuner'] = moved")


def run(change: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(change=change), json.dumps(args)], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("change, why", [
    (ANOTHER_RELEASE, rf"stage seq_cls was written for LLaMA-Factory 0.0.1, but {seqcls.SUPPORTED_LLAMAFACTORY} "
                      r"is installed; run `make setup` to install LLaMA-Factory 0.0.1"),
    (MOVED, r"llamafactory.train.tuner._training_function has moved in LLaMA-Factory .*, so stage seq_cls cannot be "
            rf"added; {FIX}"),
])
def test_only_seq_cls_recipes_stop_and_llamafactory_stays_its_own(change, why):
    import re

    stopped = run(change, "recipes/baseline_minilm.yaml", "max_steps=1")
    assert stopped.returncode == 1 and re.fullmatch(f"error: {why}", stopped.stderr.strip()), stopped.stderr[-3000:]
    other = run(change, "recipes/qlora_sft_smollm2.yaml")  # LLaMA-Factory's own stage: loads as without the hook
    assert other.returncode == 0, other.stderr[-3000:]
    assert json.loads(other.stdout.strip().splitlines()[-1]) == {"stages": ["pt", "sft", "rm", "ppo", "dpo", "kto"],
                                                                  "own": True}

