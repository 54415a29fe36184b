"""What each compression method is, for the report: each variant's name for readers, the method's
paragraph and the data it needs, all read from the method registry (glue.quant.facts), where each
method states them.

These describe techniques, not results. Exactly what a run quantized comes from each result's
``quantization`` block; a method the registry does not know is shown with that block alone.
"""
from __future__ import annotations

import functools
from typing import Any

from glue.quant import DataNeed, MethodFacts, get_method, method_facts, methods, variant_titles, variants

# The data a method needs, in the decision table's words ("none" decides "no training data").
DATA_WORDS = {DataNeed.NONE: "none", DataNeed.CALIBRATION: "unlabelled calibration texts",
              DataNeed.VALIDATION: "calibration texts and labelled validation data",
              DataNeed.TRAINING: "labelled training data"}


def _lookup(method: str) -> MethodFacts | None:
    """The method named ``method`` or by its longest prefix (``qlora_sft_smollm2`` is ``qlora_sft``)."""
    known = method_facts()
    matches = [k for k in known if method == k or method.startswith(k + "_")]
    return known[max(matches, key=len)] if matches else None


def describe(method: str) -> str | None:
    found = _lookup(method)
    return found.description if found else None


@functools.cache
def _titles() -> dict[str, str]:
    return variant_titles()


def title(variant: str) -> str | None:
    """The registry's reader name for ``variant`` or its longest known prefix (``qlora_sft_smollm2``
    reads as ``qlora_sft``), or None for a name it does not know."""
    known = _titles()
    matches = [k for k in known if variant == k or variant.startswith(k + "_")]
    return known[max(matches, key=len)] if matches else None


def data_needs(method: str, config: dict[str, Any] | None = None) -> str | None:
    """What a run of ``method`` with ``config`` (the result's quantization config) needed: the
    method's own need, unless an option changes it (SmoothQuant makes ptq_dynamic read texts)."""
    found = _lookup(method)
    if found is None:
        return None
    return DATA_WORDS[get_method(found.name).data_for(config or {}) if found.name in methods() else found.data]


@functools.cache
def _variant_names() -> frozenset[str]:
    return frozenset(variants()) | frozenset(method_facts())


def variant(name: str) -> str:
    """``name``, checked against the registry's variants (and the baseline): a paragraph that
    compares variants by name stops here when a recipe is renamed, instead of going silent."""
    if name not in _variant_names():
        raise KeyError(f"{name!r} is no variant of the method registry; known: {', '.join(sorted(_variant_names()))}")
    return name
