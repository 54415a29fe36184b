"""Text-generation metrics against SummEval's expert judgements (Fabbri et al. 2021).

    python -m eval.summeval --data ../shared/data/summeval --out results/metrics/summeval.json

Scores each of the 1,600 summaries (100 CNN/DailyMail articles x 16 systems) with ROUGE-1/2/L,
sentence BLEU and BERTScore against the 11 references, a reference-free source similarity, and
this project's source-grounded metric, then correlates every metric with the mean of the three
expert ratings by the published protocol: per article over its 16 summaries, averaged over the
articles (summary level), and over the 16 systems' mean scores (system level), each with a
bootstrap interval over articles. The JSON it writes holds the per-summary scores and every
correlation, so the metrics essay renders from it alone.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import sys
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.stats import kendalltau, rankdata

from core.errors import ProjectError
from core.io import atomic_write_json, sha256_file
from core.paths import portable
from core.provenance import provenance


class SummEvalError(ProjectError):
    """The SummEval files or the scores file are not what this study reads."""

DATA_FILE = "summeval_1600_combined.jsonl"
DIMENSIONS = ("coherence", "consistency", "fluency", "relevance")
SMOLLM2 = "outputs/base_models/smollm2-135m"
BERTSCORE_LAYER = 5           # of MiniLM's 6, as in the essay's worked example
DEV_DOCUMENTS = 50            # the own metric's design was chosen on the first 50 articles only
RESAMPLES = 1000
SEED = 0
SOURCE_PROMPT = "\n\nSummary:"


@dataclass(frozen=True)
class Summary:
    document: str
    system: str
    text: str
    references: tuple[str, ...]
    source: str
    human: dict[str, float]


def load(data_dir: Path) -> list[list[Summary]]:
    """The summaries grouped by article in file order; every article must have the same systems."""
    path = Path(data_dir) / DATA_FILE
    if not path.is_file():
        raise SummEvalError(f"{path}: not found; pass --data the SummEval folder that holds {DATA_FILE}")
    groups: dict[str, list[Summary]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        for key in ("id", "model_id", "decoded", "references", "text", "expert_mean"):
            if key not in row:
                raise SummEvalError(f"{path}: line {number} has no key {key!r}; use the SummEval file described "
                                  "in its SOURCES.md")
        human = {d: float(row["expert_mean"][d]) for d in DIMENSIONS}
        groups.setdefault(row["id"], []).append(Summary(row["id"], row["model_id"], row["decoded"],
                                                        tuple(row["references"]), row["text"], human))
    systems = sorted(s.system for s in next(iter(groups.values())))
    for doc, group in groups.items():
        if sorted(s.system for s in group) != systems:
            raise SummEvalError(f"{path}: article {doc} has systems {sorted(s.system for s in group)}, the first "
                              f"article has {systems}; every article needs one summary per system")
    return [sorted(g, key=lambda s: s.system) for g in groups.values()]


# ---------------------------------------------------------------- text normalisation

_DETOK = [(re.compile(r" (['’]s|n't|'re|'ve|'ll|'d|'m)\b"), r"\1"), (re.compile(r" ([.,;:!?%)])"), r"\1"),
          (re.compile(r"([($]) "), r"\1"), (re.compile(r"`` ?| ?''"), '"')]


def plain(text: str) -> str:
    """Lower-cased, with the tokenised spacing some systems emit ("team 's ." -> "team's.") undone, so
    that every system is compared in one form."""
    text = " ".join(text.split())
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text.lower()


def sentences(text: str) -> list[str]:
    """Sentences split after . ! ? followed by a space (enough for news text and these summaries)."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", plain(text))]
    return [p for p in parts if re.search(r"\w", p)]


# ---------------------------------------------------------------- reference-based metrics

def rouge_scores(summaries: list[Summary]) -> dict[str, np.ndarray]:
    """ROUGE-1/2/L F1 (rouge-score, Porter stemming), the best over the references."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    out = {k: np.zeros(len(summaries)) for k in ("rouge1", "rouge2", "rougeL")}
    for i, s in enumerate(summaries):
        scores = scorer.score_multi(list(s.references), s.text)
        for k in out:
            out[k][i] = scores[k].fmeasure
    return out


def bleu_scores(summaries: list[Summary]) -> tuple[np.ndarray, str]:
    """Sentence BLEU against all references at once (sacrebleu: 13a tokens, lower-cased,
    exponential smoothing, effective order) and the settings' signature."""
    from sacrebleu.metrics import BLEU

    metric = BLEU(lowercase=True, smooth_method="exp", effective_order=True)
    values = np.array([metric.sentence_score(s.text, list(s.references)).score for s in summaries])
    return values, str(metric.get_signature())


