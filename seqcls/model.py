"""Build the classifier a seq_cls recipe describes, from LLaMA-Factory's own keys:
``model_name_or_path``; ``quantization_bit`` / ``quantization_type`` / ``double_quantization``
(bitsandbytes, loaded frozen for QLoRA); ``finetuning_type`` full, freeze
(``freeze_trainable_layers``) or lora (``lora_rank``, ``lora_alpha``, ``lora_dropout``,
``lora_target``, ``additional_target``). The classification head is always new, trainable, full
precision and saved."""
from __future__ import annotations

from typing import Any

import torch

from glue.quant.base import DEFAULT_SKIP, SHARED_INPUTS
from glue.quant.bnb import BnbConfig, kept_linears
from glue.schema.recipe import RecipeError
from glue.train.data import ensure_pad_token


def label_kwargs(labels: list[str]) -> dict[str, Any]:
    """from_pretrained arguments giving a classifier its label names."""
    return {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)}}


def head_modules(model_path: str, labels: list[str]) -> list[str]:
    """Full names of the Linear layers kept in full precision (head, pooler), found on a weightless
    copy of the model: transformers matches ``llm_int8_skip_modules`` by prefix or suffix only, so
    a short name like "pooler" would not reach ``bert.pooler.dense``."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(model_path, **label_kwargs(labels))
    with torch.device("meta"):
        skeleton = AutoModelForSequenceClassification.from_config(config)
    return kept_linears(skeleton, BnbConfig(skip_modules=list(DEFAULT_SKIP)))


def bnb_block(model_args: Any) -> BnbConfig | None:
    """LLaMA-Factory's quantization keys as the one bitsandbytes config of this project."""
    if model_args.quantization_bit is None:
        return None
    dtype = str(model_args.compute_dtype or torch.float32).replace("torch.", "")
    config = BnbConfig.from_recipe({"compute_dtype": dtype}, model_args)
    return config


def load_classifier(model_path: str, labels: list[str], quant: BnbConfig | None,
                    device: torch.device) -> torch.nn.Module:
    """The pretrained body with a new head for ``labels``; body in 4/8 bits when ``quant`` says so."""
    from transformers import AutoModelForSequenceClassification

    extra: dict[str, Any] = {}
    if quant is not None:
        extra = {"quantization_config": quant.hf_config(head_modules(model_path, labels)),
                 "device_map": {"": str(device)}}
    return AutoModelForSequenceClassification.from_pretrained(model_path, dtype=torch.float32,
                                                              **label_kwargs(labels), **extra)


def layer_stack(model: torch.nn.Module) -> tuple[str, torch.nn.ModuleList]:
    """The transformer's repeated blocks: the longest ModuleList (BERT ``encoder.layer``, GPT-2 ``h``,
    Llama ``layers``)."""
    lists = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.ModuleList)]
    if not lists:
        raise RecipeError("finetuning_type freeze: this model has no stack of transformer layers to freeze")
    return max(lists, key=lambda item: len(item[1]))


def freeze(model: torch.nn.Module, trainable_layers: int, extra_modules: list[str] | None) -> dict[str, Any]:
    """LLaMA-Factory's freeze tuning for a classifier: the shared input tables (embeddings, MPNet's
    relative-attention bias) and the layers outside
    ``freeze_trainable_layers`` (positive: the last n, negative: the first n) are frozen; the chosen
    layers, the modules after the stack (final norm, pooler, head) and ``freeze_extra_modules`` train."""
    stack_name, stack = layer_stack(model)
    n = len(stack)
    if trainable_layers == 0 or abs(trainable_layers) > n:
        raise RecipeError(f"freeze_trainable_layers {trainable_layers}: this model has {n} layers; "
                          f"use 1..{n} (last n layers train) or -1..-{n} (first n)")
    chosen = range(n - trainable_layers, n) if trainable_layers > 0 else range(-trainable_layers)
    trainable_prefixes = tuple(f"{stack_name}.{i}." for i in chosen)
    extra = extra_modules or []
    for name, param in model.named_parameters():
        in_stack = name.startswith(f"{stack_name}.")
        is_embedding = not in_stack and bool(SHARED_INPUTS.search(name))
        param.requires_grad_(name.startswith(trainable_prefixes) or (not in_stack and not is_embedding)
                             or any(e in name.split(".") for e in extra))
    return {"layers": n, "trainable_layers": list(chosen), "extra_modules": extra}


def lora_targets(model: torch.nn.Module, targets: list[str]) -> list[str]:
    """``lora_target: all`` means every Linear of the body (LLaMA-Factory's meaning), never the head."""
    if targets != ["all"]:
        return targets
    from transformers.pytorch_utils import Conv1D  # GPT-2's linear layers

    heads = set(DEFAULT_SKIP)
    names = {name.split(".")[-1] for name, m in model.named_modules()
             if isinstance(m, (torch.nn.Linear, Conv1D)) and not heads & set(name.split("."))}
    return sorted(names)


def apply_lora(model: torch.nn.Module, finetuning_args: Any, quantized: bool, gradient_checkpointing: bool):
    """PEFT LoRA on the body; TaskType.SEQ_CLS trains and saves the head in full."""
    from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training

    ft = finetuning_args
    targets = lora_targets(model, ft.lora_target)
    names = [name for name, _ in model.named_modules()]
    present = {name.split(".")[-1] for name in names}
    # PEFT matches a target as a name suffix, so dotted targets (MPNet's "output.dense") work too.
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        raise RecipeError(f"lora_target {','.join(missing)}: no such module in this model; its modules include "
                          f"{', '.join(sorted(n for n in present if n)[:12])}, ... (or use lora_target: all)")
    if quantized:  # freezes the 4/8-bit body, casts the rest (head, norms) to FP32
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=ft.lora_rank, lora_alpha=ft.lora_alpha or 2 * ft.lora_rank,
                        lora_dropout=ft.lora_dropout, target_modules=targets, modules_to_save=ft.additional_target)
    return get_peft_model(model, config), config


def build(model_path: str, tokenizer, labels: list[str], model_args: Any, finetuning_args: Any,
          device: torch.device) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model ready to train, plus what the manifest records about how it was set up."""
    quant = bnb_block(model_args)
    kind = finetuning_args.finetuning_type
    if quant is not None and kind != "lora":
        raise RecipeError(f"quantization_bit {model_args.quantization_bit}: a quantized body is frozen, so it "
                          "needs finetuning_type: lora (QLoRA); remove quantization_bit for full fine-tuning")
    if kind not in ("full", "freeze", "lora"):
        raise RecipeError(f"finetuning_type {kind!r}: stage seq_cls supports full, freeze and lora")
    model = load_classifier(model_path, labels, quant, device)
    ensure_pad_token(tokenizer, model)
    setup: dict[str, Any] = {"finetuning_type": kind, "quant": quant}
    if kind == "freeze":
        setup["freeze"] = freeze(model, finetuning_args.freeze_trainable_layers, finetuning_args.freeze_extra_modules)
    elif kind == "lora":
        model, lora = apply_lora(model, finetuning_args, quant is not None,
                                 not model_args.disable_gradient_checkpointing)
        setup["lora"] = {"r": lora.r, "alpha": lora.lora_alpha, "dropout": lora.lora_dropout,
                         "target_modules": sorted(lora.target_modules)}
    return model, setup
