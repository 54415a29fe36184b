"""What the AG News hand-in adds to the common hand-in: every variant's latency (mean and median,
batch 1 and a full batch), memory, per-class precision and recall, the baseline's freezing on the
first page, and the 4-bit origin of the decoder's weights brought into the analysis."""
from __future__ import annotations

from typing import Any

from report import claims, names
from report.analysis import Analysed, Row, dig
from report.handin import delta_text, frozen, in_main_table, n_layers

NOT_MEASURED = "not measured in this run"
ABSENT = "–"
GRIDS = {"q4_1": "the source file's 4-bit grid (Q4_1, blocks of 32)", "nf4": "the NF4 grid (blocks of 64)",
         "int8": "a per-row symmetric int8 grid"}


def _ms(value: float | None, digits: int = 1) -> str:
    return ABSENT if value is None else f"{value:.{digits}f}"


def latency_rows(a: Analysed) -> list[dict[str, Any]]:
    """Per variant: mean and median ms per example (batch 1) and per batch, the whole-pass mean
    (test examples / pass time, recorded for every variant), memory and size."""
    out = []
    for r in a.rows:
        lat = r.result.get("latency") or {}
        per_s = lat.get("throughput_ex_per_s")
        pass_batch = dig(r.result, "predictions.batch_size")
        out.append({"name": names.variant(r.variant), "b1_mean": _ms(lat.get("ms_per_example_mean"), 2),
                    "b1_median": _ms(lat.get("ms_per_example"), 2), "bn_mean": _ms(lat.get("ms_per_batch_mean")),
                    "bn_median": _ms(lat.get("ms_per_batch")),
                    "pass_mean": f"{1000 / per_s:.1f}" if per_s else ABSENT,
                    "pass_batch": pass_batch, "rss": r.rss_peak_mb, "size": r.size_mb,
                    "apart": in_main_table(r) is not None})
    return out


def freezing(a: Analysed) -> str:
    base = a.row("baseline")
    if base is None:
        return ""
    layers = n_layers(a)
    share = dig(base.result, "training.parameters.trainable_pct")
    return (f"; the baseline fine-tuned with {frozen(base, layers)} frozen"
            + (f" ({share:.0f}% of the weights trainable)" if share is not None else ""))


def _loss(row: Row | None) -> str:
    return delta_text(row) if row is not None and row.delta_f1 is not None else "not measured"


def origin(a: Analysed, encoders: list[Analysed]) -> dict[str, Any]:
    """The 4-bit origin: whether the results record it, how much of the weights still lie on each
    grid (when the evaluation measured it), and the INT8/NF4 losses here beside the encoders'."""
    base = a.group.baseline or {}
    source = dig(base, "weights_origin.source_quantization")
    shares = dig(base, "weights_origin.grid_share") or {}
    measured = [f"{shares[k] * 100:.1f}% on {GRIDS.get(k, k)}" for k in GRIDS if shares.get(k) is not None]
    compare = []
    for variant in ("bnb_int8", "scratch_int8_intmm", "bnb_nf4"):
        here = a.row(variant)
        if here is None:
            continue
        beside = [f"{e.group.model_tag} {_loss(e.row(variant))}" for e in encoders if e.row(variant)]
        compare.append(f"{names.variant(variant)}: {_loss(here)} on this decoder"
                       + (f"; on the encoders trained in 32 bits: {'; '.join(beside)}" if beside else ""))
    return {"source": source, "measured": measured, "compare": compare,
            "nf4": claims.NO_DIFFERENCE if (a.row("bnb_nf4") and a.row("bnb_nf4").quality.word != "lower") else None}


def extend(view: dict[str, Any], a: Analysed, encoders: list[Analysed]) -> dict[str, Any]:
    """The AG News additions on top of the common hand-in context."""
    return {**view, "latency": latency_rows(a), "freezing": freezing(a), "origin": origin(a, encoders),
            "not_measured": NOT_MEASURED}
