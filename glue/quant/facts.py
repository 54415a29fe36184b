"""What a method is, apart from how it runs: the facts the reports, the Makefile's variant lists
and the loader read. Plain data (no torch), so every reader can hold them."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DataNeed(str, Enum):
    """What a method reads beyond the fine-tuned model."""

    NONE = "none"
    CALIBRATION = "calibration"  # a sample of unlabelled train texts
    VALIDATION = "validation"    # calibration texts and labelled validation examples (a tuning budget's score)
    TRAINING = "training"        # labelled train examples, to fine-tune


@dataclass(frozen=True)
class MethodFacts:
    name: str                    # as in recipes (``method:``) and manifests
    title: str                   # the name a reader sees in the reports
    description: str             # one paragraph for the reports' method section: the technique, not results
    data: DataNeed
    devices: tuple[str, ...]     # where its models run
    families: tuple[str, ...]    # the model families whose track builds it ("encoder", "decoder")
