"""Per-method analysis and the decision table, generated from the analysed rows (and the
measured per-layer sensitivity when it exists). Each paragraph states what the numbers show
with report.claims' wording; explanations are offered only where the data decide between them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from report import claims, methods, names
from report.analysis import Analysed, Row, dig, paired_delta
from report.insights import speed_leaders


def _n(row: Row) -> int:
    return int(row.result["n_examples"])


def qat_vs_static(a: Analysed) -> str | None:
    """Whether QAT beat static PTQ, and whether static PTQ left anything for it to recover."""
    qat, static = a.row(methods.variant("qat")), a.row(methods.variant("ptq_static"))
    if qat is None or static is None:
        return None
    delta = paired_delta(static, qat, len(a.group.labels), a.n_resamples)
    verdict = claims.quality(delta)
    flips = int((qat.labels_pred != static.labels_pred).sum())
    titles = names.variant("qat"), names.variant("ptq_static")
    text = (f"{names.capital(claims.phrase(verdict, titles[0], 'macro-F1', titles[1]))}; the two disagree on "
            f"{flips} of {_n(qat)} predictions. ")
    static_q = static.quality
    train = qat.result.get("training") or {}
    learned = ("examples, learning the baseline's predictions rather than the labels" if qat.distilled
               else "labelled examples")
    cost = (f"QAT trained {names.epochs(train.get('epochs'))} over {train.get('train_examples', '?')} {learned} "
            f"({train.get('wall_time_s', '?')} s)")
    if static_q.word == claims.NO_DIFFERENCE:
        text += (f"{names.capital(titles[1])} itself shows {claims.NO_DIFFERENCE} from the baseline "
                 f"({static_q.evidence}): with per-channel weights and calibrated activation ranges there was no "
                 f"measurable rounding loss for QAT to recover. {cost} for that.")
    elif static_q.word == "lower" and verdict.word == "higher":
        text += f"{names.capital(titles[1])} lost accuracy ({static_q.evidence}) and QAT recovered part of it; {cost}."
    else:
        text += f"{names.capital(titles[1])} against the baseline: {static_q.word} ({static_q.evidence}); {cost}."
    return text


def _class_changes(row: Row, base: Row, labels: list[str]) -> str:
    """The classes whose F1 fell most and the confusion cell that grew most."""
    f1 = dig(row.result, "metrics.per_class_f1") or {}
    bf1 = dig(base.result, "metrics.per_class_f1") or {}
    drops = sorted(((bf1[k] - f1[k], k) for k in labels if k in f1 and k in bf1), reverse=True)[:2]
    cm = np.asarray(row.result["metrics"]["confusion_matrix"]) - np.asarray(base.result["metrics"]["confusion_matrix"])
    np.fill_diagonal(cm, 0)
    i, j = np.unravel_index(int(cm.argmax()), cm.shape)
    support = dig(row.result, f"metrics.per_class.{labels[i]}.support")
    parts = ", ".join(f"{k} {claims.pts(-d)} points" for d, k in drops)
    return (f"per-class F1 falls most for {parts}; the confusion that grows most is {labels[i]} predicted as "
            f"{labels[j]} (+{int(cm[i, j])} of {support} {labels[i]} examples)")


def _sensitivity_sentence(sens: dict[str, Any] | None, where: str) -> str:
    if not sens:
        return (f"No measured per-layer sensitivity exists yet ({where} is missing; `python -m eval.sensitivity` "
                "writes it), so which layers cost the points is not stated.")
    units = sorted(sens["units"], key=lambda u: u["drop_points"], reverse=True)
    top = ", ".join(f"{u['unit']} ({u['drop_points']:+.2f} points, {u['flips']} flips)" for u in units[:3])
    singles = [u for u in units if u["kind"] == "layer"]
    total = sum(u["drop_points"] for u in singles)
    return (f"Quantizing one unit at a time with the same method ({where}, {sens['n_examples']} test examples), the "
            f"largest macro-F1 drops are {top}; the {len(singles)} single-layer drops sum to {total:+.2f} points "
            f"against {sens['full']['drop_points']:+.2f} for the whole model ({sens['full']['flips']} changed predictions). "
            "Each drop is one measurement without an interval: it ranks the units, it does not test them.")


def dynamic_losses(a: Analysed, sensitivity: dict[str, Any] | None, where: str) -> str | None:
    """Where dynamic PTQ loses its points: classes (from the predictions) and layers (measured)."""
    dyn, base = a.row(methods.variant("ptq_dynamic")), a.row(methods.variant("baseline"))
    if dyn is None or base is None or dyn.delta_f1 is None:
        return None
    text = f"{names.capital(claims.phrase(dyn.quality, names.variant('ptq_dynamic'), 'macro-F1', 'the baseline'))}; "
    text += _class_changes(dyn, base, a.group.labels) + ". "
    embedded = dig(dyn.result, "quantization.quantized.by_type.Embedding")
    static = a.row(methods.variant("ptq_static"))
    if embedded and static is not None and not dig(static.result, "quantization.quantized.by_type.Embedding"):
        text += (f"Unlike {names.variant('ptq_static')} it also stores the word embeddings in int8 ({embedded} "
                 "Embedding module) and sets activation ranges per batch at run time rather than from calibration. ")
    return text + _sensitivity_sentence(sensitivity, where)


def nf4_encoder_vs_decoder(encoder: Analysed | None, decoder: Analysed | None) -> str | None:
    """NF4's cost on each track; which costs more is stated only when the intervals separate."""
    enc, dec = (x.row(methods.variant("bnb_nf4")) if x else None for x in (encoder, decoder))
    if enc is None or dec is None or enc.delta_f1 is None or dec.delta_f1 is None:
        return None
    e, d = enc.delta_f1, dec.delta_f1
    tags = (encoder.group.model_tag, decoder.group.model_tag)
    text = (f"{names.capital(names.variant('bnb_nf4'))}, weight-only 4-bit, changes macro-F1 by "
            f"{claims.pts(e.estimate)} points on {tags[0]} (CI {claims.pts(e.low)} to {claims.pts(e.high)}) and by "
            f"{claims.pts(d.estimate)} on {tags[1]} (CI {claims.pts(d.low)} to {claims.pts(d.high)}). ")
    if e.high < d.low:
        text += (f"It costs more on the small encoder: its classifier reads one pooled vector from "
                 f"{tags[0]}'s narrow layers, so block-wise 4-bit rounding errors in every Linear reach the decision "
                 "with no redundancy to average them out.")
    elif d.high < e.low:
        text += (f"It costs more on the decoder here, so the expectation that the small encoder suffers most does "
                 f"not hold in these results; {tags[1]}'s baseline was fine-tuned briefly "
                 f"({dig(decoder.row(methods.variant('baseline')).result, 'training.train_examples') or '?'} "
                 "examples), so its "
                 "decision margins are small and more predictions flip when the weights move.")
    else:
        text += (f"The two intervals overlap: {claims.NO_DIFFERENCE} between the two costs on these test sets "
                 "(they are not paired, so only non-overlapping intervals would separate them).")
    return text


