"""Best-of-n from stored candidates: which pick beats one sample, measured without browsing again.

`webgpt train rs --candidates_store STORE --n N` keeps every candidate episode of each question (the
greedy episode first, then samples) with its gold answers. This benchmark picks the best of the first
n candidates of each question in several ways, side by side on the same candidates, and scores each
pick as `webgpt eval` does:

- ``greedy``: the first candidate (what one answer gives);
- ``rm:<name>``: the highest reward of a reward model (ties to the earlier candidate), as
  ``webgpt ask --best-of n`` picks;
- ``rm:<name>+<margin>``: the same, but a sample replaces the first candidate only when its reward
  beats the first's by more than ``margin`` (``--margins``);
- ``vote``: the candidate whose short answer (before its first citation) most candidates share
  (self-consistency; ties to the earlier candidate);
- ``oracle``: what ``webgpt train rs --pick gold`` keeps: a candidate right and citing a quote that
  holds the gold, one whose short answer is right too first (the ceiling of any pick, for correct and
  cited; ``webgpt eval``'s "a candidate right" column is the ceiling for right at ≤ 40 words).

    python bench/rerank.py runs/rs/e-cands.sqlite --reward-model agent/weights/webgpt-rm-135m --n 1,4,8
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from browser_env.protocol import answer_lead
from training.answer_metrics import normalize_answer, score_answer
from training.evaluate import QuestionResult
from training.evaluate import summarize as eval_summary
from training.rejection_sampling import GoldReward
from training.reward_data import automatic_comparisons, read_episodes

Pick = Callable[[list[Any]], int]  # one question's first n candidates → the index picked


def candidates_by_question(paths: Sequence[str]) -> dict[str, list[Any]]:
    """Each question's candidate episodes, in the order they were sampled (the greedy one first)."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    for path in paths:
        for episode in read_episodes(path):
            if episode.gold_answers:
                grouped[episode.question].append(episode)
    for episodes in grouped.values():
        episodes.sort(key=lambda e: (e.metadata.get("episode", 0), e.metadata.get("sample", 0)))
    return dict(grouped)


def answered(episode: Any) -> bool:
    return bool(episode.end_reason == "answer" and episode.answer and episode.answer.text.strip())


def pick_greedy(episodes: list[Any]) -> int:
    return 0


def by_reward(rewards: dict[str, list[float]], margin: float | None = None) -> Pick:
    """The highest reward among answered candidates (unanswered ones rank below all; ties to the earlier),
    as ``webgpt ask --best-of`` picks; with ``margin``, the first candidate stays unless another's reward
    beats it by more than that."""

    def pick(episodes: list[Any]) -> int:
        own = rewards[episodes[0].question]
        scored = [(own[k] if answered(e) else float("-inf"), -k) for k, e in enumerate(episodes)]
        best = -max(scored)[1]
        if margin is not None and answered(episodes[0]) and own[best] - own[0] <= margin:
            return 0
        return best

    return pick


def short_answer(episode: Any) -> str:
    return normalize_answer(answer_lead(episode.answer.text)) if answered(episode) else ""


def pick_vote(episodes: list[Any]) -> int:
    """The earliest candidate whose non-empty short answer is the most common one."""
    leads = [short_answer(e) for e in episodes]
    counts = Counter(lead for lead in leads if lead)
    if not counts:
        return 0
    top = max(counts.values())
    return next(k for k, lead in enumerate(leads) if lead and counts[lead] == top)


def pick_oracle(episodes: list[Any]) -> int:
    """What ``webgpt train rs --pick gold`` keeps (``training.rejection_sampling.GoldReward``): the first
    candidate right and citing a quote that holds the gold, one whose short answer is right too first."""
    gold = GoldReward(list(episodes[0].gold_answers))
    rewards = gold.score_many(
        [(e.question, e.quotes, e.answer.text if answered(e) else "") for e in episodes]
    )
    return by_reward({episodes[0].question: rewards})(episodes)


def score(episode: Any) -> Any:
    answer = episode.answer
    return score_answer(
        answer.text if answer else "",
        episode.gold_answers,
        episode.quotes,
        declined=not answered(episode),
    )


