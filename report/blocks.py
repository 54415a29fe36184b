"""Result-JSON blocks (quantization, training, recipe) as short text: a one-row summary per
variant for the reports, and the complete block, flattened, for the appendix, with the accuracy
budget's rounds and the training's validation evaluations as tables of their own."""
from __future__ import annotations

import json
import re
from typing import Any

from glue.train.selection import metric_words
from report import names
from report.analysis import dig

# 4-bit-only settings bitsandbytes' config carries even for an 8-bit load: shown only when bits == 4.
FOUR_BIT_ONLY = ("quant_type", "double_quant", "compute_dtype")
# Bookkeeping left out of the appendix's quantization listing (it stays in each result JSON).
HIDDEN_QUANT_KEYS = re.compile(r"(^|\.)(peak_memory|weights_mb|baseline_weights_mb|quantize_time_s|time_s)(\.|$)")
# Reader words for glue.quant.tuning.SkipCause, the code a budget that was not tuned records.
SKIP_CAUSES = {"no_validation_split": "the dataset has no validation split to choose on"}
# Why an accuracy budget's search ended short of its budget, in the reader's words.
STOPPED = {"step limit": "the round limit was reached", "no candidates left": "no Linear was left to put back"}
# A budget round's change to its Linear, by the round's action.
ROUND_ACTIONS = {"quantize_all": "every Linear quantized", "fallback": "put back in FP32",
                 "requantize": "quantized again"}


def scalar(value: Any) -> str:
    """Floats to 4 significant digits (a loss of 1.3578524893902717 reads as 1.358)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def compact_modules(names: list[str] | dict[str, str]) -> list[str]:
    """Module names with layer indices folded: 36 names of a 6-layer encoder read as
    ``bert.encoder.layer.*.attention.self.query (x6)``; a dict's values (dtypes) are kept."""
    items = names.items() if isinstance(names, dict) else ((n, None) for n in names)
    counts: dict[str, int] = {}
    for name, value in items:
        key = re.sub(r"\.\d+(?=\.|$)", ".*", name) + (f": {value}" if value else "")
        counts[key] = counts.get(key, 0) + 1
    return [f"{key} (x{n})" if n > 1 else key for key, n in counts.items()]