def bnb_int8_cpu_gpu(tracks: list[Analysed]) -> str | None:
    """What bitsandbytes INT8 bought on the devices it was measured on."""
    parts, devices = [], set()
    for a in tracks:
        row = a.row(methods.variant("bnb_int8"))
        if row is None:
            continue
        devices.add(dig(row.result, "latency.device"))
        base = a.row(methods.variant("baseline"))
        rss = (f"peak RSS {row.rss_peak_mb:.0f} MB against {base.rss_peak_mb:.0f} MB (one measurement)"
               if base and row.rss_peak_mb and base.rss_peak_mb else "no memory figure")
        parts.append(f"on {a.group.model_tag}: {row.size_verdict.word} ({row.size_verdict.evidence}); speed at batch "
                     f"{a.batch_size}: {row.speed_bn.word} ({row.speed_bn.evidence}); {rss}")
    if not parts:
        return None
    text = (f"{names.capital(names.variant('bnb_int8'))} measured on {', '.join(sorted(d or '?' for d in devices))}: "
            + "; ".join(parts))
    if "cuda" not in devices:
        text += (". No GPU result exists here, so its GPU behaviour is not measured: on a GPU it runs int8 matmuls "
                 "with outlier columns in 16-bit (Dettmers et al. 2022), designed to halve weight memory of large "
                 "models rather than to speed up a model that fits; on a CPU it stores int8 and computes the rest "
                 "in float, so any speed-up here must come from the table above, not from int8 arithmetic")
    return text + "."


