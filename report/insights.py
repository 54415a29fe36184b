"""Sentences about one group of results, generated from the analysed rows with the wording
rules of report.claims. No claim about a result is written by hand anywhere in the reports: a
rerun with other numbers rewrites every sentence."""
from __future__ import annotations

from dataclasses import dataclass

from report import claims
from report.analysis import ALPHA, Row


def variant_sentence(row: Row, batch_size: int | None) -> str:
    """One sentence per compressed variant: quality, errors, speed and size, each with its evidence."""
    parts = [claims.phrase(row.quality, row.variant, "macro-F1", "the baseline")]
    if row.unpaired:
        parts.append(f"it was {row.unpaired}")
    if row.mcnemar is not None:
        m = row.mcnemar
        verdict = "a significant difference in errors" if row.significant else "not significant"
        parts.append(f"McNemar on the {m.broken + m.fixed} discordant examples ({m.broken} broken, {m.fixed} "
                     f"fixed): Holm-adjusted p={row.p_holm:.2g}, {verdict} at {ALPHA}")
    speed_parts = []
    for verdict, label in ((row.speed_b1, "at batch 1"), (row.speed_bn, f"at batch {batch_size or '?'}")):
        if verdict.word == claims.NOT_MEASURED:
            continue
        word = verdict.word if verdict.measurable else claims.NO_DIFFERENCE + " in speed"
        speed_parts.append(f"{word} {label} ({verdict.evidence})")
    if speed_parts:
        parts.append("; ".join(speed_parts))
    size = row.size_verdict
    if size.measurable:
        parts.append(f"{size.word} ({size.evidence})")
    return "; ".join(parts) + "."


@dataclass(frozen=True)
class Leaders:
    """The variants that cannot be told apart from the best on one axis."""

    axis: str
    best: str
    tied: list[str]

    def sentence(self) -> str:
        if not self.tied:
            return f"{self.axis}: {self.best}, ahead of every other variant beyond the noise."
        return (f"{self.axis}: {claims.NO_DIFFERENCE} between {', '.join([self.best, *self.tied])} "
                f"({self.best} has the best point estimate); none of them is singled out.")


def speed_leaders(rows: list[Row], kind: str, label: str) -> Leaders | None:
    """Fastest, and every variant whose latency rounds overlap the fastest one's."""
    timed = [r for r in rows if r.rounds(kind)]
    if not timed:
        return None
    best = min(timed, key=lambda r: getattr(r, "ms_" + kind))
    tied = [r.variant for r in timed if r is not best and min(r.rounds(kind)) <= max(best.rounds(kind))]
    return Leaders(label, best.variant, tied)
