"""Which step of a training run becomes the model, and why.

A recipe that sets ``load_best_model_at_end`` keeps the step with the best validation score among
the evaluations it asks for (``eval_strategy``/``eval_steps``, scored by ``metric_for_best_model``);
only the validation split (``eval_dataset``) is seen, never test. Without a validation split there
is nothing to choose on: training runs all its steps and keeps the last, and the record says so.
"""
from __future__ import annotations

from typing import Any

from glue.schema.recipe import RecipeError

SELECTS = "load_best_model_at_end"
METRIC_WORDS = {"macro_f1": "macro-F1", "accuracy": "accuracy", "loss": "loss"}


def without_validation(raw: dict[str, Any]) -> dict[str, Any]:
    """The arguments to train with: a recipe that asks for best-step selection but names no
    ``eval_dataset`` trains with evaluation and selection off (the Trainer would refuse the pair)."""
    if raw.get("eval_dataset") or not raw.get(SELECTS):
        return raw
    return {**raw, "eval_strategy": "no", SELECTS: False}


def check_selection(raw: dict[str, Any], where: str) -> None:
    """One line naming the keys, where the Trainer would refuse best-step selection in several: the
    kept step is reloaded from its checkpoint, so saving must follow evaluation."""
    if not raw.get(SELECTS):
        return
    evaluate, save = str(raw.get("eval_strategy", "no")), str(raw.get("save_strategy", "steps"))
    every, save_every = raw.get("eval_steps"), raw.get("save_steps")
    off_beat = evaluate == "steps" and bool(every) and bool(save_every) and save_every % every != 0
    if save != "best" and (save != evaluate or off_beat):
        raise RecipeError(f"{where}: {SELECTS}: true reloads the best evaluated checkpoint, so save_strategy "
                          f"({save}) must equal eval_strategy ({evaluate}) and save_steps ({save_every}) be a "
                          f"multiple of eval_steps ({every}); or add {SELECTS}=false to keep the last step")


def metric_key(args: Any) -> str:
    """The evaluation log's key of ``metric_for_best_model`` (the Trainer adds ``eval_``)."""
    name = args.metric_for_best_model or "loss"
    return name if name.startswith("eval_") else f"eval_{name}"


def metric_words(key: str) -> str:
    """A metric's log key in words: ``eval_macro_f1`` -> "macro-F1" (an unknown one without its prefix)."""
    name = key.removeprefix("eval_")
    return METRIC_WORDS.get(name, name)


def _value(setting: Any) -> Any:
    return getattr(setting, "value", setting)  # the Trainer's str enums, as plain strings


def selection(state: Any, args: Any, validated: bool) -> dict[str, Any]:
    """The manifest's record of the kept step: the step budget and the epochs it amounted to, the
    evaluation interval, every validation score, the kept step with its score, which rule kept it
    (``kept``: ``best`` or ``last``) and why, in a sentence."""
    key = metric_key(args)
    words = metric_words(key)
    scores = [{"step": e["step"], key: e[key]} for e in state.log_history if key in e and "step" in e]
    strategy = _value(args.eval_strategy) if validated else "no"
    record = {"max_steps": args.max_steps if args.max_steps > 0 else None, "global_steps": state.global_step,
              "epochs": round(state.epoch or 0.0, 2), "eval_strategy": strategy,
              "eval_every_steps": state.eval_steps if strategy == "steps" else None, "metric": key,
              "evaluations": scores}
    if validated and args.load_best_model_at_end and state.best_global_step:
        better = "highest" if args.greater_is_better else "lowest"
        why = f"best validation {words} of {len(scores)} evaluations ({better}; the earliest of equal scores)"
        return {**record, "kept": "best", "selected_step": state.best_global_step, f"selected_{key}": state.best_metric,
                "reason": why}
    last = next((s[key] for s in reversed(scores) if s["step"] == state.global_step), None)
    why = ("no validation split (eval_dataset): trained all steps and kept the last" if not validated else
           f"load_best_model_at_end is off: the last step kept; {len(scores)} validation evaluations were not used "
           "to choose")
    return {**record, "kept": "last", "selected_step": state.global_step, f"selected_{key}": last, "reason": why}


def summary(record: dict[str, Any]) -> str:
    """One line for the training log: the kept step and why."""
    score = record.get(f"selected_{record['metric']}")
    shown = f", validation {record['metric']} {score:.4f}" if isinstance(score, float) else ""
    return (f"kept step {record['selected_step']} of {record['global_steps']} ({record['epochs']:g} epochs){shown}: "
            f"{record['reason']}")
