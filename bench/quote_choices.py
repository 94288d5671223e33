"""Best-of-n over quote choices: what answering the next best sentences of one browse could buy, and
whether any pick finds it.

Sampling n answers to one browse gives n answers to one quote, right or wrong together; sampling n
browses quotes worse sentences than the sentence ranker's first choice. This benchmark tries the
third way. Each question is browsed once, greedily, by the agent (``--mode``: the shipped guided
skimming by default, or ``scheduled``); its candidates are the browse's own quote and the next best
sentences it weighed on the pages it read (``policy.sentences_read()``), each quoted from its page as
the environment quotes and answered greedily, each labelled right when its answer holds a gold answer
at 40 words or fewer. The candidates are kept in ``--candidates`` (JSONL, resumed).

It then reports, for the first n = 2..N candidates of each question, how many questions each pick is
right for, side by side:

- ``first``: the browse's own quote (what one answer gives);
- ``any``: some candidate right (a perfect pick);
- ``reward model``: the highest score of ``--reward-model``;
- ``agreement``: the candidate whose short answer the most ranker-weighted other candidates share;
- ``corroboration``: the ranker's score plus half the candidate's corroboration (how often the first
  20 results of a search for the question repeat its quote's new words: ``agent/corroboration.py``,
  what skimming with ``corroboration`` weighs its three best sentences by);
- ``picker``: a conditional logit over each question's candidates (the ranker's score gap, being the
  first, agreement, how many other quotes hold the short answer, its length, how much of it the
  question already says, whether it is the kind asked for), fit and tested in 5 folds by question.

    python bench/quote_choices.py --limit 120 --candidates runs/quote-choices/dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from browser_env import textmatch
from browser_env.env import CollectedQuote, EnvConfig, quote_on_page
from browser_env.protocol import answer_lead
from browser_env.protocol.answer_kind import holds_wanted_kind, question_kind
from browser_env.web import FetchError
from training.answer_metrics import correct_within, normalize_answer

QUESTIONS = "../shared/data/qa/nq_open_dev.jsonl"
FEATURES = ("score_gap", "first", "agreement", "support", "no_lead", "lead_words", "echo", "wanted_kind")
MISSING_SCORE_GAP = -2.0  # the browse's quote when the ranker did not weigh it


def quote_from_page(url: str, sentence: str, fetcher: Any, config: EnvConfig) -> CollectedQuote | None:
    """``sentence`` quoted from the page at ``url`` as the environment's ``Quote`` would; None when it
    cannot be (not fetched, not found, too long)."""
    try:
        page = fetcher.fetch(url)
    except FetchError:
        return None
    quote = quote_on_page(page, sentence)
    return quote if quote is not None and len(quote.text) <= config.max_quote_chars else None


def quote_choices(
    browsed: Any, policy: Any, fetcher: Any, n: int, config: EnvConfig
) -> list[tuple[CollectedQuote, float | None]]:
    """(quote, ranker score) of the browse's first quote (the one quote of a default browse), then of
    up to ``n`` - 1 next best sentences it weighed (score None: the ranker did not weigh it)."""
    own = browsed.quotes[0]
    read = policy.sentences_read()
    seen = {textmatch.normalize(own.text)}
    choices = [(own, next((r.score for r in read if textmatch.normalize(r.sentence) in seen), None))]
    for sentence in read:
        key = textmatch.normalize(sentence.sentence)
        if len(choices) >= n or key in seen:
            continue
        seen.add(key)
        quote = quote_from_page(sentence.url, sentence.sentence, fetcher, config)
        if quote is not None:
            choices.append((quote, sentence.score))
    return choices


def collect(args: argparse.Namespace) -> list[dict[str, Any]]:
    from agent.policies import load_named_agent
    from agent.reward import load_reward_model
    from agent.rollout import browse, finish, write_all
    from browser_env.corpus import open_corpus
    from training.common import load_reachable, split_questions

    path: Path = args.candidates
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    done = {row["question"] for row in rows}
    reachable = load_reachable(args.reachable)
    questions = [q for q in split_questions(args.questions, args.split) if reachable.get(q.question)]
    todo = [q for q in questions[args.offset : args.offset + args.limit] if q.question not in done]
    if not todo:
        return rows
    corpus = open_corpus(args.corpus)
    agent = load_named_agent("webgpt-135m", mode=args.mode)
    reward = load_reward_model(args.reward_model)
    config = EnvConfig()
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for count, question in enumerate(todo, 1):
        browsed = browse(question.question, agent.policy, corpus.search, corpus.fetcher, config=config)
        choices = (
            quote_choices(browsed, agent.policy, corpus.fetcher, args.n, config)
            if browsed.needs_answer
            else []
        )
        variants = [replace(browsed, quotes=[quote]) for quote, _ in choices]
        answers = [
            finish(v, w, agent.answerer, corpus.fetcher).answers[0]
            for v, w in zip(variants, write_all(variants, agent.answerer), strict=True)
        ]
        requests = [(question.question, [q], a.text) for (q, _), a in zip(choices, answers, strict=True)]
        rewards = reward.score_many(requests) if requests else []
        row = {
            "question": question.question,
            "golds": list(question.gold_answers),
            "cands": [
                {
                    "answer": a.text,
                    "sentence": quote.text,
                    "title": quote.title,
                    "score": score,
                    "reward": r,
                    "declined": a.declined,
                    "right": not a.declined and correct_within(a.text, question.gold_answers),
                }
                for (quote, score), a, r in zip(choices, answers, rewards, strict=True)
            ],
        }
        with path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        rows.append(row)
        if count % 20 == 0 or count == len(todo):
            print(f"{count}/{len(todo)} questions, {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def _agree(one: str, other: str) -> bool:
    return bool(one) and bool(other) and (f" {one} " in f" {other} " or f" {other} " in f" {one} ")


def features(question: str, cands: list[dict[str, Any]]) -> np.ndarray:
    known = [c["score"] for c in cands if c["score"] is not None]
    best = max(known, default=0.0)
    gaps = [c["score"] - best if c["score"] is not None else MISSING_SCORE_GAP for c in cands]
    weights = [math.exp(g) for g in gaps]
    leads = ["" if c["declined"] else normalize_answer(answer_lead(c["answer"])) for c in cands]
    quotes = [f" {normalize_answer(c['sentence'])} " for c in cands]
    asked = set(normalize_answer(question).split())
    kind = question_kind(question)
    rows = []  # "is " before a lead: its opening name counts as a name (no sentence starts there)
    for i, cand in enumerate(cands):
        lead, rest = leads[i], [j for j in range(len(cands)) if j != i]
        words = lead.split()
        rows.append(
            [
                gaps[i],
                float(i == 0),
                sum(weights[j] for j in rest if _agree(lead, leads[j])) / sum(weights),
                sum(bool(lead) and f" {lead} " in quotes[j] for j in rest) / max(len(rest), 1),
                float(not lead),
                float(min(len(words), 8)),
                sum(w in asked for w in words) / len(words) if words else 1.0,
                float(bool(lead) and holds_wanted_kind(kind, f"is {answer_lead(cand['answer'])}", question)),
            ]
        )
    return np.array(rows, float)


def fit(rows: list[dict[str, Any]], n: int, l2: float = 1.0, steps: int = 500) -> Any:
    """Conditional logit over each question's first ``n`` candidates (mixed questions only)."""
    data = []
    for row in rows:
        labels = [c["right"] for c in row["cands"][:n]]
        if any(labels) and not all(labels):
            data.append((features(row["question"], row["cands"][:n]), np.array(labels, float)))
    if not data:  # nothing to learn from: keep the first candidate
        return lambda row, k: -np.arange(len(row["cands"][:k]), dtype=float)
    stacked = np.concatenate([x for x, _ in data])
    mean, scale = stacked.mean(0), stacked.std(0)
    scale[scale < 1e-6] = 1.0
    weights = np.zeros(stacked.shape[1])
    standard = [((x - mean) / scale, y / y.sum()) for x, y in data]
    for _ in range(steps):
        gradient = l2 * weights
        for x, target in standard:
            z = np.exp(x @ weights - (x @ weights).max())
            gradient -= x.T @ (target - z / z.sum())
        weights -= 0.5 * gradient / len(standard)
    return lambda row, k: features(row["question"], row["cands"][:k]) @ (weights / scale)