def _versus(a: Analysed, reference: Row, other: Row) -> str:
    """``other`` against ``reference``, each by its reader name: paired macro-F1 verdict and
    batch-latency verdict, with their evidence."""
    quality = claims.quality(paired_delta(reference, other, len(a.group.labels), a.n_resamples))
    speed = claims.speed(claims.speed_range(reference.ms_batch, other.ms_batch, reference.rounds("batch"),
                                            other.rounds("batch")) if reference.ms_batch and other.ms_batch else None)
    ours, theirs = names.variant(other.variant), names.variant(reference.variant)
    return (f"{names.capital(claims.phrase(quality, ours, 'macro-F1', theirs))}; speed at batch {a.batch_size}: "
            f"{speed.word} against {theirs} ({speed.evidence})")


def scratch_modes(a: Analysed) -> str | None:
    """The hand-written INT8 in its two modes: the same int8 weights, float or integer matmul."""
    deq, imm = a.row(methods.variant("scratch_int8_dequant")), a.row(methods.variant("scratch_int8_intmm"))
    if deq is None or imm is None:
        return None
    return (f"This project's INT8 stores the same int8 weights in both modes; intmm also quantizes activations per "
            f"token and multiplies in integers (torch._int_mm). {_versus(a, deq, imm)}. Dequant only saves "
            f"size: it expands the weights to float for every matmul.")


def training_budget(a: Analysed, variant: str) -> str | None:
    """A trained variant's result read against how much it was trained, next to the baseline's."""
    row, base = a.row(variant), a.row(methods.variant("baseline"))
    if row is None or base is None or row.delta_f1 is None:
        return None
    ours, theirs = (r.result.get("training") or {} for r in (row, base))
    if not ours.get("train_examples") or not theirs.get("train_examples"):
        return None
    return (f"{names.capital(claims.phrase(row.quality, names.variant(variant), 'macro-F1', 'the baseline'))}. It was "
            f"trained on {ours['train_examples']:,} examples for {names.epochs(ours.get('epochs'))} "
            f"({ours.get('wall_time_s', 0) / 60:.1f} min), the baseline on {theirs['train_examples']:,} "
            f"({theirs.get('wall_time_s', 0) / 60:.1f} min): the comparison is between training budgets as much as "
            "between methods.")


def pt2e_vs_eager(a: Analysed) -> str | None:
    """Static PTQ two ways: torch.ao eager (FBGEMM, one wrapped Linear at a time) and PT2E compiled
    for oneDNN with SmoothQuant, both with one activation scale per tensor."""
    eager, pt2e = a.row(methods.variant("ptq_static")), a.row(methods.variant("ptq_pt2e"))
    if eager is None or pt2e is None:
        return None
    counts = [dig(r.result, "quantization.quantized.by_type.Linear") for r in (eager, pt2e)]
    tables = dig(pt2e.result, "quantization.quantized.by_type.Embedding")
    alpha = dig(pt2e.result, "quantization.config.smooth_alpha")
    scan = dig(eager.result, "quantization.outlier_scan")
    kept = (f"; the {len(scan['kept_fp32'])} whose largest token exceeds {scan['ratio']:g}x the median token stay FP32"
            if isinstance(scan, dict) and scan.get("kept_fp32") else "")
    return (f"Static PTQ is run two ways: torch.ao eager mode, where each quantized Linear also rounds its output "
            f"to uint8 ({counts[0]} Linears quantized{kept}), and PT2E compiled for oneDNN, which quantizes Linear inputs "
            f"only, after SmoothQuant (alpha {alpha}) has divided the outlier input channels into the weights "
            f"({counts[1]} Linears quantized{f', and {tables} Embedding table stored int8' if tables else ''}). "
            f"{_versus(a, eager, pt2e)}.")


