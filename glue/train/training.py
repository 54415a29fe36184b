"""Training helpers shared by every training path (the seq_cls stage and QAT): the Hugging Face
Trainer with per-batch padding and macro-F1, parameter counts, and the manifest's training block.
They live here, below both, so that neither imports the other."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from core.memory import PeakMemory
from data_prep.prepared import Split
from glue.train.data import EncodedSplit
from glue.train.selection import selection


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


def parameter_block(total: int | None, trainable: int) -> dict[str, float | None]:
    """A manifest's ``training.parameters``; the share is unknown where the total is."""
    return {"total": total, "trainable": trainable,
            "trainable_pct": round(100 * trainable / total, 4) if total else None}


def count_parameters(model: torch.nn.Module) -> dict[str, float | None]:
    total = sum(logical_numel(p) for p in model.parameters())
    trainable = sum(logical_numel(p) for p in model.parameters() if p.requires_grad)
    return parameter_block(total, trainable)


def make_trainer(model: torch.nn.Module, args: Any, tokenizer, train_split: Split, eval_split: Split | None,
                 max_length: int, callbacks: list | None = None, teacher: torch.nn.Module | None = None):
    """The HF Trainer every classifier job uses: per-batch padding, macro-F1 on the eval split; with
    a ``teacher``, trained on that model's predicted distribution instead of the labels
    (glue.train.distill)."""
    from transformers import DataCollatorWithPadding, Trainer

    trainer_class, extra = Trainer, {}
    if teacher is not None:
        from glue.train.distill import DistillingTrainer

        trainer_class, extra = DistillingTrainer, {"teacher": teacher}
    return trainer_class(
        model=model, args=args, processing_class=tokenizer, **extra,
        train_dataset=EncodedSplit(train_split, tokenizer, max_length),
        eval_dataset=EncodedSplit(eval_split, tokenizer, max_length) if eval_split else None,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics, callbacks=callbacks,
    )


def train_with_stats(trainer, resume_from: str | None) -> dict[str, Any]:
    """Train (resuming from ``resume_from`` when given) and return the manifest's training block, with
    the kept step and why (glue.train.selection); callers add what they know (validation metrics,
    parameter counts)."""
    start = time.perf_counter()
    with PeakMemory() as memory:
        result = trainer.train(resume_from_checkpoint=resume_from)
    wall_s = time.perf_counter() - start
    steps = max(result.global_step, 1)
    stats = {"wall_time_s": round(wall_s, 1), "s_per_step": round(wall_s / steps, 3), "resumed_from": resume_from,
             "train_loss": result.training_loss, "global_steps": result.global_step,
             "epochs": round(trainer.state.epoch or 0.0, 2), "train_examples": len(trainer.train_dataset),
             "peak_memory": memory.as_dict(), "log_history": trainer.state.log_history,
             "selection": selection(trainer.state, trainer.args, trainer.eval_dataset is not None)}
    # A callback that records the run across resumes (seqcls.checkpoints.RunRecord) gives the whole
    # run's statistics, not only this process's part of it.
    record = next((cb for cb in trainer.callback_handler.callbacks if hasattr(cb, "whole_run")), None)
    if record is not None:
        stats.update(record.whole_run(trainer.state))
    return stats
