"""Benchmark every variant of one model side by side with ONNX Runtime and torchao, in one process.

    python -m bench.run --models outputs/models/emotion/minilm-l6      (or: make bench)

Rows: every folder under --models with a variant.json (the FP32 baseline and this project's
INT8/NF4 variants, loaded only through glue.folder.variant.load_variant), ONNX Runtime FP32 and dynamic
INT8 of the baseline, torchao int8 dynamic-activation/int8-weight eager and torch.compile'd, and
the baseline under BF16 autocast. The CPU's instruction sets (AVX-512 VNNI/BF16, AMX) and peaks
per format are recorded (bench/peak.py).
Timing is round-robin (every runner once per repeat, in rotating order) so load changes on a
shared machine hit all rows alike; compare rows as ratios within one run. Writes
results/bench/<model>-<cpu kind>.json and its _throughput.png, so benches of one model on CPUs of
different kinds (bench/peak.py CPU_KINDS: amx, avx512-vnni, ...) sit side by side.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from bench.flops import FlopCounter
from bench.onnx_export import ExportError, export_and_quantize
from bench.peak import CpuPeak, best, this_cpu
from bench.plot import plot_throughput
from bench.profile import ceiling_speedup, profile_picks
from bench.runners import (
    PROJECT_BACKEND,
    Runner,
    bf16_runner,
    ort_runner,
    project_runner,
    spread,
    time_pass,
    torchao_runner,
)
from bench.target import TARGETS, check_target, slowest_int8_variant, speedup
from bench.workloads import Workload, fixed_workload, real_workload
from core.cli import positive_int
from core.errors import ProjectError
from core.io import atomic_write_json, is_staging
from core.names import VariantId
from core.paths import portable_values
from core.provenance import provenance
from core.quiet import quiet
from data_prep.common import split_name
from data_prep.prepared import Split, load_split
from eval.evaluate import predict_logits
from eval.metrics import classification_metrics
from eval.results import stored_result
from glue.folder.manifest import DEFAULT_MAX_LENGTH, MANIFEST, Manifest, VariantError

SCHEMA_VERSION = 1
ORT_FP32, ORT_INT8 = "ort_fp32", "ort_int8"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=Path("outputs/models/emotion/minilm-l6"),
                   help="folder of model folders: outputs/models/<dataset>/<model_tag>")
    p.add_argument("--baseline", default="baseline", help="name of the FP32 folder under --models")
    p.add_argument("--dataset-dir", type=Path, default=Path("outputs/data"), help="prepared data (PREP)")
    p.add_argument("--results", type=Path, default=Path("results"), help="results root (eval JSONs are read here)")
    p.add_argument("--out", type=Path, default=None, help="JSON to write (default results/bench/<model>-<cpu kind>.json)")
    p.add_argument("--cache", type=Path, default=Path("outputs/bench"), help="where ONNX exports are cached")
    p.add_argument("--batch-sizes", type=positive_int, nargs="+", default=[1, 8, 32, 64])
    p.add_argument("--fixed-batch-sizes", type=positive_int, nargs="*", default=[1, 32],
                   help="batch sizes for the fixed-length input (empty: skip it)")
    p.add_argument("--seq-len", type=positive_int, default=DEFAULT_MAX_LENGTH, help="tokens per row of the fixed-length input")
    p.add_argument("--examples-per-pass", type=positive_int, default=32, help="examples per timed pass (at least one batch)")
    p.add_argument("--repeats", type=positive_int, default=7, help="timed passes per runner and workload")
    p.add_argument("--warmup", type=positive_int, default=1, help="untimed passes per runner and workload")
    p.add_argument("--target-batch-size", type=positive_int, default=32,
                   help="batch size (of --batch-sizes) at which the target is judged and the slowest variant profiled")
    p.add_argument("--target", choices=sorted(TARGETS), default="default",
                   help="which speed target to judge (bench/target.py; mpnet: the bert-base-sized track's)")
    p.add_argument("--threads", type=positive_int, default=2)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile row (saves its 20-110 s compile)")
    p.add_argument("--f1-limit", type=positive_int, default=None,
                   help="macro-F1 on the first N test examples only, all rows recomputed (quick checks)")
    args = p.parse_args(argv)
    if args.target_batch_size not in args.batch_sizes:
        p.error(f"--target-batch-size {args.target_batch_size} is not one of --batch-sizes {args.batch_sizes}")
    return args


def build_runners(args: argparse.Namespace,
                  peak: CpuPeak) -> tuple[list[Runner], dict[str, Any], list[dict[str, str]]]:
    """Baseline first, then this project's other variants, then the other toolkits and BF16 autocast
    on the baseline.
    A variant that fails to load is skipped and recorded, so one broken folder costs one row; the
    staging folder of a build still running (or killed) is no variant."""
    base_dir = args.models / args.baseline
    baseline = project_runner(base_dir)
    vocab = baseline.tokenizer.get_vocab()
    runners, skipped = [baseline], []
    for folder in sorted(p for p in args.models.iterdir()
                         if (p / MANIFEST).is_file() and p != base_dir and not is_staging(p)):
        try:
            runners.append(project_runner(folder, vocab))
        except VariantError as err:  # a folder that does not load: record it, keep benchmarking
            skipped.append({"variant": folder.name, "error": f"{type(err).__name__}: {err}"})
            print(f"warning: skipping {folder.name}: {err}", file=sys.stderr)
    identity = baseline_identity(args)
    onnx = export_and_quantize(base_dir, baseline.model, args.cache / identity.dataset / identity.model_tag)
    for name, key, path, bits, method in (
            (ORT_FP32, "fp32", onnx.fp32, None, "ONNX Runtime FP32"),
            (ORT_INT8, "int8", onnx.int8, 8, "ONNX Runtime dynamic INT8 (QInt8 per-channel weights)")):
        runners.append(ort_runner(name, path, baseline.tokenizer, baseline.labels, baseline.max_length, args.threads,
                                  {"method": method, "weight_bits": bits, "size_mb": onnx.info["size_mb"][key]}))
    runners.append(torchao_runner(base_dir, compile_model=False))
    if not args.no_compile:
        runners.append(torchao_runner(base_dir, compile_model=True))
    runners.append(bf16_runner(base_dir, best(peak.peaks, "bf16")[1]))
    return runners, onnx.info, skipped


def build_workloads(args: argparse.Namespace, texts: list[str], runner: Runner, counter: FlopCounter) -> list[Workload]:
    real = [real_workload(texts, runner.tokenizer, b, args.examples_per_pass, args.repeats, runner.max_length, counter)
            for b in args.batch_sizes]
    fixed = [fixed_workload(texts, runner.tokenizer, b, args.seq_len, args.examples_per_pass, counter)
             for b in args.fixed_batch_sizes]
    return real + fixed


def measure(runners: list[Runner], workloads: list[Workload], warmup: int, repeats: int,
            skipped: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Pass times (ms) per runner and workload, taken round-robin in rotating order: in repeat
    i every runner times the same pass, so load changes on a shared machine hit all rows alike.
    A runner that fails in a warm-up (a shape torch.compile cannot handle, say) is dropped from
    ``runners`` and recorded in ``skipped`` rather than ending the run."""
    samples: dict[str, dict[str, Any]] = {r.name: {} for r in runners}
    for work in workloads:
        prepared = {r.name: [[r.prepare(b) for b in one_pass] for one_pass in work.passes] for r in runners}
        for r in list(runners):
            try:
                warm = [time_pass(r, prepared[r.name][0]) for _ in range(warmup)]
            except Exception as err:  # noqa: BLE001  (record it, keep the other rows)
                skipped.append({"variant": r.name, "error": f"{work.name} failed: {type(err).__name__}: {err}"})
                runners.remove(r)
                continue
            samples[r.name][work.name] = {"warmup_ms": round(sum(warm), 1), "pass_ms": []}
        for rep in tqdm(range(repeats), desc=work.name, unit="round", leave=False):
            shift = rep % len(runners)
            for r in runners[shift:] + runners[:shift]:
                samples[r.name][work.name]["pass_ms"].append(time_pass(r, prepared[r.name][rep % len(work.passes)]))
    return samples


