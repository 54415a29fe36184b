"""The instruction sets of this CPU and an estimate of its arithmetic peak for each number format,
so measured throughput can be read as a share of what the machine could do at best.

    FP32 peak (GFLOP/s)       = cores x GHz x FMA units x (vector bits / 32) lanes x 2 flops per FMA
    INT8 peak, VNNI (GOP/s)   = 4 x FP32    (vpdpbusd: 4 int8 multiply-adds per 32-bit lane)
    BF16 peak, AVX-512 BF16   = 2 x FP32    (vdpbf16ps: 2 bf16 multiply-adds per 32-bit lane)
    INT8 peak, AMX (GOP/s)    = cores x GHz x 2048 ops per cycle    (one AMX tile unit per core)
    BF16 peak, AMX (GFLOP/s)  = cores x GHz x 1024 flops per cycle

The AMX figures are Intel's per-core numbers for Sapphire Rapids and later (2048 INT8 ops and
1024 BF16 flops per cycle, against 256 and 64 for AVX-512 VNNI and FP32 FMA). Which kernels reach
which peak differs: oneDNN uses AMX for x86 quantized linear layers, torch.compile'd torchao INT8
and BF16 autocast matmuls, while fbgemm-era paths use VNNI only. A CPU's "best" peak is the fastest
format its flags allow. These are estimates, not measurements: the clock is the one lscpu or
/proc/cpuinfo reports (a VM may hide turbo), two FMA units is an assumption about the core (true of
AVX-512 Zen 5 and Ice Lake-SP and later, while Zen 4 runs 512-bit FMAs as two 256-bit halves), and
real kernels also pay for memory traffic, quantizing activations and non-matmul ops.
"""
from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FMA_UNITS = 2
AMX_INT8_OPS_PER_CYCLE = 2048
AMX_BF16_FLOPS_PER_CYCLE = 1024
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")
# CPU kinds, fastest INT8 path first: benches and speed targets are kept per kind, since INT8's
# peak is 4x FP32's with VNNI alone and far more with AMX (the module docstring's formulas).
CPU_KINDS = ("amx", "avx512-vnni", "avx-vnni", "avx2", "generic")


@dataclass(frozen=True)
class Isa:
    """The /proc/cpuinfo flags that decide which INT8 and BF16 kernels can run."""

    avx2: bool = False
    avx512f: bool = False
    avx512_vnni: bool = False
    avx_vnni: bool = False
    avx512_bf16: bool = False
    amx_tile: bool = False
    amx_int8: bool = False
    amx_bf16: bool = False

    @classmethod
    def from_flags(cls, flags: set[str]) -> "Isa":
        return cls(**{name: name in flags for name in ISA_FLAGS})

    @property
    def vector_bits(self) -> int:
        return 512 if self.avx512f else 256

    @property
    def vnni(self) -> bool:
        return self.avx512_vnni if self.avx512f else self.avx_vnni

    @property
    def kind(self) -> str:
        """The CPU kind (one of CPU_KINDS) named by its best INT8 instructions."""
        if self.amx_tile and self.amx_int8:
            return "amx"
        if self.avx512f and self.avx512_vnni:
            return "avx512-vnni"
        if self.avx_vnni:
            return "avx-vnni"
        return "avx2" if self.avx2 else "generic"

    def summary(self) -> str:
        present = [name for name in ISA_FLAGS if getattr(self, name)]
        return " ".join(present) or "no AVX-512, VNNI, BF16 or AMX"


