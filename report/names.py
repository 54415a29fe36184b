"""Reader names for what the code calls by identifiers. A hand-in says "static PTQ, compiled
graph", never ``ptq_pt2e``; the identifiers appear only in the hand-in's last table, which
maps each one used in the document to the words that replace it. Variant names come from the
method registry (report.methods), the one place each method names its variants."""
from __future__ import annotations

import re

from report import methods

# Library identifiers the result files use in their descriptions -> reader words.
TERMS = {
    "FakeQuantize(MovingAveragePerChannelMinMaxObserver)": "fake quantizer with a moving-average per-channel min/max observer",
    "FakeQuantize(MovingAverageMinMaxObserver)": "fake quantizer with a moving-average min/max observer",
    "FusedMovingAvgObsFakeQuantize": "fused moving-average fake quantizers",
    "PerChannelMinMaxObserver": "per-channel min/max observer",
    "(float_qparams)": "",
    "float_qparams": "float scale and offset",
    "torch._int_mm": "the integer matrix multiply",
    "quint8": "uint8",
    "qint8": "int8",
    "Linear8bitLt": "Linear (8-bit)",
    "Linear4bit": "Linear (4-bit)",
    "Int8Linear": "Linear (int8)",
    "LlamaRMSNorm": "RMSNorm",
    "backend: x86": "kernels: x86",
    "lm_head": "language-model head",
}
_TERM_PATTERN = re.compile("|".join(re.escape(t) for t in sorted(TERMS, key=len, reverse=True)))
_SPLIT = re.compile(r"\b[a-z][a-z0-9-]*_(train|validation|test)\b")
SPLITS = {"train": "training", "validation": "validation", "test": "test"}
_FILE = re.compile(r"\b([A-Za-z][\w-]*)\.(csv|tsv|txt|jsonl?|parquet)\b")


def variant(name: str) -> str:
    """``variant("scratch_int8_intmm")`` -> "own INT8, integer matmul"; unknown names pass through
    with underscores as spaces (a new dataset's own variant still reads as words)."""
    return methods.title(name) or name.replace("_", " ")


def epochs(value: float | None) -> str:
    """``2.0`` -> "2 epochs", ``1`` -> "1 epoch", ``0.97`` -> "0.97 epochs"."""
    if value is None:
        return "an unrecorded number of epochs"
    return f"{value:g} epoch" + ("" if float(value) == 1 else "s")


def capital(text: str) -> str:
    """``text`` starting a sentence: "dynamic PTQ is ..." -> "Dynamic PTQ is ..." (the rest untouched)."""
    return text[:1].upper() + text[1:]


def words(text: str) -> str:
    """A library description with its identifiers replaced by reader words."""
    text = _SPLIT.sub(lambda m: SPLITS[m.group(1)], text)
    text = _FILE.sub(lambda m: f"the {m.group(1)} file", _TERM_PATTERN.sub(lambda m: TERMS[m.group(0)], text))
    return re.sub(r"\s+,", ",", re.sub(r"\s{2,}", " ", text)).strip()


def glossary(variants: list[str], texts: list[str]) -> list[tuple[str, str]]:
    """(identifier, reader name) for the variants a document shows, then the library terms its
    source texts used before ``words`` replaced them."""
    rows = [(v, variant(v)) for v in variants]
    used = {m.group(0) for text in texts for m in _TERM_PATTERN.finditer(text)}
    return rows + [(t, w) for t, w in TERMS.items() if t in used and w]
