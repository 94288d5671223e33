"""``webgpt train ranker``: fit the sentence ranker (``agent/sentence_ranker.py``) on a question split.

For each question with gold answers: search it, open the top ``--pages`` results, and take every
sentence that shares a word with the question (what a reader skimming those pages would weigh). A
sentence is positive when it holds a gold answer (SQuAD normalisation, whole words). Questions without
any positive are skipped. The split's first ``--held_out`` questions are kept out of the fit; those
with a positive report how often the top-ranked sentence, or one of the top 3, holds the answer, beside
MiniLM similarity alone and rarity-weighted word coverage alone.

The weights are fit to rank, not to classify: a listwise loss over each question's sentences (the negative
log of the softmax mass on its positives), since skimming only ever compares the sentences of one
question. A one-feature logistic regression on the resulting score then sets its scale and bias, so the
score is a log-odds again and the threshold keeps its meaning. On 683 training questions (5-fold, by
question) the listwise weights put a positive first for 34% of them, the pointwise logistic regression
over the same features for 29% (docs/training.md).

    webgpt train ranker --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --split train \
        --held_out 320 --candidates runs/ranker/candidates
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

DEFAULT_OUTPUT = Path("runs/sentence-ranker.json")

Candidates = tuple[str, list[tuple[str, str]], list[bool]]  # question, (title, sentence), holds gold


def page_candidates(question: str, env: Any, fetcher: Any, pages: int) -> list[tuple[str, str]]:
    """Sentences of the top ``pages`` results that share a content word with the question (the ones
    skimming weighs); a page that cannot be fetched is skipped."""
    from agent.policies.page_reading import question_sentences

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


def load_or_collect(path: Path | None, questions: list[Any], corpus: Any, pages: int) -> list[Candidates]:
    """The candidates of ``questions``, read from ``path`` when it exists, else collected (and written
    there when a path is given)."""
    if path is not None and path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
            rows = [json.loads(line) for line in lines if line.strip()]
            return [(r["question"], [tuple(p) for p in r["found"]], list(r["labels"])) for r in rows]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: not a candidates file written by this command ({error})") from None
    data = collect(questions, corpus, pages)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"question": q, "found": found, "labels": labels}) for q, found, labels in data]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return data


def add_candidate_flags(parser: argparse.ArgumentParser) -> None:
    """``--limit``, ``--pages`` and ``--candidates``: what ``held_out_and_fit`` reads besides the question
    flags and ``--seed``."""
    parser.add_argument(
        "--limit", type=int, default=None, help="At most this many questions to fit on (seeded sample)."
    )
    parser.add_argument("--pages", type=int, default=2, help="Results read per question.")
    parser.add_argument(
        "--candidates",
        type=Path,
        default=None,
        help="Folder keeping the collected candidates (held-out.jsonl, fit.jsonl), reused when present.",
    )


def held_out_and_fit(args: argparse.Namespace) -> tuple[list[Candidates], list[Candidates]]:
    """The candidates of the split's held-out questions and of those to fit on (``--limit`` of the rest,
    a seeded sample), collected or read from ``--candidates``."""
    from training.common import held_out_split

    head, rest, corpus = held_out_split(args)
    random.Random(args.seed).shuffle(rest)
    rest = rest[: args.limit] if args.limit else rest
    cache = args.candidates
    try:
        held = load_or_collect(cache / "held-out.jsonl" if cache else None, head, corpus, args.pages)
        fit = load_or_collect(cache / "fit.jsonl" if cache else None, rest, corpus, args.pages)
    except ValueError as error:
        raise SystemExit(f"{error}; delete it to collect the candidates again") from None
    return held, fit


def per_question(values: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """``values`` (one row per sentence, questions one after another) cut into each question's rows."""
    return np.split(values, np.cumsum(sizes)[:-1])


