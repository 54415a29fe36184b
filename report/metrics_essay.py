"""The metrics essay's computed parts: worked examples with every metric, the reference-free
score, and a small constructed set with a known human ordering on which this project's own metric
is compared with BLEU, ROUGE and BERTScore. Every sentence quotes numbers computed here."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from report import text_metrics as tm


@dataclass(frozen=True)
class Case:
    """One reference with candidates listed best first: the human ordering is the list order,
    except that candidates sharing a ``tie`` group are equally bad."""

    source: str
    reference: str
    candidates: dict[str, str]
    ties: tuple[str, ...] = ("role swap", "contradiction")

    def human_rank(self, name: str) -> float:
        names = list(self.candidates)
        tied = [names.index(n) + 1 for n in self.ties]
        return float(np.mean(tied)) if name in self.ties else float(names.index(name) + 1)


CASES = [
    Case("At Monday's meeting the city council voted seven to two to approve a two million dollar budget for the new "
         "riverside park, which is expected to open next summer.",
         "The city council approved the budget for the new park on Monday.",
         {"exact copy": "The city council approved the budget for the new park on Monday.",
          "paraphrase": "On Monday, councillors signed off on funding for the new park.",
          "truncated": "The city council approved the budget.",
          "role swap": "The new park approved the budget for the city council on Monday.",
          "contradiction": "The city council rejected the budget for the new park on Monday.",
          "unrelated": "Quantum chromodynamics describes how gluons bind quarks together."}),
    Case("Heavy snow and winds of up to ninety kilometres an hour shut the regional airport on Tuesday, and no flights "
         "left until Thursday morning.",
         "The storm forced the airport to close for two days.",
         {"exact copy": "The storm forced the airport to close for two days.",
          "paraphrase": "Because of the blizzard, no planes took off for two days.",
          "truncated": "The storm forced the airport to close.",
          "role swap": "The airport forced the storm to close for two days.",
          "contradiction": "The storm forced the airport to stay open for two days.",
          "unrelated": "The recipe needs two cups of flour and an egg."}),
]
WORKED = CASES[0]
SOURCE_COPY = "source copy"
# Extra references give idf a corpus to count documents in (idf over one sentence is all zeros).
IDF_CORPUS = [c.reference for c in CASES] + ["The council met on Monday to discuss the budget.",
                                             "The new library opens on Monday.", "The park will close for the winter.",
                                             "Flights resumed after the storm."]
# Unrelated pairs from these give BERTScore's rescaling baseline for MiniLM (the package ships none for
# it) and ordered coverage's zero.
BASELINE_SENTENCES = ["The recipe needs two cups of flour.", "Gluons bind quarks together.",
                      "The train to Lyon leaves at nine.", "She painted the fence green.",
                      "Interest rates rose again in March.", "The cat slept on the warm windowsill.",
                      "Our team lost the final in extra time.", "Volcanic ash grounded flights across Europe."]
RANKED_METRICS = {"BLEU": lambda r: r["bleu"]["score"], "ROUGE-L F": lambda r: r["rouge"]["rougeL"]["f"],
                  "ROUGE-SU4 F": lambda r: r["rouge"]["rougeSU4"]["f"], "BERTScore F": lambda r: r["bertscore"]["f"],
                  "ordered coverage (ours)": lambda r: r["ours"]["score"]}
OURS = "ordered coverage (ours)"


def _bertscore_baseline(model: tm.MiniLM) -> tuple[float, float, float]:
    pairs = [(a, b) for a, b in combinations(BASELINE_SENTENCES, 2)]
    p, r, f = model.scorer().score([a for a, _ in pairs], [b for _, b in pairs])
    return float(p.mean()), float(r.mean()), float(f.mean())


def score_case(model: tm.MiniLM, case: Case, baseline: tuple[float, float, float], floor: float,
               extra: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Every metric on every candidate of one case (plus ``extra`` candidates); ``baseline`` is
    BERTScore's rescaling baseline, ``floor`` ordered coverage's zero."""
    cands = case.candidates | (extra or {})
    names, texts = list(cands), list(cands.values())
    refs = [case.reference] * len(texts)
    raw = model.scorer().score(texts, refs)
    idf = model.scorer(idf_sents=IDF_CORPUS).score(texts, refs)
    rescaled = model.scorer(baseline=baseline).score(texts, refs)
    rows = {}
    for i, (name, text) in enumerate(zip(names, texts)):
        rows[name] = {"text": text, "bleu": tm.bleu(text, case.reference), "rouge": tm.rouge(text, case.reference),
                      "bertscore": {k: float(v[i]) for k, v in zip("prf", raw)},
                      "bertscore_idf_f": float(idf[2][i]), "bertscore_rescaled_f": float(rescaled[2][i]),
                      "source_sim": model.source_similarity(case.source, text),
                      "ours": model.ordered_coverage(text, case.reference, floor)}
    return rows


