"""Speed targets, judged from the rows a bench wrote, so they can be re-checked offline:

    python -m bench.target results/bench/mpnet-base.json --target mpnet   # issue 17's targets

A ``Target`` says what the project's best INT8 variant must reach at a workload: a speed-up over
the FP32 baseline, a ratio to the fastest of some rival rows (ONNX Runtime INT8, torchao compiled),
optionally a batch-1 latency at or below a rival's, and at most a macro-F1 loss. A project row is
INT8 when its manifest's ``quantization.bits`` is 8.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.runners import PROJECT_BACKEND
from core.io import atomic_write_json
from core.provenance import provenance


@dataclass(frozen=True)
class Target:
    workload: str = "real_b32"
    min_speedup: float = 3.0                   # x the FP32 baseline's throughput
    max_f1_loss_points: float = 0.5
    rivals: tuple[str, ...] = ("ort_int8",)    # the best INT8 reaches min_vs_rivals x the fastest of these
    min_vs_rivals: float = 1.0
    b1_rival: str | None = None                # batch-1 latency at or below this row's (at b1_workload)
    b1_workload: str = "real_b1"


# The benchmark issue's target (MiniLM), and issue 17's for the bert-base-sized MPNet track.
TARGETS = {"default": Target(),
           "mpnet": Target(min_speedup=4.0, rivals=("ort_int8", "torchao_int8_compiled"), min_vs_rivals=1.2,
                           b1_rival="ort_int8")}


def throughput(row: dict[str, Any], workload: str) -> float | None:
    cell = row.get("timings", {}).get(workload)
    return None if cell is None else cell["throughput_ex_per_s"]["median"]


def ms_per_batch(row: dict[str, Any], workload: str) -> float | None:
    cell = row.get("timings", {}).get(workload)
    return None if cell is None else cell["ms_per_batch"]["median"]


def check_target(rows: list[dict[str, Any]], baseline: str, target: Target = TARGETS["default"]) -> dict[str, Any]:
    """Pick the fastest project INT8 variant that keeps macro-F1 within the limit (the fastest of
    all if none does) and say which criteria it meets, by how much."""
    by_name = {row["variant"]: row for row in rows}
    base, workload = by_name.get(baseline), target.workload
    rivals = [by_name[name] for name in target.rivals if name in by_name and throughput(by_name[name], workload)]
    criteria = {"target": asdict(target)}
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
    speedup = throughput(best, workload) / throughput(base, workload)
    vs_rival = throughput(best, workload) / throughput(rival, workload)
    checks = {"speedup_vs_fp32": {"value": round(speedup, 2), "met": speedup >= target.min_speedup},
              "throughput_vs_fastest_rival": {"value": round(vs_rival, 2), "rival": rival["variant"],
                                              "met": vs_rival >= target.min_vs_rivals},
              "macro_f1_loss_points": {"value": loss(best), "met": loss(best) <= target.max_f1_loss_points}}
    shortfalls = []
    if not checks["speedup_vs_fp32"]["met"]:
        shortfalls.append(f"{speedup:.2f}x the FP32 baseline, {target.min_speedup:.1f}x needed")
    if not checks["throughput_vs_fastest_rival"]["met"]:
        shortfalls.append(f"{vs_rival:.2f}x {rival['variant']}'s throughput, {target.min_vs_rivals:.1f}x needed")
    if not checks["macro_f1_loss_points"]["met"]:
        shortfalls.append(f"loses {loss(best):.2f} macro-F1 points, at most {target.max_f1_loss_points} allowed")
    b1_rival = by_name.get(target.b1_rival) if target.b1_rival else None
    if b1_rival is not None and ms_per_batch(best, target.b1_workload) and ms_per_batch(b1_rival, target.b1_workload):
        ours, theirs = ms_per_batch(best, target.b1_workload), ms_per_batch(b1_rival, target.b1_workload)
        checks["b1_ms_vs_rival"] = {"value": round(ours / theirs, 2), "rival": b1_rival["variant"],
                                    "ms": round(ours, 3), "rival_ms": round(theirs, 3), "met": ours <= theirs}
        if ours > theirs:
            shortfalls.append(f"batch-1 {ours:.1f} ms against {b1_rival['variant']}'s {theirs:.1f} ms")
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
    parser.add_argument("bench", type=Path, help="a bench result (results/bench/<model>.json)")
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
    judged = check_target(rows, baseline, TARGETS[args.target])
    out = args.out or args.bench.with_name(f"{args.bench.stem}_target_{args.target}.json")
    atomic_write_json(out, {"bench": args.bench.name, "bench_machine": bench.get("provenance", {}).get("machine"),
                            **judged, "provenance": provenance()})
    print(json.dumps({k: judged[k] for k in ("best_variant", "checks", "met", "shortfalls") if k in judged}, indent=1))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
