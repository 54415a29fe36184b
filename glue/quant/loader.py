"""The loader every quantized variant's manifest names (``glue.quant.loader:load_quantized``):
it rebuilds the method's config from the manifest's ``quantization`` block and lets the method
rebuild the model; nothing is unpickled (safetensors, or torch.load(weights_only=True): see
glue/folder/weights.py for why that state file is allowed)."""
from __future__ import annotations

from pathlib import Path

import torch

from glue.folder.manifest import MANIFEST, REBUILD, Manifest, VariantError
from glue.folder.variant import Variant, variant_loader
from glue.quant import get_method
from glue.schema.recipe import RecipeError


@variant_loader
def load_quantized(path: Path, manifest: Manifest, device: torch.device) -> Variant:
    from transformers import AutoTokenizer

    block = manifest.quantization
    if not isinstance(block, dict) or "method" not in block or not isinstance(block.get("config"), dict):
        raise VariantError(f"{path / MANIFEST}: no quantization block with method and config; {REBUILD}")
    try:
        method = get_method(block["method"])
        config = method.config_cls.from_dict(block["config"])
    except RecipeError as err:
        raise VariantError(f"{path / MANIFEST}: quantization block: {err}; {REBUILD}") from None
    if device.type not in method.devices:
        raise VariantError(f"{path}: {method.name} runs on {', '.join(method.devices)} only, not {device}")
    model = method.place(method.load(path, config), device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return Variant.from_manifest(path, model, tokenizer, manifest, device)