def add_corroboration(rows: list[dict[str, Any]], search: Any) -> None:
    """Each candidate's ``corroboration`` by the first results of a search for its question."""
    from agent.corroboration import Corroboration

    scorer = Corroboration()
    scorer.bind(search)
    for row in rows:
        if row["cands"]:
            values = scorer.score(row["question"], [(c["title"], c["sentence"]) for c in row["cands"]])
            for cand, value in zip(row["cands"], values, strict=True):
                cand["corroboration"] = value


def corroborated(cands: list[dict[str, Any]]) -> int:
    """The candidate with the best ranker score plus half its corroboration (an unscored candidate, the
    browse's own quote, counts as the best scored)."""
    from agent.policies import CORROBORATION_WEIGHT

    best = max((c["score"] for c in cands if c["score"] is not None), default=0.0)
    totals = [
        (best if c["score"] is None else c["score"]) + CORROBORATION_WEIGHT * c["corroboration"]
        for c in cands
    ]
    return int(np.argmax(totals))


def report(rows: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    rows = [r for r in rows if r["cands"]]
    table = []
    for n in range(2, most + 1):
        folds = [fit([r for i, r in enumerate(rows) if i % 5 != f], n) for f in range(5)]
        picks = {
            "first": lambda row, k, i: 0,
            "reward model": lambda row, k, i: int(np.argmax([c["reward"] for c in row["cands"][:k]])),
            "agreement": lambda row, k, i: int(
                np.argmax(features(row["question"], row["cands"][:k]) @ [0, 1e-3, 1, 0, 0, 0, 0, 0])
            ),
            "picker (5-fold)": lambda row, k, i, folds=folds: int(np.argmax(folds[i % 5](row, k))),
        }
        if all("corroboration" in c for row in rows for c in row["cands"]):
            picks["corroboration"] = lambda row, k, i: corroborated(row["cands"][:k])
        entry: dict[str, Any] = {"n": n, "questions": len(rows)}
        for name, pick in picks.items():
            entry[name] = sum(row["cands"][:n][pick(row, n, i)]["right"] for i, row in enumerate(rows))
        entry["any"] = sum(any(c["right"] for c in row["cands"][:n]) for row in rows)
        table.append(entry)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", default=QUESTIONS)
    parser.add_argument("--split", default="train")
    parser.add_argument("--corpus", default="wiki")
    parser.add_argument("--reachable", default="bench/results/reachable-wiki.json")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--n", type=int, default=5, help="quote choices a question")
    parser.add_argument("--mode", default=None, help="the agent's browsing (default: the shipped one)")
    parser.add_argument("--reward-model", default="webgpt-rm-135m")
    parser.add_argument(
        "--candidates", type=Path, nargs="+", required=True, help="JSONL (the first is filled)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.split == "test":
        parser.error("the picker is fit here: use training questions, never the test split")
    args.candidates, others = args.candidates[0], args.candidates[1:]
    rows = collect(args) + [json.loads(line) for p in others for line in p.read_text().splitlines()]
    from browser_env.corpus import open_corpus

    add_corroboration(rows, open_corpus(args.corpus).search)
    table = report(rows, args.n)
    names = [k for k in table[0] if k not in ("n", "questions")]
    print(f"right at <= 40 words, of {table[0]['questions']} questions")
    print("| n | " + " | ".join(names) + " |")
    for entry in table:
        print(f"| {entry['n']} | " + " | ".join(str(entry[k]) for k in names) + " |")
    if args.out:
        args.out.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
