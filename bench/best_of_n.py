"""Benchmark best-of-n against one sample: the shipped policy and reward model on the default corpus.

    .venv/bin/python bench/best_of_n.py --questions 10 --n 4          # writes bench/results/best-of-n.json
    .venv/bin/python bench/best_of_n.py --questions 3 --n 4 --mode free --max-actions 12   # lockstep
    .venv/bin/python bench/best_of_n.py --questions 10 --n 4 --corpus wiki   # a corpus built before

For each question, side by side in the same run: one episode and its answer (n = 1, what ``webgpt ask``
does); n episodes with one answer each, all n answers written in one batch and scored by the reward model
(what ``webgpt ask --best-of N`` does; scheduled browsing at its default temperature takes the same steps
every time, so its n episodes are one episode with n answers, the first greedy); the same n episodes each
answering in turn (as before answers were batched); and one episode with n answers written in one batch
and scored (``--best-of 1 --answers-per-episode N``). With ``--mode free`` the variants are one sample
and n episodes browsing in lockstep (one batch per step) or one after another, both then writing their
answers in one batch.
Reports p50/p90 wall time of each and its ratio to one sample, and how often the gold string is in the
chosen answer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ask import QUESTIONS, WARM_UP, percentile  # the same questions as bench/ask.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policy", default=None, help="policy (default: the shipped one)")
    parser.add_argument("--reward-model", default=None, help="reward model (default: the shipped one)")
    parser.add_argument("--max-actions", type=int, default=None, help="action budget per episode")
    parser.add_argument(
        "--mode", default=None, help="browsing mode (default: the policy's own); free adds lockstep variants"
    )
    parser.add_argument(
        "--corpus", default="default", help="corpus to browse (default: the embedded one, built if needed)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: as webgpt ask, 0.8 for answers and free or guided browsing; "
        "scheduled browsing keeps its best choices, so its n episodes are one)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/best-of-n.json"))
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from agent.best_of_n import best_of_n
    from agent.models import SHIPPED_POLICY_ID, SHIPPED_REWARD_ID
    from agent.policies import load_agent
    from agent.reward import load_reward_model
    from browser_env.corpus import ensure_default_corpus, open_corpus
    from browser_env.env import EnvConfig

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    corpus = ensure_default_corpus() if args.corpus == "default" else open_corpus(args.corpus)
    agent = load_agent(
        args.policy or SHIPPED_POLICY_ID, seed=args.seed, temperature=args.temperature, mode=args.mode
    )
    reward = load_reward_model(args.reward_model or SHIPPED_REWARD_ID)

    def run(
        question: str, episodes: int, answers: int, batch: bool = True, lockstep: bool = True
    ) -> tuple[float, str]:
        forget = getattr(agent.policy, "forget_scores", None)
        if forget is not None:  # every variant scores the question's pages itself, as a new question does
            forget()
        started = time.perf_counter()
        outcome = best_of_n(
            question,
            agent.policy,
            corpus.search,
            corpus.fetcher,
            n=episodes,
            answers_per_episode=answers,
            reward_model=reward if episodes * answers > 1 else None,
            answerer=agent.answerer,
            corpus=corpus.name,
            batch_answers=batch,
            lockstep=lockstep,
            config=EnvConfig(max_actions=args.max_actions) if args.max_actions else None,
        )
        return time.perf_counter() - started, outcome.best.answer.text

    run(WARM_UP, 1, 1)
    variants = {
        "one sample": (1, 1, True, True),
        f"best of {args.n} episodes, answers in one batch": (args.n, 1, True, True),
        f"best of {args.n} episodes, each answering in turn": (args.n, 1, False, True),
        f"1 episode, best of {args.n} answers": (1, args.n, True, True),
    }
    if agent.mode == "free":  # browsing steps in lockstep against one after another (both then batch answers)
        variants = {
            "one sample": (1, 1, True, True),
            f"best of {args.n} episodes browsing in lockstep": (args.n, 1, True, True),
            f"best of {args.n} episodes browsing one after another": (args.n, 1, True, False),
        }
    rows: list[dict[str, Any]] = []
    for question, gold in QUESTIONS[: args.questions]:
        row: dict[str, Any] = {"question": question}
        for name, (episodes, answers, batch, lockstep) in variants.items():
            seconds, text = run(question, episodes, answers, batch, lockstep)
            row[name] = {"seconds": round(seconds, 3), "gold_in_answer": gold.lower() in text.lower()}
        rows.append(row)
        print(
            "  ".join(f"{name}: {row[name]['seconds']:6.1f} s" for name in variants) + f"  {question}",
            file=sys.stderr,
        )
    summary: dict[str, Any] = {
        "questions": len(rows),
        "n": args.n,
        "corpus": corpus.name,
        "load_average": os.getloadavg(),
    }
    one = percentile([r["one sample"]["seconds"] for r in rows], 0.5)
    for name in variants:
        walls = [r[name]["seconds"] for r in rows]
        p50 = percentile(walls, 0.5)
        summary[name] = {
            "p50_seconds": round(p50, 2),
            "p90_seconds": round(percentile(walls, 0.9), 2),
            "mean_seconds": round(statistics.fmean(walls), 2),
            "p50_vs_one_sample": round(p50 / one, 2) if one else None,
            "gold_in_answer": sum(r[name]["gold_in_answer"] for r in rows),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
