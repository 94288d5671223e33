"""``webgpt train passage-ranker``: fit the passage ranker (``browser_env/search/passage_ranker.py``).

For each question of the split with gold answers: BM25's first ``RERANKED`` passages for the question as
typed, each positive when it (with its document's title) holds a gold answer (SQuAD normalisation,
whole words). Questions without a positive teach nothing and are skipped. The split's first
``--held_out`` questions are kept out of the fit; on all of them the report gives hit@1/5/20 (a passage
holding a gold answer among the first k) for BM25's order and the ranker's.

The weights are fit listwise, like the sentence ranker's: the negative log of the softmax mass on each
question's positive passages (``training/sentence_ranker.py``).

    webgpt train passage-ranker --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki \\
        --split train --held_out 320

It writes ``runs/passage-ranker.json`` (``--output``; the shipped weights are
``browser_env/search/passage-ranker.json``); ``webgpt corpus search ... --rerank --passage-ranker FILE``
searches with it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from browser_env.search.passage_ranker import (
    FEATURES,
    RERANKED,
    SHIPPED_PASSAGE_RANKER,
    Candidate,
    PassageRanker,
    features,
)
from browser_env.search.passage_store import index_text

KS = (1, 5, 20)
DEFAULT_OUTPUT = Path("runs/passage-ranker.json")
Found = tuple[str, list[Candidate], list[bool]]  # question, BM25's passages in its order, hold gold


def collect(questions: list[Any], search: Any, log_every: int = 500) -> list[Found]:
    """Each question's BM25 candidates and labels (every question, positives or not)."""
    from training.answer_metrics import contains_gold

    out: list[Found] = []
    started = time.perf_counter()
    for done, question in enumerate(questions, 1):
        candidates = search.candidates(*search.bm25.top(question.question, RERANKED))
        labels = [contains_gold(index_text(c.title, c.text), question.gold_answers) for c in candidates]
        out.append((question.question, candidates, labels))
        if done % log_every == 0:
            print(f"{done}/{len(questions)} questions, {time.perf_counter() - started:.0f} s", flush=True)
    return out


def feature_rows(data: list[Found], idf: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and each question's number of candidates, for the questions with a positive."""
    kept = [(q, c, y) for q, c, y in data if any(y)]
    rows = [features(q, c, idf) for q, c, _ in kept]
    x = np.concatenate(rows) if rows else np.empty((0, len(FEATURES)))
    y = np.array([label for _, _, labels in kept for label in labels], dtype=bool)
    return x, y, np.array([len(c) for _, c, _ in kept], dtype=int)


def hit_rates(data: list[Found], ranker: PassageRanker | None, idf: Any) -> dict[str, float]:
    """Share of ``data``'s questions (in %) with a positive among the first k, in BM25's order or the
    ranker's."""
    found = dict.fromkeys(KS, 0)
    for question, candidates, labels in data:
        order = ranker.order(question, candidates, idf) if ranker else np.arange(len(candidates))
        ranked = np.asarray(labels, dtype=bool)[order] if labels else np.zeros(0, dtype=bool)
        for k in KS:
            found[k] += bool(ranked[:k].any())
    return {f"hit@{k}": round(100 * found[k] / max(1, len(data)), 1) for k in KS}


def main(argv: list[str] | None = None) -> int:
    from training.common import add_question_flags, held_out_split, write_fitted
    from training.sentence_ranker import listwise_weights

    parser = argparse.ArgumentParser(prog="webgpt train passage-ranker", description=__doc__.split("\n\n")[0])
    add_question_flags(parser)
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"Where to write the ranker (default {DEFAULT_OUTPUT}); {SHIPPED_PASSAGE_RANKER} replaces the "
        "shipped one.",
    )
    args = parser.parse_args(argv)

    held_questions, fit_questions, corpus = held_out_split(args)
    search = corpus.search
    held, fit = collect(held_questions, search), collect(fit_questions, search)
    x, y, sizes = feature_rows(fit, search.bm25.idf)
    if len(sizes) < 10:
        raise SystemExit(f"only {len(sizes)} questions have a passage holding their answer: too few to fit")
    weights, mean, scale = listwise_weights(x, y, sizes)
    ranker = PassageRanker(
        [round(float(w), 5) for w in weights],
        [round(float(m), 5) for m in mean],
        [round(float(s), 5) for s in scale],
    )
    report = {
        "fit_questions": len(sizes),
        "fit_passages": len(y),
        "positives": int(y.sum()),
        "held_out_questions": len(held),
        "held_out": {
            "bm25": hit_rates(held, None, search.bm25.idf),
            "ranker": hit_rates(held, ranker, search.bm25.idf),
        },
        "weights": dict(zip(FEATURES, ranker.weights, strict=True)),
    }
    write_fitted(args.output, ranker.to_json(), report)
    if args.output.resolve() != SHIPPED_PASSAGE_RANKER.resolve():
        print(f"Search with it: webgpt corpus search NAME QUERY --rerank --passage-ranker {args.output}")
        print(f"Ship it: --output {SHIPPED_PASSAGE_RANKER}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
