"""Speed targets, judged from the rows a bench wrote, so they can be re-checked offline:

    python -m bench.target results/bench/mpnet-base-amx.json --target mpnet   # the MPNet track's targets

A ``Target`` says what the project's best INT8 variant must reach at a workload: a speed-up over
the FP32 baseline (per CPU kind, bench/peak.py: INT8's peak is 4x FP32's with VNNI alone and far
more with AMX, so one threshold cannot fit both; the kind is the one the bench recorded, not the
judging machine's), a ratio to the fastest of some rival rows (ONNX Runtime INT8, torchao compiled),
optionally a batch-1 latency at or below a rival's, and at most a macro-F1 loss. A project row is
INT8 when its manifest's ``quantization.bits`` is 8.

Ratios are taken repeat by repeat: in repeat i of a bench every row times the same pass (the same
texts, bench/workloads.py), so ``speedup`` divides the two rows' times of that pass and reports the
median. The spread of text lengths between passes, which moves a row's own throughput by 2-3x at
batch 32 on MPNet, cancels out; how many repeats reach the target is reported beside it.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.peak import recorded_kind
from bench.runners import PROJECT_BACKEND
from core.io import atomic_write_json
from core.provenance import provenance


@dataclass(frozen=True)
class Target:
    workload: str = "real_b32"
    min_speedup: float = 3.0                   # x the FP32 baseline's throughput, on kinds not listed below
    min_speedup_by_kind: Mapping[str, float] = field(default_factory=dict)   # CPU kind -> its own threshold
    max_f1_loss_points: float = 0.5
    rivals: tuple[str, ...] = ("ort_int8",)    # the best INT8 reaches min_vs_rivals x the fastest of these
    min_vs_rivals: float = 1.0
    b1_rival: str | None = None                # batch-1 latency at or below this row's (at b1_workload)
    b1_workload: str = "real_b1"

    def for_kind(self, kind: str | None) -> "Target":
        """This target with the FP32 speed-up threshold of CPU kind ``kind`` as ``min_speedup``."""
        return replace(self, min_speedup=self.min_speedup_by_kind.get(kind, self.min_speedup))


# The default target (MiniLM), the same on every CPU kind, and a stricter one for the bert-base-sized
# MPNet track whose FP32 threshold follows the kind's INT8 peak (docs/benchmark.md).
TARGETS = {"default": Target(),
           "mpnet": Target(min_speedup_by_kind={"amx": 4.0, "avx512-vnni": 3.0, "avx-vnni": 3.0},
                           rivals=("ort_int8", "torchao_int8_compiled"), min_vs_rivals=1.2, b1_rival="ort_int8")}


def threshold(target: Target, cpu: Mapping[str, Any] | None) -> dict[str, Any]:
    """The FP32 speed-up threshold that applies to a bench measured on ``cpu`` (its ``peak`` block),
    with the CPU it names and, where recorded, its INT8 peak as a multiple of its FP32 peak."""
    cpu = cpu or {}
    kind = recorded_kind(cpu)
    fp32, int8 = cpu.get("fp32_gflops"), cpu.get("int8_gops")
    needed = target.for_kind(kind).min_speedup
    where = f"on {kind} CPUs" if kind in target.min_speedup_by_kind else \
        f"on any CPU kind (this one: {kind or 'not recorded'})"
    return {"cpu_kind": kind, "cpu": cpu.get("model_name"),
            "int8_peak_x_fp32": round(int8 / fp32, 1) if fp32 and int8 else None,
            "min_speedup": needed, "applies": f"{needed:.1f}x FP32 {where}"}


def throughput(row: dict[str, Any], workload: str) -> float | None:
    cell = row.get("timings", {}).get(workload)
    return None if cell is None else cell["throughput_ex_per_s"]["median"]


def ms_per_batch(row: dict[str, Any], workload: str) -> float | None:
    cell = row.get("timings", {}).get(workload)
    return None if cell is None else cell["ms_per_batch"]["median"]


def per_repeat_speedups(row: dict[str, Any], ref: dict[str, Any], workload: str) -> list[float] | None:
    """How many times faster ``row`` ran than ``ref`` in each repeat (same pass, ``pass_ms``); None
    for a bench written before pass times were stored."""
    ours, theirs = (r["timings"][workload].get("pass_ms") for r in (row, ref))
    if ours and theirs and len(ours) == len(theirs):
        return [t / o for o, t in zip(ours, theirs)]
    return None


def speedup(row: dict[str, Any], ref: dict[str, Any], workload: str, needed: float | None = None) -> dict[str, Any]:
    """The median per-repeat speed-up of ``row`` over ``ref`` (an older bench: the ratio of the two
    medians); with ``needed``, whether it is met and in how many repeats."""
    ratios = per_repeat_speedups(row, ref, workload)
    if ratios is None:
        value, out = throughput(row, workload) / throughput(ref, workload), {"estimator": "ratio of medians"}
    else:
        value, out = float(np.median(ratios)), {"per_repeat": [round(r, 2) for r in ratios]}
    out = {"value": round(value, 2), **out}
    if needed is not None:
        out["met"] = value >= needed
        if ratios is not None:
            out["repeats_met"] = f"{sum(r >= needed for r in ratios)} of {len(ratios)}"
    return out


def in_repeats(check: dict[str, Any], verb: str) -> str:
    """A shortfall message's tail, e.g. "; reached in 7 of 9 repeats", when the check has per-repeat ratios."""
    return f"; {verb} in {check['repeats_met']} repeats" if "repeats_met" in check else ""