def cell(work: Workload, pass_ms: list[float], warmup_ms: float, peak: CpuPeak) -> dict[str, Any]:
    """Latency, throughput and achieved GFLOP/s of one runner on one workload (per-pass samples)."""
    flops = [work.flops[i % len(work.flops)] for i in range(len(pass_ms))]
    gflops = spread([f / 1e6 / ms for f, ms in zip(flops, pass_ms)])
    return {"ms_per_batch": spread([ms / len(work.passes[0]) for ms in pass_ms]),
            "throughput_ex_per_s": spread([work.examples_per_pass * 1e3 / ms for ms in pass_ms]),
            "gflop_per_s": gflops,
            "pct_of_fp32_peak": round(100 * gflops["median"] / peak.fp32_gflops, 2) if peak.fp32_gflops else None,
            "pct_of_int8_peak": round(100 * gflops["median"] / peak.int8_gops, 2) if peak.int8_gops else None,
            "pct_of_bf16_peak": round(100 * gflops["median"] / peak.bf16_gflops, 2) if peak.bf16_gflops else None,
            "warmup_ms": warmup_ms,
            "pass_ms": [round(ms, 3) for ms in pass_ms]}  # repeat i: the pass every row timed in repeat i


def macro_f1(runner: Runner, split: Split, stored: Path | None) -> tuple[float, str]:
    """The variant's stored evaluation result (eval/SCHEMA.md) when it measured these very weights
    on this very split, else measured here with eval.evaluate's batching."""
    result = None if stored is None else stored_result(stored, runner.info.get("weights_sha256"))
    if result is not None and (result.get("split"), result.get("n_examples"),
                               result.get("provenance", {}).get("data_sha256")) == (split.name, len(split), split.sha256):
        return float(result["metrics"]["macro_f1"]), str(stored)
    logits = predict_logits(runner, split.texts, desc=f"macro-F1 {runner.name}")
    return classification_metrics(split.labels, logits.argmax(-1).tolist(), runner.labels)["macro_f1"], "measured here"


