"""An estimate of this CPU's arithmetic peak, so measured throughput can be read as a share of
what the machine could do at best.

    FP32 peak (GFLOP/s) = cores x GHz x FMA units x (vector bits / 32) lanes x 2 flops per FMA
    INT8 peak (GOP/s)   = FP32 peak x 4    (VNNI vpdpbusd: 4 int8 multiply-adds per 32-bit lane,
                                            where an FP32 FMA does 1; counted as 2 ops each)

It is an estimate, not a measurement: the clock is the one /proc/cpuinfo reports (a VM may hide
turbo), two FMA units is an assumption about the core (true of AVX-512 Zen 5 and Ice Lake-SP and
later server cores, while Zen 4 runs 512-bit FMAs as two 256-bit halves), and real kernels also
pay for memory traffic, quantizing activations and non-matmul ops.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

FMA_UNITS = 2


@dataclass(frozen=True)
class CpuPeak:
    model_name: str
    cpu_family: str  # AMD family 25 is Zen 3/4, 26 is Zen 5
    cores: int
    ghz: float
    clock_source: str
    vector_bits: int
    fma_units: int
    vnni: bool
    fp32_gflops: float
    int8_gops: float | None
    formula: str

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "note": "estimate from clock and vector width, not a measurement"}


def estimate_peak(cores: int, ghz: float, vector_bits: int, fma_units: int = FMA_UNITS,
                  vnni: bool = True) -> tuple[float, float | None]:
    """(FP32 GFLOP/s, INT8 GOP/s or None without VNNI) from the formula in the module docstring."""
    fp32 = cores * ghz * fma_units * (vector_bits // 32) * 2
    return fp32, (4 * fp32 if vnni else None)


def _cpuinfo() -> dict[str, str]:
    """The first processor block of /proc/cpuinfo as key -> value."""
    fields: dict[str, str] = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _lscpu_max_mhz() -> float | None:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    match = re.search(r"^CPU max MHz:\s*([\d.]+)", out, re.MULTILINE)
    return float(match.group(1)) if match else None


def this_cpu(threads: int | None = None) -> CpuPeak:
    """Estimate the peak of the cores this benchmark uses (``threads``, default every CPU).

    The clock is lscpu's "CPU max MHz" when the machine reports one, else /proc/cpuinfo's
    current "cpu MHz" (under KVM usually the nominal clock); 0 when neither is readable, and
    then no share of peak is reported."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    vector_bits = 512 if "avx512f" in flags else 256 if "avx2" in flags else 128
    vnni = "avx512_vnni" in flags if vector_bits == 512 else "avx_vnni" in flags
    max_mhz = _lscpu_max_mhz()
    if max_mhz:
        mhz, source = max_mhz, "lscpu CPU max MHz"
    else:
        mhz, source = float(info.get("cpu MHz", 0.0)), "/proc/cpuinfo cpu MHz"
    cores = min(threads or os.cpu_count() or 1, os.cpu_count() or 1)
    ghz = mhz / 1000
    fp32, int8 = estimate_peak(cores, ghz, vector_bits, FMA_UNITS, vnni)
    formula = (f"FP32 = {cores} cores x {ghz:.3f} GHz x {FMA_UNITS} FMA units x {vector_bits // 32} lanes x 2 flops"
               f" = {fp32:.1f} GFLOP/s; INT8 = 4 x FP32 = " + (f"{int8:.1f} GOP/s (VNNI)" if int8 else "n/a (no VNNI)"))
    return CpuPeak(info.get("model name", "unknown"), info.get("cpu family", "unknown"), cores, round(ghz, 3), source, vector_bits, FMA_UNITS, vnni,
                   round(fp32, 1), None if int8 is None else round(int8, 1), formula)