def qat_two_ways(a: Analysed) -> str | None:
    """QAT in torch.ao eager mode and on the PT2E graph, with the training each one had."""
    eager, pt2e = a.row(methods.variant("qat")), a.row(methods.variant("qat_pt2e"))
    if eager is None or pt2e is None:
        return None
    examples = {dig(r.result, "training.train_examples") for r in (eager, pt2e)}
    budget = (f"on the same {examples.pop():,} training examples" if len(examples) == 1 and None not in examples
              else "on different training budgets (appendix)")
    return (f"QAT is run two ways, {budget}: torch.ao eager mode, which also fake-quantizes each Linear's output, "
            "and on the exported PT2E graph, which fake-quantizes Linear inputs after SmoothQuant and converts with "
            f"the input ranges its fake quantizers learned. {_versus(a, eager, pt2e)}.")


@dataclass(frozen=True)
class Decision:
    constraint: str
    pick: str
    why: str


def _acceptable(a: Analysed) -> list[Row]:
    """The baseline and every variant whose macro-F1 is not measurably lower than the baseline's."""
    return [r for r in a.rows if r.variant == methods.variant("baseline") or r.quality.word != "lower"]


def _speed_pick(rows: list[Row], kind: str, label: str) -> tuple[str, str]:
    leaders = speed_leaders(rows, kind, label)
    if leaders is None:
        return "undecided", "no repeated latency rounds, so no measured spread to decide on"
    picks = [leaders.best, *leaders.tied]
    best = next(r for r in rows if r.variant == leaders.best)
    ms = getattr(best, "ms_" + kind)
    why = f"{leaders.best}: {ms:.2f} ms median"
    if leaders.tied:
        why += f"; {', '.join(leaders.tied)} within the run-to-run spread"
    return " / ".join(picks), why


def decision_table(a: Analysed) -> list[Decision]:
    """Which variant to pick under each constraint, among those with no measurable quality loss."""
    ok = _acceptable(a)
    lost = [r.variant for r in a.rows if r not in ok]
    rule = "not measurably lower macro-F1 than the baseline" + (f" (excludes {', '.join(lost)})" if lost else "")
    table = [Decision("quality first", methods.variant("baseline"), rule)]
    sized = [r for r in ok if r.size_mb is not None]
    if sized:
        small = min(sized, key=lambda r: r.size_mb)
        table.append(Decision("smallest size", small.variant, f"{small.size_mb:.1f} MB (state dict)"))
    table.append(Decision("batch-1 latency", *_speed_pick(ok, "example", "batch-1")))
    table.append(Decision(f"throughput (batch {a.batch_size})", *_speed_pick(ok, "batch", "batch")))
    no_data = [r for r in ok if r.variant != methods.variant("baseline")
               and methods.data_needs(r.method, dig(r.result, "quantization.config")) == "none"]
    if no_data:
        pick, why = _speed_pick(no_data, "batch", "batch")
        if pick == "undecided":
            pick = min(no_data, key=lambda r: r.size_mb or float("inf")).variant
            why = "smallest of the methods needing no data; speed undecided (no measured spread)"
        table.append(Decision("no training data", pick, why + f"; candidates: {', '.join(r.variant for r in no_data)}"))
    devices = sorted({dig(r.result, "latency.device") or "?" for r in a.rows})
    if devices == ["cpu"]:
        pick, why = _speed_pick(ok, "batch", "batch")
        table.append(Decision("no GPU", pick, "every result here was measured on a CPU; " + why))
    return table
