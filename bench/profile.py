"""Where the time goes: torch.profiler's top operators (self CPU time) over the bench's batches,
and that time grouped by kind of work, so a speed-up can be read against what INT8 can change.

A compiled graph shows its kernels only when Inductor wraps each in a profiler record
(``cpp.enable_kernel_profile``); otherwise the whole graph is one opaque call. Those records slow
the graph down even while no profiler runs, so they are compiled in only here, after every timing:
the profile reads shares from an instrumented recompile, never times.
"""
from __future__ import annotations

from typing import Any

import torch
from torch._inductor import config as inductor_config
from torch.profiler import ProfilerActivity, profile

from bench.runners import Runner

# Op names (lower case) -> the kind of work, first match wins. Matmuls come first: Inductor names a
# kernel after everything fused into it, so a GEMM template's name also holds "cpp_fused".
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("int8 matmul", ("qlinear", "_int_mm", "quantized::linear", "int8_linear")),
    ("float matmul", ("addmm", "bmm", "aten::mm", "mm_out", "aten::matmul", "mkldnn_linear", "_linear_pointwise",
                      "gemv_4bit", "matmul_4bit")),
    ("Inductor GEMM template", ("_gemm_",)),
    ("attention", ("scaled_dot_product", "softmax")),
    ("fused element-wise (Inductor)", ("cpp_fused",)),
)
OTHER = "other"
# What faster INT8 kernels would speed up: in the project's graphs the GEMM templates are int8 ones.
INT8_GROUPS = ("int8 matmul", "Inductor GEMM template")


def group_of(op: str) -> str:
    name = op.lower()
    return next((group for group, needles in GROUPS if any(n in name for n in needles)), OTHER)


def top_ops(runner: Runner, batches: list[Any], top: int = 10) -> dict[str, Any]:
    """Profile one pass over prepared ``batches`` (after warm-up): the top ops and every op's
    self time summed by :data:`GROUPS`."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            runner.forward(batch)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total_us = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    ops = [{"op": e.key, "calls": e.count, "self_cpu_ms": round(e.self_cpu_time_total / 1e3, 2),
            "share": round(e.self_cpu_time_total / total_us, 3)} for e in events[:top]]
    grouped: dict[str, float] = {}
    for e in events:
        group = group_of(e.key)
        grouped[group] = grouped.get(group, 0.0) + e.self_cpu_time_total
    groups = {g: {"self_cpu_ms": round(us / 1e3, 2), "share": round(us / total_us, 3)}
              for g, us in sorted(grouped.items(), key=lambda kv: -kv[1])}
    summary = ", ".join(f"{g} {100 * v['share']:.0f}%" for g, v in groups.items())
    return {"variant": runner.name, "batches": len(batches), "total_self_cpu_ms": round(total_us / 1e3, 1),
            "groups": groups, "top_ops": ops, "summary": f"{runner.name}: {summary}"}


def profile_picks(picks: list[tuple[str, Runner]], batches: list[Any]) -> dict[str, dict[str, Any]]:
    """:func:`top_ops` for each (role, runner) over the same raw ``batches``, every compiled graph
    recompiled with kernel records (one untimed pass first, where it compiles); a runner that fills
    two roles is profiled once."""
    torch._dynamo.reset()
    by_runner: dict[str, dict[str, Any]] = {}
    with inductor_config.patch({"cpp.enable_kernel_profile": True}):
        for _, runner in picks:
            if runner.name not in by_runner:
                prepared = [runner.prepare(b) for b in batches]
                for batch in prepared:
                    runner.forward(batch)
                by_runner[runner.name] = top_ops(runner, prepared)
    return {role: dict(by_runner[runner.name]) for role, runner in picks}  # one dict per role, filled apart


def ceiling_speedup(speedup: float, profiled: dict[str, Any]) -> float | None:
    """The speed-up over FP32 that a variant measured at ``speedup`` would reach if its int8
    matmuls took no time (from its profile's int8 share): no faster INT8 kernel can take it past
    this; only the rest of its graph (attention, FP32 Linears, element-wise work) can."""
    outside = 1.0 - sum(profiled["groups"].get(g, {}).get("share", 0.0) for g in INT8_GROUPS)
    return round(speedup / outside, 2) if outside > 0 else None