def flatten(block: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested block as (dotted key, short text) rows, whatever keys it has."""
    if prefix.endswith("modules") and isinstance(block, (list, dict)) and block and \
            all(isinstance(v, str) for v in (block.values() if isinstance(block, dict) else block)):
        block = compact_modules(block)
    if isinstance(block, dict):
        rows = []
        for key, value in block.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(block, list) and all(not isinstance(v, (dict, list)) for v in block):
        text = ", ".join(map(scalar, block))
    elif isinstance(block, (dict, list)):
        text = json.dumps(block, separators=(", ", ": "))
    else:
        text = scalar(block)
    return [(prefix, text)]  # never truncated: the tables wrap long values


def _module_types(block: dict[str, Any] | None) -> set[str]:
    return set(dig(block, "quantized.by_type") or {}) | set(dig(block, "higher_precision.by_type") or {})


def quant_block(result: dict[str, Any]) -> dict[str, Any]:
    """The quantization block as this variant ran it: 4-bit-only settings dropped from an 8-bit
    load, and generic prose naming module types the model does not have (LayerNorm on an RMSNorm
    model) dropped in favour of the measured module types."""
    block = json.loads(json.dumps(result.get("quantization") or {}))
    bits = block.get("bits")
    config = block.get("config")
    if bits == 8 and isinstance(config, dict):
        block["config"] = {k: v for k, v in config.items() if k not in FOUR_BIT_ONLY}
    types = _module_types(block)
    prose = dig(block, "higher_precision.weightless_ops_fp32")
    if prose and types and "LayerNorm" in prose and "LayerNorm" not in types:
        del block["higher_precision"]["weightless_ops_fp32"]
    return block


def _counts(by_type: dict[str, int] | None) -> str:
    return ", ".join(f"{n} {t}" for t, n in (by_type or {}).items())


def quant_summary(result: dict[str, Any]) -> dict[str, str]:
    """One table row: what was quantized to how many bits, observers/calibration, what stayed in
    higher precision. Every cell comes from the result's quantization block."""
    block = quant_block(result)
    if not block:
        return {"quantized": "nothing (FP32)", "observers": "–", "kept": "everything"}
    config = block.get("config") or {}
    bits = block.get("bits")
    kind = config.get("quant_type") or block.get("quant_type") if bits == 4 else None
    quantized = _counts(dig(block, "quantized.by_type")) or block.get("scope") or "see appendix"
    quantized += f"; {bits}-bit" + (f" {kind}" if kind else "")
    if bits == 4 and (config.get("double_quant") or block.get("double_quant")):
        quantized += ", double quant"
    observers = "; ".join(f"{k}: {v}" for k, v in (block.get("observers") or {}).items()) or "–"
    calibration = block.get("calibration")
    if isinstance(calibration, dict):
        texts = f"{calibration.get('samples')} {calibration.get('source')} texts"
        if calibration.get("input_ranges", "observed") == "observed":
            observers += f"; calibrated on {texts}"
        elif config.get("smooth_alpha"):  # ranges learned in QAT or set per batch: the sample only sets SmoothQuant
            observers += f"; SmoothQuant maxima from {texts}"
    scan = block.get("outlier_scan") or {}
    found = scan.get("kept_fp32") or {}
    tuning = block.get("tuning") or {}
    tuned = tuning.get("kept_fp32") or []
    skip = [name for name in config.get("skip_modules") or block.get("skip_modules") or []
            if name not in found and name not in tuned]
    why = [f"skip list: {', '.join(skip)}"] if skip else []
    if scan:  # the Linears the outlier scan added to the skip list, counted rather than named
        why.append(f"outlier scan: {len(found)} Linears with a token spread above {scan['ratio']:g} "
                   f"on {scan['texts']} texts")
    if tuning:
        why.append(tuning_phrase(tuning))
    kept = (_counts(dig(block, "higher_precision.by_type")) or "–") + (f" ({'; '.join(why)})" if why else "")
    return {"quantized": quantized, "observers": observers, "kept": kept}


def tuning_phrase(tuning: dict[str, Any]) -> str:
    """A ``quantization.tuning`` block in a few words: how many Linears the budget kept in FP32 (counted,
    not named: the appendix lists them) and validation macro-F1 before and after; or why it was not tuned."""
    budget = f"{tuning['max_drop_points']:g} points"
    if tuning.get("cause"):
        return f"budget {budget} on validation; not tuned: {SKIP_CAUSES[tuning['cause']]}"
    kept, candidates = len(tuning.get("kept_fp32") or []), len(tuning.get("sensitivity") or {})
    scores = f"{tuning['baseline_macro_f1']:.4f} → {tuning['macro_f1']:.4f}"
    if tuning.get("max_changed_percent") is not None:
        budget += f" and {tuning['max_changed_percent']:g}% changed predictions"
        scores += f", {tuning['changed_percent']:g}% of predictions changed"
    if not kept and tuning.get("met", True):
        return f"no Linear kept in FP32: within {budget} on validation, {scores}"
    if not kept:
        return (f"no Linear kept in FP32, still more than {budget} below FP32 on validation: {scores}; budget not "
                "met, no fallback gained more than the budget over every Linear int8")
    linears = f"{kept} of {candidates} Linears" if candidates else f"{kept} Linear{'' if kept == 1 else 's'}"
    if tuning.get("met"):
        return f"kept {linears} in FP32 to stay within {budget} on validation: {scores}; the appendix lists them"
    return (f"kept {linears} in FP32, still more than {budget} below FP32 on validation: {scores}; budget not met, "
            f"{STOPPED.get(tuning.get('stopped'), tuning.get('stopped'))}; the appendix lists them")


def tuning_rounds(tuning: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every quantize-and-score round of an accuracy budget, in order, for the appendix's table."""
    undone = ", undone: it broke the budget" if tuning and tuning.get("met") else ", undone: gained less than the budget"
    return [{"round": i, "change": ROUND_ACTIONS.get(step["action"], step["action"])
             + ("" if step.get("kept", True) else undone),
             "module": step.get("module") or "–", "fp32": step.get("fp32"), "macro_f1": step.get("macro_f1"),
             "drop": step.get("drop_points"), "changed": step.get("changed_percent")}
            for i, step in enumerate((tuning or {}).get("steps") or [], 1)]


def selection_phrase(selection: dict[str, Any]) -> str:
    """A ``training.selection`` record in a few words: which step of how many became the model, and why."""
    total = f"{selection['global_steps']:,}"
    epochs = f" ({names.epochs(selection['epochs'])})" if selection.get("epochs") else ""
    evaluations, metric = selection.get("evaluations") or [], selection["metric"]
    if not evaluations:
        return f"all {total} steps{epochs} trained, the last kept: no validation evaluations to choose on"
    score = selection.get(f"selected_{metric}")
    if score is not None and score == max(e[metric] for e in evaluations):  # the outcome, whichever rule kept it
        return (f"step {selection['selected_step']:,} of {total}{epochs} kept: best validation "
                f"{metric_words(metric)} of {len(evaluations)} evaluations, {score:.4f}")
    return f"the last of {total} steps{epochs} kept; {len(evaluations)} validation evaluations not used to choose"


def selection_rows(selection: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every validation evaluation of a training run, the kept step marked, for the appendix's table."""
    if not selection:
        return []
    metric, kept = selection.get("metric"), selection.get("selected_step")
    return [{"step": e.get("step"), "score": e.get(metric), "kept": e.get("step") == kept}
            for e in selection.get("evaluations") or []]


def _without_histories(block: Any) -> Any:
    """``block`` without its lists of records at any depth (training's log, a budget's rounds, the
    validation evaluations): the appendix shows those as tables or leaves them in the JSON."""
    if not isinstance(block, dict):
        return block
    return {k: _without_histories(v) for k, v in block.items()
            if not (isinstance(v, list) and v and isinstance(v[0], dict))}


def appendix_rows(block: dict[str, Any] | None, hidden: re.Pattern[str] | None = None) -> list[tuple[str, str]]:
    """A full block for the appendix, minus per-step histories and bookkeeping keys."""
    rows = flatten(_without_histories(block or {}))
    return [(k, v) for k, v in rows if v != "None" and not (hidden and hidden.search(k))]
