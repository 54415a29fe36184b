"""Check the CUDA paths of the MPNet track in one short run and write what worked.

    python tools/cuda_check.py          # after make setup, make data, make mpnet; on a machine with a CUDA GPU

Four checks, each recorded as ok or failed (with the error's last line), its wall time and numbers:
  fp16_baseline  llamafactory-cli train recipes/baseline_mpnet.yaml with fp16=true for --steps steps
  bnb_int8       that checkpoint loaded with bitsandbytes load_in_8bit on the GPU, macro-F1 on validation texts
  bnb_nf4        the same with load_in_4bit NF4 + double quantization (heads kept FP16)
  qlora          llamafactory-cli train recipes/qlora_mpnet.yaml on the GPU (use_cpu=false, fp16) for --steps steps
A failed check does not stop the others (except that the loads need the baseline). Without CUDA it
stops at once with one line. The JSON goes to --out (default results/cuda_check/mpnet-base.json).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the repository's packages, not an installed copy


def cli_train(recipe: str, out: Path, *overrides: str) -> dict[str, Any]:
    """One llamafactory-cli run with this repository's seq_cls stage; the trained folder's manifest says what ran."""
    cli = Path(sys.executable).with_name("llamafactory-cli")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{cli.parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([str(cli), "train", recipe, f"output_dir={out}", "overwrite_output_dir=true", *overrides],
                         cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError((run.stderr.strip().splitlines() or ["no output"])[-1])
    from glue.folder.manifest import Manifest

    training = Manifest.read(out).training or {}
    return {"folder": str(out), "training": training}


def bnb_load(baseline: Path, bits: int, texts: list[str], labels: list[int]) -> dict[str, Any]:
    """Load the fine-tuned checkpoint through bitsandbytes on the GPU (heads kept in FP16) and score it."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from eval.metrics import classification_metrics
    from glue.folder.manifest import Manifest
    from glue.quant.bnb import BnbConfig
    from seqcls.model import head_modules

    names = Manifest.read(baseline).labels
    config = BnbConfig(bits=bits, compute_dtype="float16")
    model = AutoModelForSequenceClassification.from_pretrained(
        baseline, quantization_config=config.hf_config(head_modules(str(baseline), names)),
        dtype=torch.float16, device_map={"": "cuda"}).eval()
    tokenizer = AutoTokenizer.from_pretrained(baseline)
    predictions: list[int] = []
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            batch = tokenizer(texts[start:start + 64], padding=True, truncation=True, max_length=128,
                              return_tensors="pt").to("cuda")
            predictions += model(**batch).logits.argmax(-1).tolist()
    metrics = classification_metrics(labels, predictions, names)
    return {"macro_f1": round(metrics["macro_f1"], 4), "examples": len(texts),
            "memory_footprint_mb": round(model.get_memory_footprint() / 2**20, 1)}


def check(results: dict[str, Any], name: str, step: Callable[[], dict[str, Any]]) -> bool:
    """Run one check, record ok/failed, time and detail; never raise."""
    start = time.perf_counter()
    try:
        results[name] = {"ok": True, **step()}
    except Exception as err:  # noqa: BLE001  (record any failure: the point is to know which paths work)
        results[name] = {"ok": False, "error": f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[-1]}"}
    results[name]["seconds"] = round(time.perf_counter() - start, 1)
    print(f"{name}: {'ok' if results[name]['ok'] else 'FAILED ' + results[name]['error']}", file=sys.stderr)
    return results[name]["ok"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="training steps of the FP16 baseline and of QLoRA")
    parser.add_argument("--eval-examples", type=int, default=512, help="validation texts the bnb loads are scored on")
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "cuda_check", help="where models are written")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "cuda_check" / "mpnet-base.json")
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        raise SystemExit(f"error: no CUDA device (torch {torch.__version__}, torch.cuda.is_available() is False): "
                         "run tools/cuda_check.py on a machine with an NVIDIA GPU and a CUDA build of torch")
    from core.io import atomic_write_json
    from core.provenance import provenance
    from data_prep.prepared import load_split

    validation = load_split(REPO / "outputs" / "data", "emotion_validation", args.eval_examples)
    steps = [f"max_steps={args.steps}", "fp16=true", "save_strategy=no", "logging_steps=50"]
    results: dict[str, Any] = {"device": torch.cuda.get_device_name(0), "steps": args.steps}
    baseline = args.work / "baseline"
    if check(results, "fp16_baseline", lambda: cli_train("recipes/baseline_mpnet.yaml", baseline, *steps)):
        for name, bits in (("bnb_int8", 8), ("bnb_nf4", 4)):
            check(results, name, lambda bits=bits: bnb_load(baseline, bits, validation.texts, validation.labels))
    # QLoRA keeps its best validation step, so it saves a checkpoint at each evaluation (the recipe's save_steps)
    check(results, "qlora", lambda: cli_train("recipes/qlora_mpnet.yaml", args.work / "qlora", *steps, "use_cpu=false",
                                              "save_strategy=steps"))
    results["provenance"] = provenance(data_sha256=validation.sha256, threads=torch.get_num_threads())
    atomic_write_json(args.out, results)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {'ok' if v['ok'] else 'failed'}" for k, v in results.items()
                                           if isinstance(v, dict) and "ok" in v))


if __name__ == "__main__":
    main()