def rewards_of(model: Any, grouped: dict[str, list[Any]]) -> dict[str, list[float]]:
    """Every candidate's reward, all questions in one list of batches."""
    items, keys = [], []
    for question, episodes in grouped.items():
        for k, episode in enumerate(episodes):
            text = episode.answer.text if answered(episode) else ""
            items.append((question, episode.quotes, text))
            keys.append((question, k))
    scores = model.score_many(items)
    out: dict[str, list[float]] = {q: [0.0] * len(e) for q, e in grouped.items()}
    for (question, k), value in zip(keys, scores, strict=True):
        out[question][k] = value
    return out


def summarize(picked: list[Any]) -> dict[str, float | None]:
    """The picks' figures, computed as ``webgpt eval`` reports them."""
    rows = [
        QuestionResult(
            question=e.question,
            golds=list(e.gold_answers),
            n=1,
            answer=e.answer.text if answered(e) else "",
            declined=not answered(e),
            reachable=None,
            actions=len(e.steps),
            seconds=0.0,
            reward=None,
            score=asdict(score(e)),
        )
        for e in picked
    ]
    figures = eval_summary(rows)
    return {
        "right": figures["accuracy"],
        "right_at_40": figures["accuracy_short"],
        "correct_and_cited": figures["correct_and_cited"],
        "lead_right": figures["lead_correct"],
        "right_citing_gold": figures["correct_citing_gold"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stores", nargs="+", help="Candidate stores (.sqlite) or JSONL traces.")
    parser.add_argument("--reward-model", action="append", default=[], help="NAME=PATH or PATH; repeatable.")
    parser.add_argument("--n", default="1,4,8", help="Comma list of n.")
    parser.add_argument(
        "--margins", default="", help="Comma list of reward margins over the first candidate."
    )
    parser.add_argument("--out", default="", help="Also write the rows as JSON here.")
    args = parser.parse_args(argv)
    grouped = candidates_by_question(args.stores)
    if not grouped:
        print("no candidates with gold answers in " + ", ".join(args.stores))
        return 2
    picks: dict[str, Pick] = {"greedy": pick_greedy, "vote": pick_vote, "oracle": pick_oracle}
    tables: dict[str, dict[str, list[float]]] = {}
    if args.reward_model:
        from agent.reward import load_reward_model

        for spec in args.reward_model:
            name, _, path = spec.rpartition("=")
            label = f"rm:{name or Path(path).name}"
            tables[label] = rewards_of(load_reward_model(path), grouped)
            picks[label] = by_reward(tables[label])
            for margin in [float(m) for m in args.margins.split(",") if m.strip()]:
                picks[f"{label}+{margin:g}"] = by_reward(tables[label], margin)
    rows = []
    for n in sorted({int(v) for v in args.n.split(",")}):
        for name, pick in picks.items():
            if name == "greedy" and n > 1:
                continue
            chosen = [episodes[:n][pick(episodes[:n])] for episodes in grouped.values()]
            rows.append({"pick": name, "n": n, "questions": len(chosen), **summarize(chosen)})
    print(
        "| pick | n | right % | ≤ 40 words % | correct and cited % | short answer right % "
        "| right citing gold % |\n|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['pick']} | {r['n']} | {r['right']} | {r['right_at_40']} | {r['correct_and_cited']} "
            f"| {r['lead_right']} | {r['right_citing_gold']} |"
        )
    pairs = automatic_comparisons([e for episodes in grouped.values() for e in episodes])
    by_id = {e.id: (q, k) for q, episodes in grouped.items() for k, e in enumerate(episodes)}
    lengths = [len(p.answer_a.text) > len(p.answer_b.text) for p in pairs]
    preferred_a = [p.preference == "A" for p in pairs]
    longer = sum(a == b for a, b in zip(lengths, preferred_a, strict=True))
    share = longer / max(1, len(pairs))
    print(f"\n{len(pairs)} automatic comparisons of these candidates; the longer answer wins {share:.1%}")
    for name, table in tables.items():

        def reward(answer: Any, table: dict[str, list[float]] = table) -> float:
            question, k = by_id[answer.episode_id]
            return table[question][k]

        agree = sum(
            (reward(p.answer_a) > reward(p.answer_b)) == a for p, a in zip(pairs, preferred_a, strict=True)
        )
        print(f"{name}: {agree / max(1, len(pairs)):.1%} of them")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
