"""QAT's distillation loss by hand, and the trainer that uses it: it trains on the teacher's
predictions, never on the labels, and leaves the teacher untouched."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, TrainingArguments

from glue.train.distill import DistillingTrainer, distillation_loss


def test_distillation_loss_by_hand() -> None:
    teacher = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    student = torch.tensor([[math.log(3.0), 0.0], [1.0, 2.0]])
    # Row 1: teacher (1/2, 1/2), student (3/4, 1/4): KL = 1/2 ln(2/3) + 1/2 ln(2) = 1/2 ln(4/3).
    # Row 2: the same logits, 0. The batch mean halves the sum.
    assert distillation_loss(student, teacher).item() == pytest.approx(0.5 * math.log(4 / 3) / 2)


def test_logits_that_give_the_teachers_probabilities_cost_nothing() -> None:
    teacher = torch.tensor([[0.3, -1.2, 2.0]])
    assert distillation_loss(teacher + 5.0, teacher).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_loss(teacher.flip(-1), teacher).item() > 0.1


@pytest.fixture(scope="module")
def tiny_classifier() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3)
    return BertForSequenceClassification(config).eval()


def test_the_trainer_learns_the_teacher_and_never_reads_the_labels(tiny_classifier, tmp_path) -> None:
    teacher = copy.deepcopy(tiny_classifier).train()
    student = copy.deepcopy(tiny_classifier)
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    trainer = DistillingTrainer(model=student, args=args, teacher=teacher)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())

    batch = {"input_ids": torch.randint(0, 50, (4, 7)), "attention_mask": torch.ones(4, 7, dtype=torch.long)}
    student.eval()  # no dropout: the student is the teacher, so nothing is left to learn
    assert trainer.compute_loss(student, {**batch, "labels": torch.tensor([0, 1, 2, 0])}).item() == pytest.approx(
        0.0, abs=1e-6)

    with torch.no_grad():
        student.classifier.bias.add_(torch.tensor([1.0, 0.0, -1.0]))
    losses = [trainer.compute_loss(student, {**batch, "labels": labels}).item()
              for labels in (torch.tensor([0, 0, 0, 0]), torch.tensor([2, 1, 2, 1]))]
    assert losses[0] > 0.01 and losses[0] == losses[1]