def feature_rows(data: list[Candidates]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature matrix, labels, and each question's number of sentences (its rows follow one another)."""
    rows, labels, sizes = [], [], []
    for question, found, gold in data:
        sim = similarities(question, found)
        rows.extend(features(question, title, text, s) for (title, text), s in zip(found, sim, strict=True))
        labels.extend(gold)
        sizes.append(len(found))
    return np.array(rows, dtype=float), np.array(labels, dtype=bool), np.array(sizes, dtype=int)


def listwise_objective(
    weights: np.ndarray, x: np.ndarray, y: np.ndarray, sizes: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """Mean over questions of -log(softmax mass on the positives) of ``x @ weights``, plus ``l2`` times the
    squared weights; and its gradient. Each question needs a positive."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    scores = x @ weights
    shifted = np.exp(scores - np.repeat(np.maximum.reduceat(scores, starts), sizes))
    every = np.add.reduceat(shifted, starts)
    positive = np.add.reduceat(shifted * y, starts)
    loss = float(np.mean(np.log(every) - np.log(positive)) + l2 * weights @ weights)
    share = shifted / np.repeat(every, sizes) - shifted * y / np.repeat(positive, sizes)
    return loss, x.T @ share / len(sizes) + 2 * l2 * weights


def listwise_weights(
    x: np.ndarray, y: np.ndarray, sizes: np.ndarray, l2: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights minimising ``listwise_objective`` on standardised ``x``, with the feature means and
    scales that standardise it (a constant feature keeps scale 1)."""
    from scipy.optimize import minimize

    if sizes.sum() != len(y) or not all(block.any() for block in per_question(y, sizes)):
        raise ValueError("every question needs its candidates and at least one positive")
    mean, spread = x.mean(axis=0), x.std(axis=0)
    scale = np.where(spread > 1e-4, spread, 1.0)
    found = minimize(
        listwise_objective,
        np.zeros(x.shape[1]),
        args=((x - mean) / scale, y, sizes, l2),
        jac=True,
        method="L-BFGS-B",
    )
    return found.x, mean, scale


def fit(x: np.ndarray, y: np.ndarray, sizes: np.ndarray, l2: float = 1e-3) -> SentenceRanker:
    """Listwise weights on standardised features, turned into log-odds (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression

    weights, mean, scale = listwise_weights(x, y, sizes, l2)
    score = ((x - mean) / scale) @ weights
    calibration = LogisticRegression(C=1e4, max_iter=1000).fit(score[:, None], y)
    slope = float(calibration.coef_[0, 0])
    if slope <= 0:
        raise ValueError("the fitted score does not rise with the share of positives: too little data")
    return SentenceRanker(
        weights=[round(float(w) * slope, 5) for w in weights],
        bias=round(float(calibration.intercept_[0]), 5),
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
    x, _, sizes = feature_rows(data)
    labels = [gold for _, _, gold in data]
    ranked, sims, coverage = [], [], []
    for block in per_question(x, sizes):
        ranked.append(np.array([ranker.log_odds(list(row)) for row in block]))
        sims.append(block[:, FEATURES.index("similarity")])
        coverage.append(block[:, FEATURES.index("coverage_with_title")])
    report: dict[str, Any] = {"questions": len(data)}
    for name, scores in (("ranker", ranked), ("similarity", sims), ("coverage", coverage)):
        report[name] = {f"hit@{k}": hits(scores, labels, k) for k in (1, 3)}
    return report


def main(argv: list[str] | None = None) -> int:
    from training.common import add_question_flags, write_fitted

    parser = argparse.ArgumentParser(prog="webgpt train ranker", description=__doc__.split("\n\n")[0])
    add_question_flags(parser)
    add_candidate_flags(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"Where to write the ranker (default {DEFAULT_OUTPUT}); {SHIPPED_RANKER} replaces the shipped "
        "one.",
    )
    args = parser.parse_args(argv)

    held, train = held_out_and_fit(args)
    if len(train) < 10:
        raise SystemExit(f"only {len(train)} questions have a sentence holding their answer: too few to fit")
    x, y, sizes = feature_rows(train)
    ranker = fit(x, y, sizes)
    report = {
        "fit_questions": len(train),
        "fit_sentences": len(y),
        "positives": int(y.sum()),
        "held_out": held_out_report(ranker, held),
        "weights": dict(zip(FEATURES, ranker.weights, strict=True)),
    }
    write_fitted(args.output, ranker.to_json(), report)
    if args.output.resolve() != SHIPPED_RANKER.resolve():
        print(f"Browse with it: --ranker {args.output} (webgpt ask, eval, train rs).")
        print(f"Ship it: --output {SHIPPED_RANKER}.")
    return 0
