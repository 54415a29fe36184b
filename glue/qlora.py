"""QLoRA for a sequence classifier: the pretrained encoder is loaded in 4-bit NF4 and frozen;
LoRA adapters and the full-precision classification head train.

    python -m glue.qlora recipes/emotion/qlora_minilm.yaml [key=value ...] [--force]

LLaMA-Factory has no sequence-classification stage, so this job reads LLaMA-Factory's QLoRA
keys (quantization_bit, quantization_type, double_quantization, lora_rank, lora_target, ...)
and runs them through PEFT + bitsandbytes itself. The head (and BERT's pooler) must stay out
of the 4-bit conversion: bitsandbytes' CPU NF4 kernel rejects a 6-row output ("N must be
divisible by block_n") and a quantized head cannot require gradients.
The output folder holds only the adapter and head (safetensors) plus the tokenizer; the
loader rebuilds the NF4 base from the recipe's model and applies them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from glue.data import ensure_pad_token
from glue.provenance import provenance
from glue.recipe import Recipe, RecipeError, resolve_model_path
from glue.train import (
    count_parameters,
    label_kwargs,
    load_splits,
    make_trainer,
    remove_checkpoints,
    run_cli,
    run_training,
)
from glue.variant import Variant, copy_tokenizer, write_manifest

# Full-precision modules: BERT's classifier and pooler, GPT-2 / Llama's score head.
HEAD_MODULES = ["classifier", "pooler", "score"]


def quantization_block(recipe: Recipe) -> dict[str, Any]:
    """The recipe's 4-bit settings, checked, in the form the manifest records and the loader reads."""
    model = recipe.model
    method = getattr(model.quantization_method, "value", model.quantization_method)  # an enum in LLaMA-Factory
    if model.quantization_bit != 4 or method != "bnb":
        raise RecipeError(f"{recipe.path}: QLoRA here needs quantization_bit: 4 and quantization_method: bnb "
                          f"(got {model.quantization_bit} / {method})")
    return {"method": "bitsandbytes", "bits": 4, "quant_type": model.quantization_type,
            "double_quant": bool(model.double_quantization), "compute_dtype": "float32",
            "skip_modules": HEAD_MODULES, "scope": "pretrained base frozen in 4-bit; adapters and head full precision"}


def bnb_config(block: dict[str, Any]):
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=block["quant_type"],
                              bnb_4bit_use_double_quant=block["double_quant"],
                              bnb_4bit_compute_dtype=getattr(torch, block["compute_dtype"]),
                              llm_int8_skip_modules=block["skip_modules"])


def load_base(model_path: str, labels: list[str], block: dict[str, Any], device: torch.device) -> torch.nn.Module:
    """The pretrained model in 4-bit with a new full-precision head."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        resolve_model_path(model_path), quantization_config=bnb_config(block), device_map={"": str(device)},
        dtype=torch.float32, **label_kwargs(labels))


def lora_config(recipe: Recipe):
    from peft import LoraConfig, TaskType

    ft = recipe.finetuning
    if ft.finetuning_type != "lora":
        raise RecipeError(f"{recipe.path}: QLoRA needs finetuning_type: lora (got {ft.finetuning_type!r})")
    if ft.lora_target == ["all"]:
        raise RecipeError(f"{recipe.path}: name the LoRA modules in lora_target (e.g. query,key,value,dense); "
                          "'all' is LLaMA-Factory's shortcut for causal LMs")
    # SEQ_CLS makes PEFT train and save the head (classifier / score) in full.
    return LoraConfig(task_type=TaskType.SEQ_CLS, r=ft.lora_rank, lora_alpha=ft.lora_alpha,
                      lora_dropout=ft.lora_dropout, target_modules=ft.lora_target,
                      modules_to_save=ft.additional_target)


def train(recipe: Recipe) -> Path:
    from peft import get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoTokenizer, set_seed

    args, data = recipe.training, recipe.data
    out = Path(args.output_dir)
    set_seed(args.seed)
    block = quantization_block(recipe)
    peft_config = lora_config(recipe)
    train_split, eval_split = load_splits(recipe)
    labels = train_split.label_names

    base_path = recipe.raw["model_name_or_path"]
    tokenizer = AutoTokenizer.from_pretrained(recipe.model.model_name_or_path)
    device = torch.device("cpu" if args.use_cpu or not torch.cuda.is_available() else "cuda")
    model = load_base(base_path, labels, block, device)
    ensure_pad_token(tokenizer, model)
    # Freezes the 4-bit base, casts the remaining (head, norms) weights to FP32.
    model = prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=not recipe.model.disable_gradient_checkpointing)
    model = get_peft_model(model, peft_config)
    parameters = count_parameters(model)
    print(f"trainable parameters: {parameters['trainable']:,} of {parameters['total']:,} "
          f"({parameters['trainable_pct']:.2f}%)")

    trainer = make_trainer(recipe, model, tokenizer, train_split, eval_split)
    training = run_training(trainer, out)
    model.save_pretrained(out)  # adapter_model.safetensors: LoRA weights + the head
    copy_tokenizer(recipe.model.model_name_or_path, out)
    eval_metrics = trainer.evaluate() if eval_split else {}
    write_manifest(
        out, method="qlora", variant=recipe.glue.variant, loader="glue.qlora:load", labels=labels,
        max_length=data.cutoff_len,
        base_model=base_path, model_tag=recipe.glue.model_tag, dataset=recipe.dataset_name,
        recipe_path=str(recipe.path), recipe=recipe.raw, quantization=block,
        lora={"r": peft_config.r, "alpha": peft_config.lora_alpha, "dropout": peft_config.lora_dropout,
              "target_modules": sorted(peft_config.target_modules)},
        data_sha256={"train": train_split.sha256, "eval": eval_split.sha256 if eval_split else None},
        training={**training, "validation": eval_metrics, "parameters": parameters},
        provenance=provenance(seed=args.seed),
    )
    remove_checkpoints(out)
    print(f"saved {out} in {training['wall_time_s'] / 60:.1f} min; validation {json.dumps(eval_metrics)}")
    return out


def load(path: Path, manifest: dict[str, Any], device: torch.device) -> Variant:
    """Loader named in variant.json: NF4 base rebuilt from the base model, plus adapter and head."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    base = load_base(manifest["base_model"], manifest["labels"], manifest["quantization"], device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    ensure_pad_token(tokenizer, base)
    model = PeftModel.from_pretrained(base, path).eval()
    return Variant(path, model, tokenizer, manifest["labels"], manifest, manifest.get("max_length", 128), device)


def main(argv: list[str] | None = None) -> None:
    run_cli(argv, __doc__, ("qlora",), train)


if __name__ == "__main__":
    main()