def check_target(rows: list[dict[str, Any]], baseline: str, target: Target = TARGETS["default"],
                 cpu: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Pick the fastest project INT8 variant that keeps macro-F1 within the limit (the fastest of
    all if none does) and say which criteria it meets, by how much, with the FP32 speed-up threshold
    of the CPU kind ``cpu`` (the bench's ``peak`` block) records."""
    applied = threshold(target, cpu)
    target = target.for_kind(applied["cpu_kind"])
    by_name = {row["variant"]: row for row in rows}
    base, workload = by_name.get(baseline), target.workload
    rivals = [by_name[name] for name in target.rivals if name in by_name and throughput(by_name[name], workload)]
    criteria = {"target": asdict(target), "threshold": applied}
    candidates = int8_rows(rows, workload)
    if base is None or not rivals or not candidates or throughput(base, workload) is None:
        return {"criteria": criteria, "met": None,
                "note": f"not evaluable: needs the baseline, a rival row ({', '.join(target.rivals)}) and at least "
                        f"one project INT8 variant (quantization.bits 8) timed at {workload}"}

    def loss(row: dict[str, Any]) -> float:
        return round(100 * (base["macro_f1"] - row["macro_f1"]), 2)

    accurate = [r for r in candidates if loss(r) <= target.max_f1_loss_points]
    best = max(accurate or candidates, key=lambda r: throughput(r, workload))
    rival = max(rivals, key=lambda r: throughput(r, workload))
    vs_fp32 = speedup(best, base, workload, target.min_speedup)
    vs_rival = {**speedup(best, rival, workload, target.min_vs_rivals), "rival": rival["variant"]}
    checks = {"speedup_vs_fp32": vs_fp32, "throughput_vs_fastest_rival": vs_rival,
              "macro_f1_loss_points": {"value": loss(best), "met": loss(best) <= target.max_f1_loss_points}}
    shortfalls = []
    if not vs_fp32["met"]:
        shortfalls.append(f"{vs_fp32['value']:.2f}x the FP32 baseline, {applied['applies']} needed"
                          + in_repeats(vs_fp32, "reached"))
    if not vs_rival["met"]:
        shortfalls.append(f"{vs_rival['value']:.2f}x {rival['variant']}'s throughput, {target.min_vs_rivals:.1f}x "
                          "needed" + in_repeats(vs_rival, "reached"))
    if not checks["macro_f1_loss_points"]["met"]:
        shortfalls.append(f"loses {loss(best):.2f} macro-F1 points, at most {target.max_f1_loss_points} allowed")
    b1_rival = by_name.get(target.b1_rival) if target.b1_rival else None
    if b1_rival is not None and ms_per_batch(best, target.b1_workload) and ms_per_batch(b1_rival, target.b1_workload):
        ours, theirs = ms_per_batch(best, target.b1_workload), ms_per_batch(b1_rival, target.b1_workload)
        b1 = {**speedup(best, b1_rival, target.b1_workload, 1.0), "rival": b1_rival["variant"],
              "ms": round(ours, 3), "rival_ms": round(theirs, 3)}
        checks["b1_speedup_vs_rival"] = b1
        if not b1["met"]:
            shortfalls.append(f"batch-1 {b1['value']:.2f}x {b1_rival['variant']}'s speed (median {ours:.1f} against "
                              f"{theirs:.1f} ms{in_repeats(b1, 'faster')})")
    return {"criteria": criteria, "best_variant": best["variant"], "checks": checks,
            "met": all(c["met"] for c in checks.values()), "shortfalls": shortfalls}


def int8_rows(rows: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["backend"] == PROJECT_BACKEND and r.get("weight_bits") == 8
            and throughput(r, workload) is not None]


def slowest_int8_variant(rows: list[dict[str, Any]], workload: str = "real_b32") -> str | None:
    timed = int8_rows(rows, workload)
    return min(timed, key=lambda r: throughput(r, workload))["variant"] if timed else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="a bench result (results/bench/<model>-<cpu kind>.json)")
    parser.add_argument("--target", choices=sorted(TARGETS), default="default")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the judgement here (default: <bench>_target_<target>.json beside it)")
    args = parser.parse_args(argv)
    try:
        bench = json.loads(args.bench.read_text())
        rows, baseline = bench["rows"], bench["baseline"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise SystemExit(f"error: {args.bench}: not a bench result ({type(err).__name__}: {err}); "
                         "run make bench MODEL=... first") from None
    judged = check_target(rows, baseline, TARGETS[args.target], bench.get("peak"))
    out = args.out or args.bench.with_name(f"{args.bench.stem}_target_{args.target}.json")
    atomic_write_json(out, {"bench": args.bench.name, "bench_machine": bench.get("provenance", {}).get("machine"),
                            **judged, "provenance": provenance()})
    print(json.dumps({"threshold": judged["criteria"]["threshold"]["applies"],
                      **{k: judged[k] for k in ("best_variant", "checks", "met", "shortfalls") if k in judged}}, indent=1))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
