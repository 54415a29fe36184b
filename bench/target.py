"""The target the issue sets: this project's best INT8 variant at batch 32 (real lengths) is at
least as fast as ONNX Runtime dynamic INT8, at least 3x the FP32 baseline, and loses at most
0.5 macro-F1 points. Judged from the rows the bench wrote, so it can be re-checked offline.
A project row is INT8 when its manifest's ``quantization.bits`` is 8."""
from __future__ import annotations

from typing import Any

from bench.runners import PROJECT_BACKEND


def throughput(row: dict[str, Any], workload: str) -> float | None:
    cell = row.get("timings", {}).get(workload)
    return None if cell is None else cell["throughput_ex_per_s"]["median"]


def check_target(rows: list[dict[str, Any]], baseline: str, ort_int8: str, workload: str = "real_b32",
                 min_speedup: float = 3.0, max_f1_loss_points: float = 0.5) -> dict[str, Any]:
    """Pick the fastest project INT8 variant that keeps macro-F1 within the limit (the fastest of
    all if none does) and say which criteria it meets, by how much."""
    by_name = {row["variant"]: row for row in rows}
    base, ort = by_name.get(baseline), by_name.get(ort_int8)
    criteria = {"workload": workload, "min_speedup_vs_fp32": min_speedup,
                "max_macro_f1_loss_points": max_f1_loss_points, "at_least_as_fast_as": ort_int8}
    candidates = int8_rows(rows, workload)
    if base is None or ort is None or not candidates or throughput(base, workload) is None:
        return {"criteria": criteria, "met": None,
                "note": "not evaluable: needs the baseline, the ORT INT8 row and at least one project INT8 "
                        f"variant (quantization.bits 8) timed at {workload}"}

    def loss(row: dict[str, Any]) -> float:
        return round(100 * (base["macro_f1"] - row["macro_f1"]), 2)

    accurate = [r for r in candidates if loss(r) <= max_f1_loss_points]
    best = max(accurate or candidates, key=lambda r: throughput(r, workload))
    speedup = throughput(best, workload) / throughput(base, workload)
    vs_ort = throughput(best, workload) / throughput(ort, workload)
    checks = {"speedup_vs_fp32": {"value": round(speedup, 2), "met": speedup >= min_speedup},
              "throughput_vs_ort_int8": {"value": round(vs_ort, 2), "met": vs_ort >= 1.0},
              "macro_f1_loss_points": {"value": loss(best), "met": loss(best) <= max_f1_loss_points}}
    shortfalls = []
    if not checks["speedup_vs_fp32"]["met"]:
        shortfalls.append(f"{speedup:.2f}x the FP32 baseline, {min_speedup:.1f}x needed")
    if not checks["throughput_vs_ort_int8"]["met"]:
        shortfalls.append(f"{vs_ort:.2f}x ORT INT8's throughput ({100 * (1 - vs_ort):.0f}% slower)")
    if not checks["macro_f1_loss_points"]["met"]:
        shortfalls.append(f"loses {loss(best):.2f} macro-F1 points, at most {max_f1_loss_points} allowed")
    return {"criteria": criteria, "best_variant": best["variant"], "checks": checks,
            "met": all(c["met"] for c in checks.values()), "shortfalls": shortfalls}


def int8_rows(rows: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["backend"] == PROJECT_BACKEND and r.get("weight_bits") == 8
            and throughput(r, workload) is not None]


def slowest_int8_variant(rows: list[dict[str, Any]], workload: str = "real_b32") -> str | None:
    timed = int8_rows(rows, workload)
    return min(timed, key=lambda r: throughput(r, workload))["variant"] if timed else None
