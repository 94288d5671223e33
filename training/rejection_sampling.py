"""Rejection sampling as new training data (expert iteration): for each training question, sample ``n``
episodes with the policy, let the reward model pick the best, and keep it as a demonstration.

    webgpt train rs --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --policy runs/bc \\
        --reward_model runs/rm --n 4 --store runs/rs/round1.sqlite
    webgpt demos export bc runs/rs/bc.jsonl --db runs/rs/round1.sqlite     # then train bc on it again

With gold answers, ``require_correct`` keeps only winners that hold a gold answer and cite a quote that
holds it (the policy's own successful samples); ``pick gold`` picks against the gold instead of the
reward model (rejection sampling against the answers, as STaR does: the first candidate that is right
and cites a quote holding the answer, one whose short answer is right too first), which keeps every
question some candidate gets right; ``candidates_store`` keeps every candidate too, with
its reward, for automatic reward-model comparisons (``webgpt train rm --automatic STORE``). Only the
``train`` split is read: the questions evaluations report on never become training data.
As an evaluation (quality against n), use ``webgpt eval --best_of 1,4,16``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import RANKER_HELP
from agent.models import SHIPPED_POLICY_ID
from agent.policies import load_named_agent
from training.answer_metrics import AnswerScore, score_answer
from training.common import reachable_only, split_questions


@dataclass
class RSConfig:
    """Rejection-sampling settings (every field is a ``webgpt train rs`` flag)."""

    questions: str = field(default="", metadata={"help": "Question set with gold answers (NQ JSONL, ...)."})
    corpus: str = field(default="default", metadata={"help": "Corpus to browse."})
    policy: str = field(default=SHIPPED_POLICY_ID, metadata={"help": "Model id or folder, or scripted."})
    mode: str | None = field(default=None, metadata={"help": "free, guided or scheduled."})
    reward_model: str | None = field(
        default=None, metadata={"help": "Picks the best of n (needed if n > 1 and --pick reward)."}
    )
    pick: str = field(
        default="reward",
        metadata={
            "help": "reward: the reward model picks; gold: the first candidate right and citing a quote "
            "that holds the answer (its short answer right too, first), no reward model needed."
        },
    )
    n: int = field(default=4, metadata={"help": "Episodes sampled per question."})
    temperature: float = field(
        default=0.8, metadata={"help": "Sampling temperature (candidates must differ)."}
    )
    browse_once: bool = field(
        default=False,
        metadata={
            "help": "Browse once with the policy's best choices and sample the n answers there, at "
            "--temperature (as webgpt ask --best-of does with scheduled browsing): candidates for a "
            "reward model that picks among answers."
        },
    )
    ranker: str | None = field(default=None, metadata={"help": RANKER_HELP})
    store: str = field(default="runs/rs/episodes.sqlite", metadata={"help": "Where the winners are stored."})
    candidates_store: str | None = field(default=None, metadata={"help": "Also keep every candidate here."})
    require_correct: bool = field(default=True, metadata={"help": "Keep only correct, cited winners."})
    require_lead_correct: bool = field(
        default=False,
        metadata={
            "help": "Keep only winners whose short answer (before the first citation) holds a gold answer, "
            "not those right only through the quote they repeat."
        },
    )
    reachable: str | None = field(
        default=None,
        metadata={"help": "Only questions BM25 reaches (reachable-<corpus>.json, bench/teacher)."},
    )
    limit: int | None = None
    offset: int = 0
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be at least 1, not {self.n}")
        if self.pick not in ("reward", "gold"):
            raise ValueError(f"pick is reward or gold, not {self.pick!r}")
        if self.n > 1 and self.pick == "reward" and not self.reward_model:
            raise ValueError("n above 1 needs --reward_model to pick the best episode (or --pick gold)")


@dataclass
class RSSummary:
    questions: int = 0
    kept: int = 0
    candidates: int = 0
    correct_winners: int = 0
    seconds: float = 0.0
    rewards: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "kept": self.kept,
            "candidates": self.candidates,
            "correct_winners": self.correct_winners,
            "seconds": round(self.seconds, 1),
            "mean_winner_reward": round(sum(self.rewards) / len(self.rewards), 4) if self.rewards else None,
        }


def rejection_sample(
    config: RSConfig, on_question: Callable[[int, int, RSSummary], None] | None = None
) -> RSSummary:
    """Sample, pick and store as ``config`` says (see the module docstring). ``on_question(done,
    total, summary)`` follows progress after each question."""
    from agent.best_of_n import best_of_n
    from agent.reward import load_reward_model
    from browser_env.corpus import ensure_default_corpus, open_corpus
    from demonstrations.store import EpisodeStore

    questions = split_questions(config.questions, "train")
    if config.reachable:
        questions = reachable_only(questions, config.reachable)
    questions = questions[config.offset :][: config.limit] if config.limit else questions[config.offset :]
    if not questions:
        reached = " that BM25 reaches" if config.reachable else ""
        raise ValueError(f"{config.questions}: no training-split questions with gold answers{reached}")
    corpus = ensure_default_corpus() if config.corpus == "default" else open_corpus(config.corpus)
    agent = load_named_agent(
        config.policy,
        mode=config.mode,
        temperature=None if config.browse_once else config.temperature,
        seed=config.seed,
        device=config.device,
        ranker=config.ranker,
    )
    if config.browse_once:
        if not getattr(agent.policy, "deterministic", False):
            raise ValueError(
                f"--browse_once needs a policy that browses the same way every time, not {agent.mode}"
            )
        agent.answerer.temperature = config.temperature
    picks_by_reward = config.pick == "reward" and config.reward_model
    reward = load_reward_model(config.reward_model, device=config.device) if picks_by_reward else None
    summary = RSSummary()
    started = time.perf_counter()
    Path(config.store).parent.mkdir(parents=True, exist_ok=True)
    candidates_store = EpisodeStore(config.candidates_store) if config.candidates_store else None
    try:
        with EpisodeStore(config.store) as store:
            for question in questions:
                outcome = best_of_n(
                    question.question,
                    agent.policy,
                    corpus.search,
                    corpus.fetcher,
                    n=config.n,
                    reward_model=(reward or GoldReward(question.gold_answers)) if config.n > 1 else None,
                    answerer=agent.answerer,
                    corpus=corpus.name,
                    picking=False,  # candidates are data: every answer sampled afresh
                )
                summary.questions += 1
                summary.candidates += len(outcome.candidates)
                if candidates_store is not None:
                    for candidate in outcome.candidates:
                        candidates_store.save_episode(
                            _with_gold(candidate.record, question.gold_answers, config)
                        )
                best = outcome.best
                score = score_answer(
                    best.answer.text, question.gold_answers, best.record.quotes, declined=best.answer.declined
                )
                summary.correct_winners += score.correct_and_cited
                if not best.answer.declined and keeps(score, config):
                    store.save_episode(_with_gold(best.record, question.gold_answers, config))
                    summary.kept += 1
                    if best.reward is not None:
                        summary.rewards.append(best.reward)
                if on_question is not None:
                    summary.seconds = time.perf_counter() - started
                    on_question(summary.questions, len(questions), summary)
    finally:
        if candidates_store is not None:
            candidates_store.close()
        summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class GoldReward:
    """Scores answers against the gold answers, in the reward model's place (``best_of_n`` keeps the
    earliest of equal scores, so the greedy episode wins ties): 2 for an answer right with a cited quote
    holding the gold and a right short answer, 1 without the short answer, 0 otherwise."""

    gold: list[str]
    batch_size: int = 64

    def score_many(self, items: list[tuple[str, Any, str]]) -> list[float]:
        scores = [score_answer(answer, self.gold, list(quotes)) for _, quotes, answer in items]
        return [float(s.correct_and_cited) * (1.0 + float(s.lead_correct)) for s in scores]


def keeps(score: AnswerScore, config: RSConfig) -> bool:
    """Whether a winner with this score becomes training data under ``config``'s requirements."""
    if config.require_correct and not score.correct_and_cited:
        return False
    return score.lead_correct or not config.require_lead_correct


def _with_gold(record: Any, gold: list[str], config: RSConfig) -> Any:
    from demonstrations.schemas import new_id

    metadata = {**record.metadata, "rejection_sampling": {"n": config.n, "policy": config.policy}}
    return record.model_copy(update={"gold_answers": list(gold), "metadata": metadata, "id": new_id()})


def _print_progress(done: int, total: int, summary: RSSummary) -> None:
    print(
        f"{done}/{total} questions, {summary.kept} kept, {summary.candidates} candidates, "
        f"{summary.seconds:.0f} s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """``webgpt train rs``: parse flags (and ``--config``), sample, store, print a summary line."""
    from trl import TrlParser

    try:
        (config,) = TrlParser(dataclass_types=[RSConfig]).parse_args_and_config(args=argv)
        summary = rejection_sample(config, on_question=_print_progress)
    except (FileNotFoundError, ValueError) as error:
        print(f"Error: {error}")
        return 2
    print(
        f"kept {summary.kept} of {summary.questions} questions ({summary.candidates} candidates, "
        f"{summary.correct_winners} winners correct and cited) in {summary.seconds:.0f} s: {config.store}"
    )
    return 0