def make_rows(runners: list[Runner], workloads: list[Workload], samples: dict[str, dict[str, Any]],
              first_call: dict[str, float], f1_split: Split, stored_dir: Path | None, peak: CpuPeak) -> list[dict]:
    """One row per runner: what it is, its macro-F1, and a timing cell per workload, with its
    median per-repeat speed-up over the first row (the FP32 baseline)."""
    rows = []
    for r in tqdm(runners, desc="macro-F1", unit="variant"):
        stored = stored_dir / f"{r.name}.json" if stored_dir is not None and r.backend == PROJECT_BACKEND else None
        f1, f1_source = macro_f1(r, f1_split, stored)
        timings = {w.name: cell(w, samples[r.name][w.name]["pass_ms"], samples[r.name][w.name]["warmup_ms"], peak)
                   for w in workloads}
        rows.append({"variant": r.name, "backend": r.backend, "macro_f1": round(f1, 4), "macro_f1_source": f1_source,
                     **r.info, "first_call_s": first_call[r.name], "timings": timings})
    base = rows[0]
    for row in rows:
        row["macro_f1_delta_points"] = round(100 * (row["macro_f1"] - base["macro_f1"]), 2)
        for name, c in row["timings"].items():
            c["speedup_vs_baseline"] = speedup(row, base, name)["value"]
    return rows


def print_table(result: dict[str, Any]) -> None:
    names = [w["name"] for w in result["workloads"]]
    print(f"\n{'variant':24} {'F1':>6} {'bits':>4} " + " ".join(f"{n:>11}" for n in names)
          + "   (examples/s, x baseline)")
    for row in result["rows"]:
        cells = []
        for n in names:
            t = row["timings"][n]["throughput_ex_per_s"]["median"]
            cells.append(f"{t:>6.0f} {row['timings'][n]['speedup_vs_baseline']:>3.1f}x")
        bits = row.get("weight_bits") or "-"
        print(f"{row['variant']:24} {100 * row['macro_f1']:6.2f} {bits:>4} " + " ".join(cells))
    print(f"peak (estimate): {result['peak']['formula']}")
    target = result["target"]
    print(f"target ({target['criteria']['threshold']['applies']}): met={target['met']} " + "; ".join(target.get("shortfalls", [])) + target.get("note", ""))