def bertscore_scores(summaries: list[Summary]) -> dict[str, np.ndarray]:
    """BERTScore P/R/F on the embedded MiniLM at BERTSCORE_LAYER, no idf, not rescaled (a linear
    rescaling changes no rank correlation); with several references bert-score keeps the best F."""
    from bert_score import BERTScorer

    from eval.text_metrics import MiniLM

    scorer = BERTScorer(model_type=MiniLM().folder, num_layers=BERTSCORE_LAYER, idf=False, batch_size=32)
    p, r, f = scorer.score([s.text for s in summaries], [list(s.references) for s in summaries])
    return {"bertscore_p": p.numpy(), "bertscore_r": r.numpy(), "bertscore_f": f.numpy()}


# ---------------------------------------------------------------- source-based metrics

class SourceEncoder:
    """MiniLM sentence vectors of a source and its summaries."""

    @cached_property
    def model(self):
        from eval.text_metrics import MiniLM

        return MiniLM()

    def vectors(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.model.sentence(t) for t in texts])

    def scores(self, group: list[Summary]) -> dict[str, np.ndarray]:
        """Per summary: ``source_sim``, the cosine of the summary vector with the mean source sentence
        vector; ``align``, the mean over summary sentences of their best cosine with a source sentence."""
        source = self.vectors(sentences(group[0].source))
        centre = source.mean(0) / np.linalg.norm(source.mean(0))
        sim, align = [], []
        for s in group:
            summ = self.vectors(sentences(s.text) or [plain(s.text) or "."])
            sim.append(float(self.vectors([plain(s.text)])[0] @ centre))
            align.append(float((summ @ source.T).max(1).mean()))
        return {"source_sim": np.array(sim), "align": np.array(align)}


class SourceLM:
    """Log-likelihood of a summary under the embedded SmolLM2-135M decoder, with the source article
    before it and without; the article is encoded once and its cache reused for all its summaries."""

    def __init__(self, folder: str = SMOLLM2) -> None:
        if not (Path(folder) / "config.json").is_file():
            raise SummEvalError(f"{folder}: no converted SmolLM2 model; build it with "
                              f"python -m data_prep.smollm2 --out {folder}")
        self.folder = folder

    @cached_property
    def _model(self):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(0)
        return (AutoTokenizer.from_pretrained(self.folder),
                AutoModelForCausalLM.from_pretrained(self.folder, dtype=torch.float32).eval())

    def _logprobs(self, prefix: str, texts: list[str]) -> list[np.ndarray]:
        """Per text: the log-probability of each of its tokens after ``prefix``. The prefix is run
        once; the texts then run as one right-padded batch on copies of its cache."""
        import torch

        tokenizer, model = self._model
        prefix_ids = tokenizer(prefix, return_tensors="pt").input_ids
        encoded = [tokenizer(" " + t).input_ids for t in texts]
        width = max(len(e) for e in encoded)
        ids = torch.zeros(len(texts), width, dtype=torch.long)
        mask = torch.zeros(len(texts), prefix_ids.shape[1] + width, dtype=torch.long)
        mask[:, :prefix_ids.shape[1]] = 1
        for i, e in enumerate(encoded):
            ids[i, :len(e)] = torch.tensor(e)
            mask[i, prefix_ids.shape[1]:prefix_ids.shape[1] + len(e)] = 1
        with torch.inference_mode():
            out = model(prefix_ids, use_cache=True)
            cache = out.past_key_values
            cache.batch_repeat_interleave(len(texts))
            logits = model(ids, attention_mask=mask, past_key_values=cache, use_cache=False).logits
            logits = torch.cat([out.logits[:, -1:].expand(len(texts), 1, -1), logits[:, :-1]], 1)
            logp = torch.log_softmax(logits.float(), -1).gather(2, ids[:, :, None])[:, :, 0].numpy()
        return [logp[i, :len(e)] for i, e in enumerate(encoded)]

    def scores(self, group: list[Summary]) -> dict[str, np.ndarray]:
        """Per summary: mean token log-probability given the article (``lm_source``) and alone
        (``lm_alone``), and its token count."""
        texts = [plain(s.text) for s in group]
        given = self._logprobs(plain(group[0].source) + SOURCE_PROMPT, texts)
        alone = self._logprobs(SOURCE_PROMPT.strip(), texts)
        return {"lm_source": np.array([g.mean() for g in given]), "lm_alone": np.array([a.mean() for a in alone]),
                "tokens": np.array([len(g) for g in given], float)}


