"""Sentences for the discussion, generated from the analysed rows. No claim about a result is
written by hand anywhere in the report: a rerun with other numbers rewrites every sentence."""
from __future__ import annotations

from report.analysis import ALPHA, Row
from report.results import BASELINE

SAME_BAND = 0.05  # speed or size ratios within 5% of 1 are called "about the same"


def points(delta: float) -> str:
    """Macro-F1/accuracy differences are quoted in percentage points."""
    return f"{abs(delta) * 100:.1f} points"


def _times(ratio: float, more: str, less: str, same: str) -> str:
    if abs(ratio - 1) <= SAME_BAND:
        return same
    return f"{ratio:.1f}x {more}" if ratio > 1 else f"{1 / ratio:.1f}x {less}"


def _delta_phrase(name: str, ci) -> str:
    direction = "higher" if ci.estimate > 0 else "lower"
    if round(ci.estimate * 100, 1) == 0:
        head = f"its {name} is unchanged to one decimal"
    else:
        head = f"its {name} is {points(ci.estimate)} {direction}"
    noise = "an interval that excludes zero" if not ci.contains(0.0) else "an interval that includes zero"
    return (f"{head} (paired 95% bootstrap CI {ci.low * 100:+.1f} to {ci.high * 100:+.1f} points, "
            f"{noise})")


def variant_sentence(row: Row, batch_size: int | None) -> str:
    """One sentence per compressed variant: speed, size, quality change and whether it is real."""
    parts = []
    if row.speedup_batch is not None:
        parts.append(f"{_times(row.speedup_batch, 'faster', 'slower', 'about as fast')} than the baseline "
                     f"at batch {batch_size or '?'}")
    if row.speedup_example is not None:
        parts.append(f"{_times(row.speedup_example, 'faster', 'slower', 'about as fast')} at batch 1")
    if row.size_ratio is not None:
        parts.append(_times(row.size_ratio, "smaller", "larger", "about the same size"))
    text = f"{row.variant} is " + (", ".join(parts) if parts else "not timed against the baseline")
    if row.delta_f1 is not None:
        text += f"; {_delta_phrase('macro-F1', row.delta_f1)}"
    if row.unpaired:
        text += f"; it was {row.unpaired}"
    if row.mcnemar is not None:
        m = row.mcnemar
        verdict = "a significant difference in errors" if row.significant else "not significant"
        text += (f". McNemar on the {m.broken + m.fixed} discordant examples ({m.broken} broken, {m.fixed} fixed): "
                 f"p={m.p_value:.2g}, Holm-adjusted p={row.p_holm:.2g}, {verdict} at {ALPHA}")
    return text + "."


def group_sentences(rows: list[Row]) -> list[str]:
    """Which variant is best on each axis, and which are on the Pareto fronts."""
    out = []
    best = max(rows, key=lambda r: r.macro_f1.estimate)
    out.append(f"Highest macro-F1: {best.variant} ({best.macro_f1.estimate:.3f}, 95% CI "
               f"{best.macro_f1.low:.3f}-{best.macro_f1.high:.3f}).")
    overlapping = [r.variant for r in rows if r is not best and r.macro_f1.high >= best.macro_f1.low]
    if overlapping:
        out.append(f"Its interval overlaps those of {', '.join(overlapping)}; see the paired tests before "
                   "calling any of them worse.")
    for attr, label, unit in (("size_mb", "Smallest", "MB"), ("ms_example", "Fastest at batch 1", "ms/example"),
                              ("ms_batch", "Fastest per batch", "ms/batch")):
        timed = [r for r in rows if getattr(r, attr) is not None]
        if timed:
            r = min(timed, key=lambda r: getattr(r, attr))
            out.append(f"{label}: {r.variant} ({getattr(r, attr):.1f} {unit}).")
    for attr, axis in (("pareto_size", "size"), ("pareto_latency", "batch-1 latency")):
        front = [r.variant for r in rows if getattr(r, attr)]
        if front:
            out.append(f"Pareto-optimal for macro-F1 against {axis}: {', '.join(front)}.")
    significant = [r.variant for r in rows if r.significant]
    tested = [r for r in rows if r.significant is not None]
    if tested:
        out.append(f"Error rates that differ significantly from the baseline (Holm-adjusted McNemar, {ALPHA}): "
                   + (", ".join(significant) if significant else "none") + ".")
    if not any(r.variant == BASELINE for r in rows):
        out.append("No baseline result exists for this group, so no speed-up, paired test or fidelity is shown.")
    return out


def fidelity_sentence(row: Row) -> str | None:
    """Accuracy can hide disagreement: state flips next to the accuracy change."""
    fid = row.result.get("fidelity") or {}
    if fid.get("flip_rate") is None or row.delta_acc is None:
        return None
    n = row.result["n_examples"]
    flips = round(fid["flip_rate"] * n)
    return (f"{row.variant}: accuracy changes by {row.delta_acc.estimate * 100:+.1f} points, yet {flips} of {n} "
            f"predictions ({fid['flip_rate'] * 100:.1f}%) differ from the baseline: {fid.get('fixed', 0)} fixed, "
            f"{fid.get('broken', 0)} broken, {fid.get('other_flips', 0)} changed between wrong labels; mean "
            f"KL(baseline || variant) = {fid.get('kl_mean', float('nan')):.3g} nats.")


def same_accuracy_example() -> dict:
    """A ten-example toy, computed rather than asserted: two models with equal accuracy that
    disagree on a large share of examples (what the flip rate exposes)."""
    import numpy as np

    from report.stats import mcnemar

    y_true = np.zeros(10, int)
    a = np.where(np.arange(10) < 8, 0, 1)   # model A: right on the first eight
    b = np.where(np.arange(10) >= 2, 0, 1)  # model B: right on the last eight
    m = mcnemar(y_true, a, b)
    acc_a, acc_b, flip = float((a == y_true).mean()), float((b == y_true).mean()), float((a != b).mean())
    return {"acc_a": acc_a, "acc_b": acc_b, "flip_rate": flip, "fixed": m.fixed, "broken": m.broken,
            "sentence": (f"Two models each right on {acc_a:.0%} and {acc_b:.0%} of ten examples can still disagree on "
                         f"{flip:.0%} of them ({m.broken} broken, {m.fixed} fixed relative to model A): "
                         "equal accuracy, "
                         "different behaviour.")}