def estimate_peaks(cores: int, ghz: float, isa: Isa, fma_units: int = FMA_UNITS) -> dict[str, float | None]:
    """Peak GFLOP/s (GOP/s for INT8) per number format and path, from the module docstring's
    formulas; None where the CPU lacks the instructions."""
    fp32 = cores * ghz * fma_units * (isa.vector_bits // 32) * 2
    return {"fp32": fp32,
            "int8_vnni": 4 * fp32 if isa.vnni else None,
            "bf16_avx512": 2 * fp32 if isa.avx512_bf16 else None,
            "int8_amx": cores * ghz * AMX_INT8_OPS_PER_CYCLE if isa.amx_tile and isa.amx_int8 else None,
            "bf16_amx": cores * ghz * AMX_BF16_FLOPS_PER_CYCLE if isa.amx_tile and isa.amx_bf16 else None}


def best(peaks: dict[str, float | None], fmt: str) -> tuple[float | None, str | None]:
    """The highest peak of format ``fmt`` ("int8" or "bf16") and the path that gives it."""
    paths = [(value, name) for name, value in peaks.items() if name.startswith(fmt + "_") and value]
    return max(paths) if paths else (None, None)


@dataclass(frozen=True)
class CpuPeak:
    model_name: str
    cpu_family: str  # AMD family 25 is Zen 3/4, 26 is Zen 5; Intel Xeon with AMX is family 6
    cores: int
    ghz: float
    clock_source: str
    vector_bits: int
    fma_units: int
    isa: Isa
    peaks: dict[str, float | None]
    fp32_gflops: float
    int8_gops: float | None   # the best INT8 path (AMX where present, else VNNI)
    bf16_gflops: float | None  # the best BF16 path (AMX where present, else AVX-512 BF16)
    formula: str

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "cpu_kind": self.isa.kind, "isa_summary": self.isa.summary(),
                "note": "estimate from clock, vector width and Intel's AMX per-cycle figures, not a measurement"}


def recorded_kind(peak: Mapping[str, Any] | None) -> str | None:
    """The CPU kind a bench was measured on, from its ``peak`` block (CpuPeak.as_dict): the kind it
    names, else the one its ISA flags give; None when it records neither."""
    peak = peak if isinstance(peak, Mapping) else {}
    if peak.get("cpu_kind") in CPU_KINDS:
        return peak["cpu_kind"]
    flags = peak.get("isa")
    return Isa(**{k: bool(v) for k, v in flags.items() if k in ISA_FLAGS}).kind if isinstance(flags, dict) else None


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


def describe(cores: int, ghz: float, isa: Isa) -> str:
    """The peaks as one line of arithmetic, for the JSON and the printed table."""
    peaks = estimate_peaks(cores, ghz, isa)
    text = (f"FP32 = {cores} cores x {ghz:.3f} GHz x {FMA_UNITS} FMA units x {isa.vector_bits // 32} lanes x 2 flops"
            f" = {peaks['fp32']:.1f} GFLOP/s")
    labels = {"int8_vnni": "INT8 VNNI = 4 x FP32", "bf16_avx512": "BF16 AVX-512 = 2 x FP32",
              "int8_amx": f"INT8 AMX = {cores} x {ghz:.3f} x {AMX_INT8_OPS_PER_CYCLE}",
              "bf16_amx": f"BF16 AMX = {cores} x {ghz:.3f} x {AMX_BF16_FLOPS_PER_CYCLE}"}
    for key, label in labels.items():
        text += f"; {label} = {peaks[key]:.1f}" if peaks[key] else f"; {label.split(' =')[0]}: n/a"
    return text + f" (flags: {isa.summary()})"


def this_cpu(threads: int | None = None) -> CpuPeak:
    """Estimate the peaks of the cores this benchmark uses (``threads``, default every CPU).

    The clock is lscpu's "CPU max MHz" when the machine reports one, else /proc/cpuinfo's
    current "cpu MHz" (under KVM usually the nominal clock); 0 when neither is readable, and
    then no share of peak is reported."""
    info = _cpuinfo()
    isa = Isa.from_flags(set(info.get("flags", "").split()))
    max_mhz = _lscpu_max_mhz()
    if max_mhz:
        mhz, source = max_mhz, "lscpu CPU max MHz"
    else:
        mhz, source = float(info.get("cpu MHz", 0.0)), "/proc/cpuinfo cpu MHz"
    cores = min(threads or os.cpu_count() or 1, os.cpu_count() or 1)
    ghz = mhz / 1000
    peaks = {k: None if v is None else round(v, 1) for k, v in estimate_peaks(cores, ghz, isa).items()}
    return CpuPeak(info.get("model name", "unknown"), info.get("cpu family", "unknown"), cores, round(ghz, 3), source,
                   isa.vector_bits, FMA_UNITS, isa, peaks, peaks["fp32"] or 0.0, best(peaks, "int8")[0],
                   best(peaks, "bf16")[0], describe(cores, ghz, isa))
