"""Write a trained classifier as a model folder (glue/folder/variant.py's contract) and load it back.

Full and freeze fine-tunes are plain Hugging Face folders (``glue.folder.variant:load_hf_classifier``).
LoRA / QLoRA folders hold only the adapters and the head; :func:`load_adapter` rebuilds the body
from the manifest's ``base_model`` (in 4/8 bits when a ``quantization`` block says so) and applies them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from core.io import staged_output
from core.quiet import load_report_off
from glue.folder.manifest import Manifest
from glue.folder.variant import Variant, variant_loader
from glue.quant import bnb
from glue.quant.bnb import BnbConfig
from glue.schema.recipe import locate_model
from glue.train.data import ensure_pad_token
from seqcls.model import load_classifier

HF_LOADER = "glue.folder.variant:load_hf_classifier"
ADAPTER_LOADER = "seqcls.export:load_adapter"


def export(out: Path, model: torch.nn.Module, tokenizer, setup: dict[str, Any], **fields: Any) -> None:
    """Save weights (safetensors), tokenizer and variant.json atomically into ``out``."""
    lora = setup["finetuning_type"] == "lora"
    quant: BnbConfig | None = setup["quant"]
    with staged_output(out) as staging:
        model.save_pretrained(staging)  # LoRA: adapter_model.safetensors holds adapters + head
        tokenizer.save_pretrained(staging)
        quantization = bnb.block(model, quant, "pretrained body frozen in bitsandbytes; LoRA adapters and the "
                                               "head train in full precision") if quant is not None else None
        extra = {key: setup[key] for key in ("lora", "freeze") if key in setup}  # the method's own details
        Manifest(loader=ADAPTER_LOADER if lora else HF_LOADER, quantization=quantization, extra=extra,
                 **fields).write(staging)


@variant_loader
def load_adapter(path: Path, manifest: Manifest, device: torch.device) -> Variant:
    """Loader named in variant.json: the body rebuilt from ``base_model``, then adapters and head."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    block = manifest.quantization
    quant = BnbConfig.from_dict(block["config"]) if block else None
    with load_report_off():  # its head is new: the adapter file's replaces it below
        base = load_classifier(locate_model(manifest.base_model), manifest.labels, quant, device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    ensure_pad_token(tokenizer, base)
    model = PeftModel.from_pretrained(base, path).eval()
    if quant is None:  # a bitsandbytes body is placed while loading and refuses .to()
        model.to(device)
    return Variant.from_manifest(path, model, tokenizer, manifest, device)
