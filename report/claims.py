"""The rules that turn statistics into words. A comparison is "higher"/"lower" only when the
paired bootstrap interval of the difference excludes zero, and "faster"/"slower" only when the
speed-up holds across every pairing of the measured latency rounds; otherwise it is "no
measurable difference". Every sentence of the reports takes its comparative from here."""
from __future__ import annotations

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


def pts(value: float) -> str:
    """A difference in percentage points, signed, one decimal."""
    text = f"{value * 100:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


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
    evidence = f"{pts(delta.estimate)} points, paired 95% CI {pts(delta.low)} to {pts(delta.high)}"
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
    evidence = f"{r.estimate:.2f}x, {r.low:.2f}x to {r.high:.2f}x across rounds"
    return _beyond(r.low, r.high, 1.0, "faster", "slower", evidence, "inside the run-to-run spread")


def size(reference_mb: float | None, variant_mb: float | None) -> Verdict:
    """Sizes are byte counts, not samples: any difference at 0.1 MB resolution is real."""
    if reference_mb is None or variant_mb is None:
        return Verdict(NOT_MEASURED, "no size recorded")
    evidence = f"{variant_mb:.1f} MB against {reference_mb:.1f} MB"
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
