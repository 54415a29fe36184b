"""A hand-in: the assignment's quantization report for one dataset, in the reader's words.

Built from the analysed rows alone: the first-page headline (what won under which constraint
and what it cost), the trade-off table, each variant's configuration, per-class F1, the chosen
confusion matrices, one insight per method, the deviations from the assignment and the
statistics explained. emotion.pdf, agnews.pdf and a report for any other dataset share it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from report import claims, figures, names, stats
from report.analysis import ALPHA, Analysed, Row, dig
from report.blocks import quant_summary, selection_phrase

DEVIATIONS = Path(__file__).with_name("deviations.yaml")
# A trained 4-bit variant (its result depends on a training budget, not only on rounding) joins the
# main table only within this loss of the baseline's macro-F1 (the NF4 budget, in fractions); else
# it is listed apart with its reason.
BUDGETED = {"qlora": 0.01, "qlora_sft": 0.01}
FAMILIES = (("PTQ", ("ptq_",)), ("QAT", ("qat",)), ("QLoRA", ("qlora",)))


@dataclass(frozen=True)
class Student:
    name: str = ""
    roll: str = ""


def mib(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} MiB"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def delta_text(row: Row) -> str:
    """``-0.6 points [-1.4, -0.03] lower``: the estimate, the printed interval and its word."""
    if row.delta_f1 is None:
        return "no paired comparison"
    d = row.delta_f1
    return f"{claims.pts(d.estimate)} points {claims.points_interval(d.low, d.high)} {row.quality.word}"


def speed_text(verdict: claims.Verdict, r: claims.SpeedRange | None) -> str:
    if r is None:
        return verdict.word
    return f"{r.estimate:.2f}x {claims.ratio_interval(r.low, r.high)} {verdict.word}"


def acceptable(rows: list[Row]) -> list[Row]:
    """Variants whose macro-F1 is not measurably lower than the baseline's (the one rule)."""
    return [r for r in rows if r.variant != "baseline" and r.delta_f1 is not None and r.quality.word != "lower"]


def in_main_table(row: Row) -> str | None:
    """None when the row belongs in the main table, else why it is listed apart."""
    budget = BUDGETED.get(row.variant)
    if budget is None or row.delta_f1 is None or row.delta_f1.estimate >= -budget:
        return None
    return (f"{names.variant(row.variant)} loses {-row.delta_f1.estimate * 100:.2f} points of macro-F1, more than "
            f"the {budget * 100:.1f}-point budget for a 4-bit variant")


def headline(a: Analysed) -> list[str]:
    """What won under which constraint, and what it cost, in numbers."""
    base = a.row("baseline")
    if base is None:
        return ["No FP32 baseline was evaluated, so no variant is compared with it."]
    ok = [r for r in acceptable(a.rows) if in_main_table(r) is None]
    out = [f"The FP32 baseline reaches macro-F1 {base.macro_f1.estimate:.3f} and accuracy {base.accuracy.estimate:.3f} "
           f"at {mib(base.size_mb)}."]
    sized = [r for r in ok if r.size_mb]
    if sized:
        small = min(sized, key=lambda r: r.size_mb)
        out.append(f"Smallest with no measurable macro-F1 loss: {names.variant(small.variant)}, "
                   f"{mib(small.size_mb)} ({_pct(small.size_mb / base.size_mb)} of the baseline, "
                   f"{small.size_ratio:.1f}x smaller); macro-F1 change {delta_text(small)}; batch-{a.batch_size} "
                   f"speed-up {speed_text(small.speed_bn, small.speed_batch)}.")
    timed = [r for r in ok if r.speed_batch is not None]
    if timed:
        fast = max(timed, key=lambda r: r.speed_batch.estimate)
        out.append(f"Highest batch-{a.batch_size} throughput with no measurable loss: {names.variant(fast.variant)}, "
                   f"speed-up {speed_text(fast.speed_bn, fast.speed_batch)} on this CPU, at "
                   f"{_pct(fast.size_mb / base.size_mb) if fast.size_mb and base.size_mb else '–'} of the baseline's "
                   f"size; macro-F1 change {delta_text(fast)}.")
    lost = [r for r in a.rows if r.quality.word == "lower"]
    if lost:
        worst = min(lost, key=lambda r: r.delta_f1.estimate)
        out.append(f"Measurable losses: {', '.join(names.variant(r.variant) for r in lost)}; the largest is "
                   f"{names.variant(worst.variant)} at {delta_text(worst)}.")
    else:
        out.append("No variant is measurably lower than the baseline in macro-F1.")
    return out