# ---------------------------------------------------------------- the own metric

# (weight on the log-likelihood without the source, weight on sentence alignment): the candidates
# for the own metric, grounded = lm_source - beta * lm_alone + w * align. One is chosen on the
# development articles alone.
DESIGNS = tuple((beta, w) for beta in (0.0, 0.25, 0.5, 0.75, 1.0) for w in (0.0, 1.0, 2.0, 4.0))


def grounded(scores: dict[str, np.ndarray], beta: float, weight: float) -> np.ndarray:
    """The own metric: how likely the summary is given its article, less ``beta`` times how likely
    it is without it (what the article adds), plus ``weight`` times its sentence alignment to the article."""
    return scores["lm_source"] - beta * scores["lm_alone"] + weight * scores["align"]


def choose_design(scores: dict[str, np.ndarray], human: dict[str, np.ndarray],
                  dev: slice) -> tuple[tuple[float, float], dict[str, float]]:
    """The design with the highest mean summary-level Spearman over the four dimensions on the
    ``dev`` articles, and every design's value there."""
    values = {}
    for beta, weight in DESIGNS:
        metric = grounded({k: v[dev] for k, v in scores.items()}, beta, weight)
        values[f"{beta}/{weight}"] = float(np.mean([np.nanmean(per_document(metric, human[d][dev])[0])
                                                    for d in DIMENSIONS]))
    best = max(DESIGNS, key=lambda bw: values[f"{bw[0]}/{bw[1]}"])
    return best, values


# ---------------------------------------------------------------- correlation protocol

def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of x with the same row of y (average ranks for ties); NaN for a
    row where either side is constant."""
    rx, ry = (rankdata(a, axis=1) for a in (x, y))
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    denom = np.sqrt((rx ** 2).sum(1) * (ry ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (rx * ry).sum(1) / np.where(denom > 0, denom, 1), np.nan)


def _kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row of x with the same row of y; NaN for a constant row."""
    return np.array([kendalltau(a, b).statistic if np.ptp(a) > 0 and np.ptp(b) > 0 else np.nan
                     for a, b in zip(x, y)])


