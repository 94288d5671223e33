"""``webgpt train ranker``: fit the sentence ranker (``agent/sentence_ranker.py``) on a question split.

For each question with gold answers: search it, open the top ``--pages`` results, and take every
sentence that shares a word with the question (what a reader skimming those pages would weigh). A
sentence is positive when it holds a gold answer (SQuAD normalisation, whole words). Questions without
any positive are skipped. The split's first ``--held_out`` questions are kept out of the fit; those
with a positive report how often the top-ranked sentence, or one of the top 3, holds the answer, beside
MiniLM similarity alone and rarity-weighted word coverage alone.

    webgpt train ranker --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --split train
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent.sentence_ranker import FEATURES, SHIPPED_RANKER, SentenceRanker, features, similarities
from browser_env.web import FetchError

Candidates = tuple[str, list[tuple[str, str]], list[bool]]  # question, (title, sentence), holds gold


def page_candidates(question: str, env: Any, fetcher: Any, pages: int) -> list[tuple[str, str]]:
    """Sentences of the top ``pages`` results that share a content word with the question (the ones
    skimming weighs); a page that cannot be fetched is skipped."""
    from agent.policies.scripted import question_sentences

    env.reset(options={"question": question})
    info = env.step(f"Search {question}")[4]
    found: list[tuple[str, str]] = []
    for result in info.get("search_results", [])[:pages]:
        try:
            page = fetcher.fetch(result["url"])
        except FetchError as error:
            print(f"skipped {result['url']}: {error}", flush=True)
            continue
        found += [(page.title, sentence) for sentence in question_sentences(page.text.split("\n"), question)]
    return list(dict.fromkeys(found))


def collect(questions: list[Any], corpus: Any, pages: int, log_every: int = 50) -> list[Candidates]:
    from training.answer_metrics import contains_gold

    env = corpus.make_env()
    out: list[Candidates] = []
    started = time.perf_counter()
    for done, question in enumerate(questions, 1):
        found = page_candidates(question.question, env, corpus.fetcher, pages)
        labels = [contains_gold(text, question.gold_answers) for _, text in found]
        if any(labels):
            out.append((question.question, found, labels))
        if done % log_every == 0:
            print(
                f"{done}/{len(questions)} questions, {len(out)} with a positive, "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return out


def feature_rows(data: list[Candidates]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Feature matrix, labels, and per question the similarity column (for the baseline)."""
    rows, labels, sims = [], [], []
    for question, found, gold in data:
        sim = similarities(question, found)
        rows.extend(features(question, title, text, s) for (title, text), s in zip(found, sim, strict=True))
        labels.extend(gold)
        sims.append(np.array(sim))
    return np.array(rows, dtype=float), np.array(labels, dtype=bool), sims


def fit(x: np.ndarray, y: np.ndarray, seed: int = 0) -> SentenceRanker:
    from sklearn.linear_model import LogisticRegression

    mean, spread = x.mean(axis=0), x.std(axis=0)
    scale = np.where(spread > 1e-4, spread, 1.0)  # a constant feature is left as it is
    model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed).fit((x - mean) / scale, y)
    return SentenceRanker(
        weights=[round(float(w), 5) for w in model.coef_[0]],
        bias=round(float(model.intercept_[0]), 5),
        mean=[round(float(m), 5) for m in mean],
        scale=[round(float(s), 5) for s in scale],
    )


def hits(scores: list[np.ndarray], labels: list[list[bool]], k: int) -> int:
    """Questions whose ``k`` top-scored sentences include a positive (ties: first listed wins)."""
    return sum(
        bool(np.array(g)[np.argsort(-s, kind="stable")[:k]].any())
        for s, g in zip(scores, labels, strict=True)
    )


def held_out_report(ranker: SentenceRanker, data: list[Candidates]) -> dict[str, Any]:
    x, _, sims = feature_rows(data)
    labels = [gold for _, _, gold in data]
    ranked, coverage, offset = [], [], 0
    for _, found, _ in data:
        block = x[offset : offset + len(found)]
        offset += len(found)
        ranked.append(np.array([ranker.log_odds(list(row)) for row in block]))
        coverage.append(block[:, FEATURES.index("coverage_with_title")])
    report: dict[str, Any] = {"questions": len(data)}
    for name, scores in (("ranker", ranked), ("similarity", sims), ("coverage", coverage)):
        report[name] = {f"hit@{k}": hits(scores, labels, k) for k in (1, 3)}
    return report


def main(argv: list[str] | None = None) -> int:
    from training.common import add_question_flags, held_out_split

    parser = argparse.ArgumentParser(prog="webgpt train ranker", description=__doc__.split("\n\n")[0])
    add_question_flags(parser)
    parser.add_argument(
        "--limit", type=int, default=None, help="At most this many questions to fit on (seeded sample)."
    )
    parser.add_argument("--pages", type=int, default=2, help="Results read per question.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=SHIPPED_RANKER)
    args = parser.parse_args(argv)

    head, rest, corpus = held_out_split(args)
    random.Random(args.seed).shuffle(rest)
    rest = rest[: args.limit] if args.limit else rest
    held, train = collect(head, corpus, args.pages), collect(rest, corpus, args.pages)
    if len(train) < 10:
        raise SystemExit(f"only {len(train)} questions have a sentence holding their answer: too few to fit")
    x, y, _ = feature_rows(train)
    ranker = fit(x, y, args.seed)
    report = {
        "fit_questions": len(train),
        "fit_sentences": len(y),
        "positives": int(y.sum()),
        "held_out": held_out_report(ranker, held),
        "weights": dict(zip(FEATURES, ranker.weights, strict=True)),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(ranker.to_json(), indent=1) + "\n", encoding="utf-8")
    args.output.with_suffix(".report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0