def baseline_identity(args: argparse.Namespace) -> VariantId:
    """The benchmarked model's dataset and model_tag, as its baseline folder names them."""
    folder = args.models / args.baseline
    return Manifest.read(folder).identity(folder)


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    if not (args.models / args.baseline / MANIFEST).is_file():
        raise VariantError(f"{args.models / args.baseline / MANIFEST} not found: "
                           "train the baseline first (make baseline)")
    identity = baseline_identity(args)
    dataset, model_tag = identity.dataset, identity.model_tag
    split = load_split(args.dataset_dir, split_name(dataset, "test"))
    f1_split = split if args.f1_limit is None else load_split(args.dataset_dir, split.name, args.f1_limit)
    peak = this_cpu(args.threads)
    load_start = os.getloadavg()[0]
    if load_start > args.threads + 0.5:
        print(f"warning: load average {load_start:.1f} on this machine: other processes compete with the "
              f"{args.threads} benchmark threads and timings will be noisy", file=sys.stderr)
    start = time.perf_counter()
    runners, onnx_info, skipped = build_runners(args, peak)
    counter = FlopCounter(runners[0].model.config)
    workloads = build_workloads(args, split.texts, runners[0], counter)
    # First forward on a target-size batch: torch.compile(dynamic=True) then builds its dynamic
    # graph here; batch 1 (which dynamo specialises) recompiles in that workload's warm-up.
    first_batch = next(w for w in workloads if w.name == f"real_b{args.target_batch_size}").passes[0][0]
    first_call = {}
    for r in list(runners):
        try:
            first_call[r.name] = round(r.first_call(first_batch), 2)
        except Exception as err:  # noqa: BLE001  (a variant that cannot run: record it, keep the rest)
            if r is runners[0]:
                raise VariantError(f"the baseline {args.models / args.baseline} fails its first forward: "
                                   f"{err}") from err
            skipped.append({"variant": r.name, "error": f"first forward failed: {type(err).__name__}: {err}"})
            runners.remove(r)
    setup_s = time.perf_counter() - start
    samples = measure(runners, workloads, args.warmup, args.repeats, skipped)
    stored_dir = None if args.f1_limit else identity.group_dir(args.results)
    rows = make_rows(runners, workloads, samples, first_call, f1_split, stored_dir, peak)
    target_workload = f"real_b{args.target_batch_size}"
    target = check_target(rows, args.baseline, dataclasses.replace(TARGETS[args.target], workload=target_workload),
                          peak.as_dict())
    # Where the time goes: the baseline, the slowest project INT8 variant and the target's pick, each
    # over the same batches (every distinct pass of the target workload).
    work = next(w for w in workloads if w.name == target_workload)
    picks = {"baseline": args.baseline, "slowest_int8_variant": slowest_int8_variant(rows, target_workload),
             "target_best_variant": target.get("best_variant")}
    by_name = {r.name: r for r in runners}
    profiles = profile_picks([(role, by_name[name]) for role, name in picks.items() if name],
                             [b for p in work.passes for b in p])
    if "target_best_variant" in profiles:
        best = profiles["target_best_variant"]
        measured = target["checks"]["speedup_vs_fp32"]["value"]
        best["ceiling_speedup_if_int8_matmuls_free"] = ceiling_speedup(measured, best)
    target["profile_summary"] = " | ".join(p["summary"] for p in profiles.values())
    return {
        "schema": SCHEMA_VERSION, "dataset": dataset, "model_tag": model_tag, "baseline": args.baseline,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "f1_split": {"name": f1_split.name, "n_examples": len(f1_split), "sha256": f1_split.sha256},
        "timing_note": "one pass = examples_per_pass examples in batches (real workloads: fresh texts each "
                       "repeat, the same for every row); medians and p10/p90 over repeats, taken round-robin "
                       "across rows; ms_per_batch = pass time / batches per pass; GFLOP/s = pass FLOPs / pass time; "
                       "speedup_vs_baseline = median over repeats of the baseline's time of that repeat's pass "
                       "over this row's (pass_ms, in repeat order)",
        "first_call_note": "first_call_s: untimed first forward at the target batch size (torch.compile compiles "
                           "here); warmup_ms per workload includes any recompile (dynamo specialises batch 1)",
        "flops_note": "matmul FLOPs (Linear layers + attention QK^T and AV) counted by torch FlopCounterMode "
                      "on the model's shapes for each padded batch; padding counted",
        "peak": peak.as_dict(), "workloads": [w.describe() for w in workloads], "rows": rows, "skipped": skipped,
        "target": target, "profile": {"workload": target_workload, **profiles} if profiles else None,
        "onnx": onnx_info, "setup_s": round(setup_s, 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "load_average_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2),
                              "note": f"above {args.threads} means other processes competed for the CPU"},
        "provenance": provenance(data_sha256=split.sha256, threads=args.threads),
    }


def bench_path(results: Path, model: str, cpu_kind: str) -> Path:
    """Where a bench of ``model`` measured on a CPU of ``cpu_kind`` is written by default."""
    return results / "bench" / f"{model}-{cpu_kind}.json"


def main(argv: list[str] | None = None) -> None:
    quiet()
    args = parse_args(argv)
    try:
        result = run(args)
    except (ProjectError, ExportError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    out = args.out or bench_path(args.results, args.models.name, result["peak"]["cpu_kind"])
    atomic_write_json(out, portable_values(result))  # settings hold the paths as typed
    plot_throughput(result, out.with_name(f"{out.stem}_throughput.png"))
    print_table(result)
    print(f"wrote {out} and {out.with_name(out.stem + '_throughput.png')} in {result['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