def per_document(metric: np.ndarray, human: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per article (row): Spearman and Kendall correlation over its systems (columns)."""
    return _spearman_rows(metric, human), _kendall_rows(metric, human)


def system_level(metric: np.ndarray, human: np.ndarray) -> tuple[float, float]:
    """Spearman and Kendall correlation of the systems' mean scores over the articles."""
    m, h = metric.mean(0, keepdims=True), human.mean(0, keepdims=True)
    return float(_spearman_rows(m, h)[0]), float(_kendall_rows(m, h)[0])


def _interval(point: float, samples: np.ndarray) -> dict[str, float]:
    low, high = np.nanpercentile(samples, [2.5, 97.5])
    return {"point": point, "low": float(low), "high": float(high)}


def correlate(metric: np.ndarray, human: np.ndarray, resamples: int = RESAMPLES,
              seed: int = SEED) -> dict[str, dict[str, dict[str, float]]]:
    """Summary- and system-level Spearman and Kendall with 95% percentile intervals from
    ``resamples`` bootstrap resamples of the articles (the same resamples for every metric,
    given the same seed). Summary level averages over the articles whose correlation is defined."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(metric), (resamples, len(metric)))
    rho, tau = per_document(metric, human)
    out = {"summary": {}, "system": {}}
    with warnings.catch_warnings():  # a resample may hold only articles whose correlation is undefined
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, values in (("spearman", rho), ("kendall", tau)):
            out["summary"][name] = _interval(float(np.nanmean(values)), np.nanmean(values[draws], axis=1))
    boot = np.array([system_level(metric[d], human[d]) for d in draws])
    for i, (name, point) in enumerate(zip(("spearman", "kendall"), system_level(metric, human))):
        out["system"][name] = _interval(point, boot[:, i])
    out["summary"]["documents"] = int(np.isfinite(rho).sum())
    return out


# ---------------------------------------------------------------- the whole run

LABELS = {"rouge1": "ROUGE-1 F", "rouge2": "ROUGE-2 F", "rougeL": "ROUGE-L F", "bleu": "BLEU",
          "bertscore_p": "BERTScore P", "bertscore_r": "BERTScore R", "bertscore_f": "BERTScore F",
          "source_sim": "Source similarity", "lm_alone": "Likelihood alone", "lm_source": "Likelihood given source",
          "align": "Sentence alignment", "grounded": "Grounded likelihood (ours)"}
REFERENCE_BASED = ("rouge1", "rouge2", "rougeL", "bleu", "bertscore_p", "bertscore_r", "bertscore_f")


def score_all(documents: list[list[Summary]], cache: Path | None = None,
              progress: Callable[[str], None] = lambda _: None) -> tuple[dict[str, np.ndarray], str]:
    """Every metric on every summary, as (articles x systems) arrays, and BLEU's signature."""
    flat = [s for group in documents for s in group]
    shape = (len(documents), len(documents[0]))
    scores = {k: v.reshape(shape) for k, v in rouge_scores(flat).items()}
    bleu, signature = bleu_scores(flat)
    scores["bleu"] = bleu.reshape(shape)
    progress("ROUGE and BLEU done")
    scores |= {k: v.reshape(shape) for k, v in bertscore_scores(flat).items()}
    progress("BERTScore done")
    per_doc = source_scores(documents, cache, progress)
    scores |= {k: np.stack([np.array(d[k]) for d in per_doc]) for k in per_doc[0]}
    return scores, signature


def source_scores(documents: list[list[Summary]], cache: Path | None,
                  progress: Callable[[str], None]) -> list[dict[str, list[float]]]:
    """The source-based scores per article (the slow part: about half a minute per article on one
    core), kept in ``cache`` after each article so that an interrupted run resumes there. The cache
    is keyed by article and summary text and by the settings that change the scores."""
    from core.io import atomic_write_json

    key = {"lm": SMOLLM2, "prompt": SOURCE_PROMPT, "encoder": "all-MiniLM-L6-v2"}
    stored = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    articles = stored.get("articles", {}) if stored.get("settings") == key else {}
    lm, encoder = SourceLM(), SourceEncoder()
    out = []
    for i, group in enumerate(documents, 1):
        entry = articles.get(group[0].document)
        if entry is None or entry["texts"] != [s.text for s in group]:
            scores = lm.scores(group) | encoder.scores(group)
            entry = {"texts": [s.text for s in group]} | {k: v.tolist() for k, v in scores.items()}
            articles[group[0].document] = entry
            if cache:
                atomic_write_json(cache, {"settings": key, "articles": articles})
        out.append({k: v for k, v in entry.items() if k != "texts"})
        if i % 10 == 0:
            progress(f"source-based scores: {i}/{len(documents)} articles")
    return out


def splits(n: int) -> dict[str, slice]:
    """Development articles (the own metric's design was chosen on these), held-out test articles, all."""
    return {"dev": slice(0, min(DEV_DOCUMENTS, n)), "test": slice(min(DEV_DOCUMENTS, n), n), "all": slice(0, n)}


def correlate_average(metric: np.ndarray, human: dict[str, np.ndarray], resamples: int = RESAMPLES,
                      seed: int = SEED) -> dict[str, dict[str, float]]:
    """Summary-level Spearman and Kendall averaged over the four dimensions (the published
    "average" column), with an interval from the same article resamples as ``correlate``."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(metric), (resamples, len(metric)))
    per_dim = [per_document(metric, human[d]) for d in DIMENSIONS]
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, name in enumerate(("spearman", "kendall")):
            point = float(np.mean([np.nanmean(p[i]) for p in per_dim]))
            samples = np.mean([np.nanmean(p[i][draws], axis=1) for p in per_dim], axis=0)
            out[name] = _interval(point, samples)
    return out


def analyse(scores: dict[str, np.ndarray], human: dict[str, np.ndarray],
            resamples: int = RESAMPLES) -> dict[str, Any]:
    """The own metric's design (chosen on the development articles) and every metric's correlations per split."""
    n = len(human[DIMENSIONS[0]])
    parts = splits(n)
    (beta, weight), grid = choose_design(scores, human, parts["dev"])
    scores = scores | {"grounded": grounded(scores, beta, weight)}
    correlations = {split: {metric: {d: correlate(scores[metric][part], human[d][part], resamples)
                                     for d in DIMENSIONS}
                            | {"average": correlate_average(scores[metric][part],
                                                            {d: human[d][part] for d in DIMENSIONS}, resamples)}
                            for metric in LABELS}
                    for split, part in parts.items() if part.stop > part.start}
    return {"design": {"beta": beta, "align_weight": weight, "dev_mean_spearman": grid},
            "correlations": correlations, "scores": scores}


def run(data_dir: Path, out: Path, documents: int | None, resamples: int, cache: Path | None) -> dict[str, Any]:
    docs = load(data_dir)[:documents]
    scores, signature = score_all(docs, cache, lambda msg: print(msg, file=sys.stderr, flush=True))
    human = {d: np.array([[s.human[d] for s in g] for g in docs]) for d in DIMENSIONS}
    result = analyse(scores, human, resamples)
    versions = {p: importlib.metadata.version(p) for p in ("rouge-score", "sacrebleu", "bert-score")}
    payload = {
        "provenance": provenance(data=portable(Path(data_dir) / DATA_FILE),
                                 data_sha256=sha256_file(Path(data_dir) / DATA_FILE), metric_packages=versions),
        "settings": {"bleu_signature": signature, "bertscore_layer": BERTSCORE_LAYER, "bertscore_rescaled": False,
                     "bertscore_idf": False, "references": "best of the 11 per summary", "resamples": resamples,
                     "seed": SEED, "dev_documents": DEV_DOCUMENTS, "interval": "95% percentile bootstrap over articles",
                     "lm": "SmolLM2-135M-Instruct (dequantised from a 4-bit file)", "lm_prompt": SOURCE_PROMPT,
                     "designs": [list(d) for d in DESIGNS]},
        "documents": [g[0].document for g in docs], "systems": [s.system for s in docs[0]],
        "human": {d: np.round(v, 6).tolist() for d, v in human.items()},
        "scores": {k: np.round(v, 6).tolist() for k, v in result["scores"].items()},
        "design": result["design"], "correlations": result["correlations"]}
    atomic_write_json(out, payload)
    return payload


def reanalyse(path: Path, resamples: int) -> dict[str, Any]:
    """Redo the design choice and the correlations from the scores a full run stored in ``path``,
    without scoring again (minutes instead of the better part of an hour)."""
    if not path.is_file():
        raise SummEvalError(f"{path}: not found; run python -m eval.summeval without --reanalyse first")
    payload = json.loads(path.read_text())
    scores = {k: np.array(v) for k, v in payload["scores"].items() if k != "grounded"}
    human = {d: np.array(v) for d, v in payload["human"].items()}
    result = analyse(scores, human, resamples)
    payload |= {"design": result["design"], "correlations": result["correlations"],
                "scores": {k: np.round(v, 6).tolist() for k, v in result["scores"].items()}}
    payload["settings"]["resamples"] = resamples
    payload["provenance"]["reanalysed"] = provenance()
    atomic_write_json(path, payload)
    return payload


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/summeval"), help="SummEval folder")
    parser.add_argument("--out", type=Path, default=Path("results/metrics/summeval.json"))
    parser.add_argument("--documents", type=int, default=None, help="only the first N articles (a quick check)")
    parser.add_argument("--resamples", type=int, default=RESAMPLES, help="bootstrap resamples per interval")
    parser.add_argument("--cache", type=Path, default=Path("outputs/summeval_source_scores.json"),
                        help="per-article source-based scores, reused by a later or resumed run")
    parser.add_argument("--reanalyse", action="store_true",
                        help="only redo the design choice and correlations from the scores already in --out")
    args = parser.parse_args(argv)
    try:
        if args.reanalyse:
            reanalyse(args.out, args.resamples)
        else:
            run(args.data, args.out, args.documents, args.resamples, args.cache)
    except SummEvalError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(args.out)


if __name__ == "__main__":
    main()
