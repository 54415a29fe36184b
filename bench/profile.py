"""Where the time goes: torch.profiler's top operators (self CPU time) over one timed pass."""
from __future__ import annotations

from typing import Any

from torch.profiler import ProfilerActivity, profile

from bench.runners import Runner


def top_ops(runner: Runner, batches: list[Any], top: int = 10) -> dict[str, Any]:
    """Profile one pass over prepared ``batches`` (after warm-up) and summarise the top ops."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            runner.forward(batch)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total_us = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    ops = [{"op": e.key, "calls": e.count, "self_cpu_ms": round(e.self_cpu_time_total / 1e3, 2),
            "share": round(e.self_cpu_time_total / total_us, 3)} for e in events[:top]]
    summary = ", ".join(f"{o['op']} {100 * o['share']:.0f}%" for o in ops[:4])
    return {"variant": runner.name, "total_self_cpu_ms": round(total_us / 1e3, 1), "top_ops": ops,
            "summary": f"{runner.name}: {summary}"}