def trade_rows(a: Analysed) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The compact trade-off table, and the rows listed apart with their reasons."""
    rows, apart = [], []
    for r in a.rows:
        why = in_main_table(r)
        if why:
            apart.append((names.variant(r.variant), why))
            continue
        rows.append({"name": names.variant(r.variant), "row": r, "delta": delta_text(r) if r.delta_f1 else "–",
                     "ratio": f"{r.size_ratio:.1f}x" if r.size_ratio else ("1.0x" if r.variant == "baseline" else "–"),
                     "speed_b1": speed_text(r.speed_b1, r.speed_example) if r.variant != "baseline" else "–",
                     "speed_bn": speed_text(r.speed_bn, r.speed_batch) if r.variant != "baseline" else "–"})
    return rows, apart


def n_layers(a: Analysed) -> int | None:
    """The model's transformer layer count, read from the module names any variant recorded."""
    found = set()
    for r in a.group.results.values():
        modules = dig(r, "quantization.quantized.modules") or []
        for name in modules if isinstance(modules, list) else list(modules):
            m = re.search(r"\blayers?\.(\d+)\.", name)
            if m:
                found.add(int(m.group(1)))
    return max(found) + 1 if found else None


def frozen(r: Row, layers: int | None) -> str:
    """What stayed frozen while this variant trained, from its recipe and training record."""
    content = dig(r.result, "recipe.content") or {}
    of = f" of {layers}" if layers else ""
    if r.method.startswith("qlora"):
        return "the whole quantized body (adapters and head train)"
    if content.get("finetuning_type") == "freeze" and content.get("freeze_trainable_layers"):
        top = content["freeze_trainable_layers"]
        if not layers:
            return f"embeddings and all but the top {top} layers"
        return f"embeddings and the lower {layers - top}{of} layers" if layers > top else "the embeddings"
    lower = dig(r.result, "training.frozen_lower_layers")
    if lower is not None:
        return f"embeddings and the lower {lower}{of} layers" if lower else "nothing"
    return "nothing" if r.result.get("training") else "no training"


def _setting(r: Row, recipe_key: str, training_key: str) -> Any:
    value = dig(r.result, f"training.{training_key}")
    return value if value is not None else dig(r.result, f"recipe.content.{recipe_key}")


def config_rows(a: Analysed) -> list[dict[str, str]]:
    """Per variant: what was quantized, how, what stayed in higher precision (with what an accuracy
    budget kept), and how it trained (with which step became the model)."""
    layers = n_layers(a)
    out = []
    for r in a.rows:
        q = quant_summary(r.result)
        trained = bool(r.result.get("training"))
        lr = _setting(r, "learning_rate", "learning_rate")
        batch = _setting(r, "per_device_train_batch_size", "batch_size")
        epochs = _setting(r, "num_train_epochs", "epochs")
        share = dig(r.result, "training.parameters.trainable_pct")
        out.append({
            "name": names.variant(r.variant), "quantized": names.words(q["quantized"]),
            "observers": names.words(q["observers"]), "kept": names.words(q["kept"]),
            "frozen": frozen(r, layers),
            "training": (" · ".join(x for x in (
                f"lr {lr:g}" if isinstance(lr, (int, float)) else "",
                f"batch {batch}" if batch else "",
                names.epochs(epochs)  # the kept step's phrase gives them otherwise
                if isinstance(epochs, (int, float)) and not r.selection else "",
                f"{share:.1f}% of weights trainable" if share is not None else "",
                "distilled from the FP32 baseline" if r.distilled else "",
                selection_phrase(r.selection) if r.selection else "") if x)
                         if trained else "no training (the baseline's weights)"),
            "max_len": dig(r.result, "recipe.content.cutoff_len") or "–"})
    return out


def per_class_rows(a: Analysed) -> list[dict[str, Any]]:
    return [{"name": names.variant(r.variant), "f1": [dig(r.result, f"metrics.per_class.{lab}.f1")
                                                      for lab in a.group.labels],
             "macro": r.macro_f1.estimate} for r in a.rows]


def family_pick(a: Analysed, prefixes: tuple[str, ...]) -> Row | None:
    """The family's variant with the highest macro-F1 (the best PTQ, the best QAT...)."""
    rows = [r for r in a.rows if r.variant.startswith(prefixes)]
    return max(rows, key=lambda r: r.macro_f1.estimate) if rows else None


def confusion_variants(a: Analysed) -> list[str]:
    """Baseline, the best PTQ, the best QAT and QLoRA, where they exist; every variant otherwise."""
    picks = [a.row("baseline")] + [family_pick(a, p) for _, p in FAMILIES]
    chosen = [r.variant for r in picks if r is not None]
    return chosen if len(chosen) > 1 else [r.variant for r in a.rows]


def _class_shift(row: Row, base: Row, labels: list[str]) -> str:
    f1, bf1 = (dig(x.result, "metrics.per_class_f1") or {} for x in (row, base))
    changes = [(f1[k] - bf1[k], k) for k in labels if k in f1 and k in bf1]
    if not changes:
        return ""
    d, k = min(changes)
    return f"; largest per-class F1 change: {k}, {claims.pts(d)} points"


