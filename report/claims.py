"""The one rule that turns statistics into words, applied to every comparison in every report.

The rule is decided on the unrounded interval: "higher"/"lower" ("faster"/"slower") only when
the whole interval lies strictly on one side of the neutral value (0 points; a speed-up of
1x), otherwise "no measurable difference". Each interval is printed as ``[low, high]`` with as
many decimals as it takes for a bound that is not the neutral value not to print as it, so the
printed interval and its word always agree; ``disagreements`` finds any text where they do not
(the render fails on it)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from report.stats import Interval

NO_DIFFERENCE = "no measurable difference"
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Verdict:
    word: str          # higher / lower / faster / slower / smaller / larger / NO_DIFFERENCE / NOT_MEASURED
    evidence: str      # the statistics behind the word, for the sentence that quotes it

    @property
    def measurable(self) -> bool:
        return self.word not in (NO_DIFFERENCE, NOT_MEASURED)


MAX_DECIMALS = 4
WORDS = {"above": ("higher", "faster"), "below": ("lower", "slower"), "tie": (NO_DIFFERENCE,)}


def pts(value: float) -> str:
    """A difference in percentage points, signed, one decimal."""
    text = f"{value * 100:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def bound(value: float, neutral: float = 0.0, decimals: int = 1, signed: bool = True) -> str:
    """``value`` with at least ``decimals`` decimals and more while it would print as ``neutral``
    without being it: -0.0003 points prints as -0.0003, never as 0.0."""
    sign = "+" if signed else ""
    text = f"{value:{sign}.{decimals}f}"
    while float(text) == neutral and value != neutral and decimals < MAX_DECIMALS:
        decimals += 1
        text = f"{value:{sign}.{decimals}f}"
    return "0.0" if float(text) == 0 and value == 0 else text


def points_interval(low: float, high: float) -> str:
    """A paired difference (fractions) as ``[low, high]`` in points."""
    return f"[{bound(low * 100)}, {bound(high * 100)}]"


def ratio_interval(low: float, high: float) -> str:
    """A speed-up range as ``[low, high]`` with an x on each bound."""
    return f"[{bound(low, 1.0, 2, False)}x, {bound(high, 1.0, 2, False)}x]"


def _beyond(low: float, high: float, neutral: float, above: str, below: str, evidence: str, tie_note: str) -> Verdict:
    """``above`` when the whole range lies above ``neutral``, ``below`` when it lies below, else a tie."""
    if low > neutral:
        return Verdict(above, evidence)
    if high < neutral:
        return Verdict(below, evidence)
    return Verdict(NO_DIFFERENCE, f"{evidence}, {tie_note}")


def quality(delta: Interval | None) -> Verdict:
    """Variant minus reference (a paired bootstrap interval): higher, lower or a tie."""
    if delta is None:
        return Verdict(NOT_MEASURED, "no paired comparison")
    evidence = f"{pts(delta.estimate)} points, paired 95% interval {points_interval(delta.low, delta.high)}"
    return _beyond(delta.low, delta.high, 0.0, "higher", "lower", evidence, "includes zero")


@dataclass(frozen=True)
class SpeedRange:
    """Speed-up of a variant over a reference (reference ms / variant ms): the median ratio and
    the lowest and highest ratio over all pairings of their latency rounds."""

    estimate: float
    low: float
    high: float


def speed_range(reference_ms: float, variant_ms: float, reference_rounds: Sequence[float] | None,
                variant_rounds: Sequence[float] | None) -> SpeedRange | None:
    if not reference_rounds or not variant_rounds:
        return None
    return SpeedRange(reference_ms / variant_ms, min(reference_rounds) / max(variant_rounds),
                      max(reference_rounds) / min(variant_rounds))


def spread(rounds: Sequence[float] | None) -> float | None:
    """Run-to-run spread of one measurement: (slowest - fastest round) / median round."""
    if not rounds or len(rounds) < 2:
        return None
    ordered = sorted(rounds)
    return (ordered[-1] - ordered[0]) / ordered[len(ordered) // 2]


def speed(r: SpeedRange | None) -> Verdict:
    """Faster only when even the least favourable pairing of rounds is a speed-up."""
    if r is None:
        return Verdict(NOT_MEASURED, "no repeated latency rounds in the result JSONs, so no run-to-run spread")
    evidence = f"{r.estimate:.2f}x, {ratio_interval(r.low, r.high)} across rounds"
    return _beyond(r.low, r.high, 1.0, "faster", "slower", evidence, "inside the run-to-run spread")


def size(reference_mb: float | None, variant_mb: float | None) -> Verdict:
    """Sizes are byte counts, not samples: any difference at 0.1 MiB resolution is real."""
    if reference_mb is None or variant_mb is None:
        return Verdict(NOT_MEASURED, "no size recorded")
    evidence = f"{variant_mb:.1f} MiB against {reference_mb:.1f} MiB"
    if round(variant_mb, 1) < round(reference_mb, 1):
        return Verdict("smaller", evidence)
    if round(variant_mb, 1) > round(reference_mb, 1):
        return Verdict("larger", evidence)
    return Verdict(NO_DIFFERENCE, evidence)


def phrase(verdict: Verdict, subject: str, what: str, than: str) -> str:
    """``phrase(v, "ptq_dynamic", "macro-F1", "the baseline")`` -> a clause with its evidence:
    "ptq_dynamic's macro-F1 is lower than the baseline's (-0.6 points, ...)"."""
    if verdict.word == NOT_MEASURED:
        return f"{subject}: {what} {NOT_MEASURED} against {than} ({verdict.evidence})"
    if verdict.word == NO_DIFFERENCE:
        return f"{subject}: {NO_DIFFERENCE} in {what} from {than} ({verdict.evidence})"
    return f"{subject} is {verdict.word} than {than} in {what} ({verdict.evidence})"


_INTERVAL = re.compile(r"\[([+-]?\d+(?:\.\d+)?)(x?), ([+-]?\d+(?:\.\d+)?)x?\]")
_WORD = re.compile("|".join(sorted((re.escape(w) for ws in WORDS.values() for w in ws), key=len, reverse=True)))
_CLAUSE = re.compile(r"[;\n¶]|\.\s")


def printed_side(low: str, high: str, ratio: bool) -> str:
    """Where a printed interval lies against the neutral value: above, below or tie."""
    neutral = 1.0 if ratio else 0.0
    return "above" if float(low) > neutral else "below" if float(high) < neutral else "tie"


def disagreements(text: str) -> list[str]:
    """Every printed ``[low, high]`` whose nearest verdict word in its clause is not the word the
    rule gives that printed interval: two intervals that lie the same way against zero can never
    carry different words."""
    problems = []
    for clause in _CLAUSE.split(text):
        words = [(m.start(), m.group(0)) for m in _WORD.finditer(clause)]
        for m in _INTERVAL.finditer(clause):
            if not words:
                continue
            _, word = min(words, key=lambda w: abs(w[0] - m.start()))
            side = printed_side(m.group(1), m.group(3), bool(m.group(2)))
            if word not in WORDS[side]:
                problems.append(f"{m.group(0)} is called {word!r}, the rule says {' / '.join(WORDS[side])}")
    return problems
