"""Teacher benchmark: how many questions the scripted demonstrator supports, overall and among those
whose answer BM25 reaches (a passage holding a gold answer in its top 20), and how often its quotes
really support the answer (precision, from a hand-labelled set).

    .venv/bin/python bench/teacher.py --corpus wiki --split train            # develop on train
    .venv/bin/python bench/teacher.py --corpus wiki --split test --labels docs/teacher-labels.jsonl

Needs the 63k-article corpus (``webgpt corpus build wiki ../shared/data/wiki/wiki-2019-63k.jsonl.xz
--no-dense``) and ../shared/data/qa/nq_open_dev.jsonl. Reachability is computed once per corpus and
cached in ``bench/results/reachable-<corpus>.json``. ``--sample-out`` writes supported episodes (one
per question, seeded order) for labelling; ``--labels`` reads labels (``{"id", "supports": true|false}``
per line, ids from the sample) and reports precision on the ones this run reproduces.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

# The project's `training` package, not bench/training.py beside this script.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search import normalize  # bench/search.py: how a passage "holds" a gold answer

from browser_env.corpus import open_corpus
from browser_env.render_text import without_article_marks, without_dump_residue
from demonstrations.generate import question_seed, quote_verifies
from demonstrations.scripted import ScriptedConfig, ScriptedDemonstrator
from training.common import split_questions

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = ROOT.parent / "shared" / "data" / "qa" / "nq_open_dev.jsonl"


def reachable(corpus: Any, questions: list[Any], cache: Path) -> dict[str, bool]:
    """Whether BM25's top 20 passages hold a gold answer, per question text (cached per corpus)."""
    known: dict[str, bool] = json.loads(cache.read_text()) if cache.is_file() else {}
    missing = [q for q in questions if q.question not in known]
    if missing:
        from browser_env.search.passage_store import index_text

        search = corpus.search
        for question in missing:
            ids = search.bm25.top(question.question, 20)[0].tolist()
            golds = [normalize(a) for a in question.gold_answers]
            texts = [normalize(index_text(p.title, p.text)) for p in search.passages.get(ids)]
            known[question.question] = any(g in t for g in golds for t in texts)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known))
    return known


def label_key(row: dict[str, Any]) -> tuple[str, str]:
    """A labelled quote's key: its question and words. Labels judged quotes taken before pages dropped
    what dumps leave ("( ; )", image file names, caption ends, templates) and wrote bold in capitals and
    italics in underscores: the same words."""
    quote = without_article_marks(without_dump_residue(row["quote"]))
    return row["question"], " ".join(quote.casefold().split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="wiki")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--split", choices=("train", "test", "all"), default="train")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--reachable-only", action="store_true", help="run only the reachable questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--detours", type=float, default=0.0)
    defaults = ScriptedConfig()
    parser.add_argument("--max-searches", type=int, default=defaults.max_searches)
    parser.add_argument("--max-pages", type=int, default=defaults.max_pages)
    parser.add_argument("--min-coverage", type=float, default=defaults.min_coverage)
    parser.add_argument("--min-similarity", type=float, default=defaults.min_similarity)
    parser.add_argument("--sample-out", type=Path, default=None)
    parser.add_argument("--labels", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--failures", type=Path, default=None, help="write reachable unsupported episodes")
    parser.add_argument("--rerank", action="store_true", help="search with the passage ranker's order")
    args = parser.parse_args()

    corpus = open_corpus(args.corpus)
    corpus.search.rerank = args.rerank
    questions = split_questions(args.questions, args.split)
    reach = reachable(corpus, questions, ROOT / "bench" / "results" / f"reachable-{args.corpus}.json")
    if args.reachable_only:
        questions = [q for q in questions if reach[q.question]]
    questions = questions[: args.limit] if args.limit else questions
    demonstrator = ScriptedDemonstrator(
        corpus.make_env(),
        ScriptedConfig(
            detour_rate=args.detours,
            max_searches=args.max_searches,
            max_pages=args.max_pages,
            min_coverage=args.min_coverage,
            min_similarity=None if args.min_similarity <= -1 else args.min_similarity,
        ),
        corpus=corpus.name,
    )
    tally: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    supported_rows, failures = [], []
    started = time.perf_counter()
    for question in questions:
        episode = demonstrator.run(question, seed=question_seed(args.seed, question.question))
        is_reachable = reach[question.question]
        supported = bool(episode.metadata.get("supported"))
        tally["episodes"] += 1
        tally["reachable"] += is_reachable
        tally["supported"] += supported
        tally["supported_reachable"] += supported and is_reachable
        tally["steps"] += len(episode.steps)
        for quote in episode.quotes:
            tally["quotes"] += 1
            tally["quotes_verified"] += quote_verifies(corpus.fetcher, quote)
        if supported:
            quote = episode.quotes[0]
            supported_rows.append(
                {
                    "id": episode.metadata.get("question_id") or question.id,
                    "question": question.question,
                    "gold": question.gold_answers,
                    "title": quote.title,
                    "quote": quote.text,
                    "answer": episode.answer.text if episode.answer else "",
                }
            )
        elif is_reachable:
            reasons[str(episode.metadata.get("reason", "?"))[:80]] += 1
            failures.append(
                {"question": question.question, "gold": question.gold_answers, **episode.metadata}
            )
    seconds = time.perf_counter() - started
    summary: dict[str, Any] = {
        "corpus": args.corpus,
        "split": args.split,
        "rerank": args.rerank,
        **tally,
        "recall_reachable": round(100 * tally["supported_reachable"] / max(1, tally["reachable"]), 1),
        "supported_share": round(100 * tally["supported"] / max(1, tally["episodes"]), 1),
        "seconds": round(seconds, 1),
        "episodes_per_second": round(tally["episodes"] / seconds, 1) if seconds else None,
        "unsupported_reachable_reasons": dict(reasons.most_common(8)),
    }
    if args.labels is not None and args.labels.is_file():
        labels = {}
        for line in args.labels.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                labels[label_key(row)] = bool(row["supports"])
        keys = [label_key(r) for r in supported_rows]
        judged = [labels[key] for key in keys if key in labels]
        summary["labelled"] = len(judged)
        summary["precision"] = round(100 * sum(judged) / len(judged), 1) if judged else None
    if args.sample_out is not None:
        rows = list(supported_rows)
        random.Random(args.seed).shuffle(rows)
        args.sample_out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    if args.failures is not None:
        args.failures.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in failures))
    print(json.dumps(summary, indent=2))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
