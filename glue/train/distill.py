"""Distillation for QAT's fine-tune: the fake-quantized student learns to give the FP32 model's
class distribution on each batch instead of the train labels. A fine-tune on labels re-learns
the task and moves predictions the FP32 model got right; matching the FP32 model only adapts the
weights to int8 rounding, which is what QAT is for (as TernaryBERT and BinaryBERT train their
quantized students, and Hinton et al. 2015 for the loss).

Only imported when a recipe asks for it: it subclasses the Hugging Face Trainer."""
from __future__ import annotations

from typing import Any

import torch
from transformers import Trainer


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) between the two softmax distributions over the classes, summed
    over the classes and averaged over the batch: zero exactly when the student's logits give the
    teacher's probabilities."""
    return torch.nn.functional.kl_div(torch.log_softmax(student, dim=-1), torch.log_softmax(teacher, dim=-1),
                                      reduction="batchmean", log_target=True)


class DistillingTrainer(Trainer):
    """The Trainer with :func:`distillation_loss` against ``teacher`` (frozen, in eval mode, run
    without gradients on the same batch); the batch's labels are not read."""

    def __init__(self, *args: Any, teacher: torch.nn.Module, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teacher = teacher.eval().requires_grad_(False)

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        features = {key: value for key, value in inputs.items() if key != "labels"}
        outputs = model(**features)
        with torch.no_grad():
            target = self.teacher(**features).logits
        loss = distillation_loss(outputs.logits, target)
        return (loss, outputs) if return_outputs else loss