def agreement(case: Case, rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per metric: Kendall's tau-b with the human ordering and the candidate pairs it orders wrongly."""
    names = list(case.candidates)
    human = [-case.human_rank(n) for n in names]
    out = {}
    for metric, key in RANKED_METRICS.items():
        values = [key(rows[n]) for n in names]
        tau = float(kendalltau(human, values).statistic)
        wrong = [(a, b) for a, b in combinations(names, 2)
                 if case.human_rank(a) < case.human_rank(b) and key(rows[a]) <= key(rows[b])]
        out[metric] = {"tau": tau, "wrong": wrong}
    return out


def ranking_sentences(cases: list[Case], agreements: list[dict[str, dict[str, Any]]]) -> list[str]:
    """Where the own metric orders candidates better than the three, and where it does not."""
    taus = {m: float(np.mean([a[m]["tau"] for a in agreements])) for m in RANKED_METRICS}
    others = [m for m in RANKED_METRICS if m != OURS]
    best_other = max(others, key=taus.get)
    out = [f"Mean Kendall tau-b with the human ordering over the {len(cases)} constructed cases: "
           + ", ".join(f"{m} {taus[m]:.2f}" for m in RANKED_METRICS) + "."]
    if taus[OURS] > taus[best_other]:
        out.append(f"Ordered coverage agrees best with the human ordering here (next: {best_other}, {taus[best_other]:.2f}).")
    else:
        out.append(f"Ordered coverage does not beat {best_other} ({taus[best_other]:.2f}) on this set.")
    for case, agree in zip(cases, agreements):
        ours_wrong = set(agree[OURS]["wrong"])
        only_ours_right = [p for p in set().union(*(agree[m]["wrong"] for m in others))
                           if p not in ours_wrong and all(p in agree[m]["wrong"] for m in others)]
        tag = case.reference
        if only_ours_right:
            out.append(f"'{tag}': only ordered coverage ranks " + "; ".join(f"{a} above {b}" for a, b in only_ours_right)
                       + " (the three others all get these pairs wrong).")
        if ours_wrong:
            out.append(f"'{tag}': ordered coverage still puts " + "; ".join(f"{b} at or above {a}"
                                                                          for a, b in agree[OURS]["wrong"]) + ".")
    return out


def worked_sentences(rows: dict[str, dict[str, Any]]) -> list[str]:
    """What the worked example shows, worded from the computed numbers."""
    copy, para, trunc, swap, contra, unrel, src = (rows[k] for k in (*WORKED.candidates, SOURCE_COPY))
    out = [f"The truncated candidate keeps unigram precision {trunc['bleu']['p1']:.0f}% but BLEU's brevity penalty is "
           f"{trunc['bleu']['bp']:.2f} (BLEU {trunc['bleu']['score']:.1f}); ROUGE-1 recall {trunc['rouge']['rouge1']['r']:.2f} "
           f"and BERTScore recall {trunc['bertscore']['r']:.3f} against precision {trunc['bertscore']['p']:.3f}: recall is "
           "what notices missing content.",
           f"The role swap reuses every word (ROUGE-1 F {swap['rouge']['rouge1']['f']:.2f}) but ROUGE-2 falls to "
           f"{swap['rouge']['rouge2']['f']:.2f}, ROUGE-W to {swap['rouge']['rougeW']['f']:.2f} and ROUGE-SU4 to "
           f"{swap['rouge']['rougeSU4']['f']:.2f}, while BERTScore F stays at {swap['bertscore']['f']:.3f} "
           f"(exact copy {copy['bertscore']['f']:.3f}).",
           f"The paraphrase shares few n-grams (BLEU {para['bleu']['score']:.1f}, ROUGE-2 F {para['rouge']['rouge2']['f']:.2f}); "
           f"BERTScore F {para['bertscore']['f']:.3f} (rescaled {para['bertscore_rescaled_f']:.3f}) against "
           f"{contra['bertscore']['f']:.3f} (rescaled {contra['bertscore_rescaled_f']:.3f}) for the one-word contradiction"
           + (": every reference-based metric prefers the contradiction." if all(
               k(contra) > k(para) for k in list(RANKED_METRICS.values())[:4]) else "."),
           f"Unrelated text scores raw BERTScore F {unrel['bertscore']['f']:.3f} but rescaled "
           f"{unrel['bertscore_rescaled_f']:.3f}: raw scores start far above zero, rescaling moves the floor to about "
           "zero without changing the order.",
           f"Reference-free source similarity gives the source copy {src['source_sim']:.3f}, the reference summary itself "
           f"{copy['source_sim']:.3f} and the contradiction {contra['source_sim']:.3f} (paraphrase {para['source_sim']:.3f})"
           + (": it rewards copying and topical closeness, not a correct summary." if src["source_sim"] > copy["source_sim"]
              else ".")]
    return out


def context() -> dict[str, Any]:
    """Everything metrics.html.j2 shows."""
    model = tm.MiniLM()
    baseline, floor = _bertscore_baseline(model), model.coverage_floor(BASELINE_SENTENCES)
    worked = score_case(model, WORKED, baseline, floor, {SOURCE_COPY: WORKED.source})
    scored = [worked] + [score_case(model, c, baseline, floor) for c in CASES[1:]]
    agreements = [agreement(c, rows) for c, rows in zip(CASES, scored)]
    return {"title": "Evaluating generated text: ROUGE, BLEU, BERTScore, reference-free, and a metric of our own",
            "worked": worked, "case": WORKED, "cases": list(zip(CASES, scored, agreements)),
            "worked_sentences": worked_sentences(worked), "ranking_sentences": ranking_sentences(CASES, agreements),
            "metrics": list(RANKED_METRICS), "layer": model.layer, "baseline": baseline, "floor": floor,
            "signature": tm.bleu_signature(), "skip": tm.SKIP_DISTANCE, "w_weight": tm.ROUGE_W_WEIGHT}
