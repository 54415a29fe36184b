"""Fine-tune a sequence classifier from a recipe (the FP32/FP16 baselines).

    python -m glue.train recipes/emotion/baseline_minilm.yaml [key=value ...]

Uses the Hugging Face Trainer, so ``accelerate launch`` / ``torchrun`` work unchanged. An
interrupted run resumes from the last checkpoint in ``output_dir``; a finished one (its
``variant.json`` exists) is left alone unless ``--force`` is given.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from data_prep.common import DataError
from data_prep.prepared import Split, check_same_labels, load_split
from glue.data import EncodedSplit, ensure_pad_token
from glue.provenance import PeakMemory, provenance
from glue.recipe import Recipe, RecipeError, load_recipe
from glue.variant import MANIFEST, write_manifest


def compute_metrics(eval_pred) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred
    preds = np.argmax(logits, axis=-1)
    return {"macro_f1": f1_score(labels, preds, average="macro"), "accuracy": accuracy_score(labels, preds)}


def logical_numel(param: torch.Tensor) -> int:
    """Weights a parameter stands for: a bitsandbytes 4-bit tensor packs two per byte, and its
    ``quant_state`` keeps the real shape."""
    quant_state = getattr(param, "quant_state", None)
    return int(np.prod(quant_state.shape)) if quant_state is not None else param.numel()


def count_parameters(model: torch.nn.Module) -> dict[str, float]:
    total = sum(logical_numel(p) for p in model.parameters())
    trainable = sum(logical_numel(p) for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "trainable_pct": round(100 * trainable / total, 4)}


def load_splits(recipe: Recipe) -> tuple[Split, Split | None]:
    """The recipe's train split (first ``max_train_samples``) and optional eval split."""
    data = recipe.data
    train_split = load_split(data.dataset_dir, data.dataset[0], recipe.glue.max_train_samples)
    eval_split = load_split(data.dataset_dir, data.eval_dataset[0]) if data.eval_dataset else None
    if eval_split is not None:
        check_same_labels(train_split, eval_split)
    return train_split, eval_split


def label_kwargs(labels: list[str]) -> dict[str, object]:
    """from_pretrained arguments giving a classifier its label names."""
    return {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)}}


def make_trainer(recipe: Recipe, model: torch.nn.Module, tokenizer, train_split: Split,
                 eval_split: Split | None):
    """The HF Trainer every classifier job uses: per-batch padding, macro-F1 on the eval split."""
    from transformers import DataCollatorWithPadding, Trainer

    cutoff = recipe.data.cutoff_len
    return Trainer(
        model=model, args=recipe.training, processing_class=tokenizer,
        train_dataset=EncodedSplit(train_split, tokenizer, cutoff),
        eval_dataset=EncodedSplit(eval_split, tokenizer, cutoff) if eval_split else None,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=recipe.glue.pad_to_multiple_of),
        compute_metrics=compute_metrics,
    )


def run_training(trainer, out: Path) -> dict[str, object]:
    """Train (resuming from the last checkpoint in ``out``) and return the manifest's training
    block; callers add what they know (validation metrics, parameter counts)."""
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    if last:
        print(f"resuming from {last}")
    start = time.perf_counter()
    with PeakMemory() as memory:
        result = trainer.train(resume_from_checkpoint=last)
    wall_s = time.perf_counter() - start
    steps = max(result.global_step, 1)
    return {"wall_time_s": round(wall_s, 1), "s_per_step": round(wall_s / steps, 3), "resumed_from": last,
            "train_loss": result.training_loss, "global_steps": result.global_step,
            "epochs": trainer.args.num_train_epochs, "train_examples": len(trainer.train_dataset),
            "peak_memory": memory.as_dict(), "log_history": trainer.state.log_history}


def remove_checkpoints(out: Path) -> None:
    """The finished model supersedes the Trainer's checkpoints (and its pickled training args)."""
    (out / "training_args.bin").unlink(missing_ok=True)
    for ckpt in out.glob("checkpoint-*"):
        shutil.rmtree(ckpt, ignore_errors=True)


def train(recipe: Recipe) -> Path:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    args, data = recipe.training, recipe.data
    out = Path(args.output_dir)
    set_seed(args.seed)
    train_split, eval_split = load_splits(recipe)
    labels = train_split.label_names

    tokenizer = AutoTokenizer.from_pretrained(recipe.model.model_name_or_path)
    model = AutoModelForSequenceClassification.from_pretrained(recipe.model.model_name_or_path,
                                                               **label_kwargs(labels))
    ensure_pad_token(tokenizer, model)

    trainer = make_trainer(recipe, model, tokenizer, train_split, eval_split)
    training = run_training(trainer, out)
    trainer.save_model(str(out))  # safetensors + config + tokenizer
    eval_metrics = trainer.evaluate() if eval_split else {}
    write_manifest(
        out, method="baseline", loader="glue.variant:load_hf_classifier", labels=labels,
        max_length=data.cutoff_len, fp16_inference=bool(args.fp16),
        base_model=recipe.raw.get("model_name_or_path"), model_tag=recipe.glue.model_tag,
        dataset=recipe.dataset_name, recipe_path=str(recipe.path), recipe=recipe.raw,
        data_sha256={"train": train_split.sha256, "eval": eval_split.sha256 if eval_split else None},
        training={**training, "validation": eval_metrics, "parameters": count_parameters(model)},
        provenance=provenance(seed=args.seed),
    )
    remove_checkpoints(out)
    print(f"saved {out} in {training['wall_time_s'] / 60:.1f} min; validation {json.dumps(eval_metrics)}")
    return out


def run_cli(argv: list[str] | None, doc: str, methods: tuple[str, ...], job: Callable[[Recipe], Path]) -> None:
    """``python -m glue.<job> RECIPE [key=value ...] [--force]``: skip a finished output folder,
    turn recipe and data problems into ``error: ...``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("overrides", nargs="*", help="key=value pairs overriding the recipe")
    parser.add_argument("--force", action="store_true", help="retrain even if the output folder is complete")
    cli = parser.parse_args(argv)
    try:
        recipe = load_recipe(cli.recipe, cli.overrides)
        if recipe.glue.method not in methods:
            raise RecipeError(f"{cli.recipe}: method {recipe.glue.method!r} is not trained by this job "
                              f"(it trains {', '.join(methods)})")
        if (recipe.training.fp16 or recipe.training.bf16) and not torch.cuda.is_available():
            raise RecipeError(f"{cli.recipe}: fp16/bf16 mixed precision needs a CUDA GPU and none is visible; "
                              "run on a GPU, or override fp16=false bf16=false to train in FP32 on the CPU")
        out = Path(recipe.training.output_dir)
        if (out / MANIFEST).is_file() and not cli.force:
            print(f"{out} is complete; pass --force to retrain")
            return
        if cli.force and out.exists():
            shutil.rmtree(out)
        job(recipe)
    except (RecipeError, DataError) as err:
        raise SystemExit(f"error: {err}") from None


def main(argv: list[str] | None = None) -> None:
    run_cli(argv, __doc__, ("baseline",), train)


if __name__ == "__main__":
    main()