def insight(row: Row, a: Analysed) -> str:
    """One sentence with numbers for one variant: quality (interval, McNemar), classes, size, speed."""
    base = a.row("baseline")
    name = names.variant(row.variant)
    if base is None or row.delta_f1 is None:
        return f"{name}: macro-F1 {row.macro_f1.estimate:.3f}; no paired comparison with a baseline."
    text = f"{name}: macro-F1 {delta_text(row)}"
    if row.mcnemar is not None:
        m = row.mcnemar
        test = f"significant, Holm-adjusted p = {row.p_holm:.2g}" if row.significant else "not significant"
        text += f"; {m.broken} right answers turn wrong, {m.fixed} wrong turn right (McNemar: {test})"
    text += _class_shift(row, base, a.group.labels)
    if row.speed_batch is not None:
        text += f"; batch-{a.batch_size} speed-up {speed_text(row.speed_bn, row.speed_batch)}"
    share = dig(row.result, "training.parameters.trainable_pct")
    if share is not None and row.method.startswith("qlora"):
        text += f"; it trained {share:.1f}% of the weights"
    return text + "."


def insights(a: Analysed) -> list[str]:
    return [insight(r, a) for r in a.rows if r.variant != "baseline"]


def deviations(a: Analysed, extra_tracks: list[Analysed], assignment: bool = True) -> list[dict[str, str]]:
    """The deviations from the assignment that apply to these results, each with its effect on the
    conclusions; the numbers in them (test size, device) come from the results. A report on a
    user's own dataset (``assignment`` False) has no assignment to depart from: it keeps only the
    setup facts that still change a conclusion, the device and a test subset."""
    known = yaml.safe_load(DEVIATIONS.read_text())
    tags = {a.group.model_tag} | {t.group.model_tag for t in extra_tracks}
    devices = {dig(r, "latency.device") or "cpu" for r in a.group.results.values()}
    rows = [dict(d) for key, d in known["models"].items() if key in tags] if assignment else []
    if "cuda" not in devices:
        cpu = dig(a.group.baseline or {}, "provenance.machine")
        what = known["device"]["what" if assignment else "what_own_data"]
        rows.append({"what": what + (f" ({cpu['cpu']}, {cpu['cpus']} cores)" if cpu else ""),
                     "effect": known["device"]["effect"]})
    if "subset" in a.group.split_label:
        rows.append({"what": f"{known['subset']['what']}: {names.words(a.group.split_label)}",
                     "effect": known["subset"]["effect"]})
    return rows


def statistics_box(a: Analysed) -> dict[str, Any]:
    tested = [r for r in a.rows if r.mcnemar is not None]
    both = [r for r in tested if r.significant is not None and (r.quality.word == "lower") != r.significant]
    return {"n_resamples": a.n_resamples, "confidence": int(stats.CONFIDENCE * 100), "alpha": ALPHA,
            "n_tests": len(tested), "n_examples": a.group.baseline and a.group.baseline["n_examples"],
            "disagree": [names.variant(r.variant) for r in both]}


def track_view(a: Analysed, fig_dir: Path, every_confusion: bool = False) -> dict[str, Any]:
    """One model track's tables and figures for a hand-in (the confusion matrices of the chosen
    variants, or of every variant in the main table)."""
    trade, apart = trade_rows(a)
    chosen = ([r.variant for r in a.rows if in_main_table(r) is None] if every_confusion
              else confusion_variants(a))
    confusion = figures.confusion_grid(a.group, fig_dir / f"handin_confusion_{a.group.key}.png", chosen,
                                       {v: names.variant(v) for v in chosen})
    return {"a": a, "group": a.group, "model": a.group.model_tag, "split": names.words(a.group.split_label), "batch_size": a.batch_size, "trade": trade,
            "apart": apart, "config": config_rows(a), "per_class": per_class_rows(a),
            "confusion": f"figures/{confusion.name}", "confusion_names": [names.variant(v) for v in chosen],
            "insights": insights(a), "headline": headline(a), "stats": statistics_box(a)}


def context(dataset: str, title: str, tracks: list[Analysed], fig_dir: Path, every_confusion: bool = False,
            assignment: bool = True) -> dict[str, Any]:
    """The template context of one dataset's hand-in; the first track leads. ``assignment`` False:
    a user's own dataset, whose setup section names no assignment (:func:`deviations`)."""
    views = [track_view(a, fig_dir, every_confusion) for a in tracks]
    lead = tracks[0]
    methods = {r.method for a in tracks for r in a.rows}
    return {"title": title, "dataset": dataset, "lead": views[0], "others": views[1:],
            "labels": lead.group.labels,
            "ptq_qat": any(m.startswith(("ptq", "qat")) for m in methods)
            and f"figures/{figures.pipelines(fig_dir / 'pipelines.png').name}",
            "qlora": any(m.startswith("qlora") for m in methods) and f"figures/{figures.qlora(fig_dir / 'qlora.png').name}",
            "assignment": assignment, "deviations": deviations(lead, tracks[1:], assignment),
            "glossary": names.glossary(list(dict.fromkeys(r.variant for a in tracks for r in a.rows)),
                                       [v for a in tracks for r in a.rows for v in quant_summary(r.result).values()]),
            "references": yaml.safe_load(DEVIATIONS.read_text())["references"]}
