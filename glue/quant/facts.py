"""What a method is, apart from how it runs: the facts the reports, the Makefile's variant lists
and the loader read. Plain data (no torch), so every reader can hold them."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping


class DataNeed(str, Enum):
    """What a method reads beyond the fine-tuned model."""

    NONE = "none"
    CALIBRATION = "calibration"  # a sample of unlabelled train texts
    VALIDATION = "validation"    # calibration texts and labelled validation examples (a tuning budget's score)
    TRAINING = "training"        # labelled train examples, to fine-tune


@dataclass(frozen=True)
class MethodFacts:
    name: str                    # as in recipes (``method:``) and manifests
    title: str                   # the name a reader sees in the reports, for the method and its variants
    description: str             # one paragraph for the reports' method section: the technique, not results
    data: DataNeed
    devices: tuple[str, ...]     # where its models run
    families: tuple[str, ...]    # the model families whose track builds it ("encoder", "decoder")
    # A method with several variants (recipes) names each one: variant -> the reader's name for it.
    variant_titles: Mapping[str, str] = field(default_factory=dict)

    def variant_title(self, variant: str) -> str:
        """The reader's name for ``variant`` of this method: its own, or the method's."""
        return self.variant_titles.get(variant, self.title)
