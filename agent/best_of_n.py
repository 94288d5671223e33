"""Best-of-n (rejection sampling, as WebGPT did it): sample n episodes, and optionally m answers per
episode, score every answer with the reward model in one batch, return the best, keep them all. A
policy that browses the same way every time (``deterministic``, such as scheduled browsing at
temperature 0) browses once and samples all n × m answers from that one episode. Otherwise the first
episode is the policy's greedy twin (``policy.greedy()``, where it has one). Each episode's first answer
is written greedily (in the same batch as its samples), so the answer a single try gives is always a
candidate, and a sample replaces it only when the reward model prefers the sample.

    result = best_of_n(question, policy, corpus.search, corpus.fetcher, n=4, reward_model=rm,
                       answerer=answerer)
    result.best.answer.text, [c.reward for c in result.candidates]

The answers of all episodes are written in one batch (one forward per token for every row, on CPU and
GPU alike). On a GPU, episodes of a policy that can step in lockstep (``LockstepPolicy``: free-mode
browsing by a language model) browse together, every step's commands in one batch; otherwise they
browse one after another (on two CPU cores lockstep measured no faster: a step's prompt processing
dominates and costs the same batched or not).

Declined and "nothing found" candidates are not scored and rank below every scored answer; ties go
to the earlier candidate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.answer import Answer, Answerer, ExtractiveAnswerer
from agent.config import MAX_CANDIDATES
from agent.policies.base import LockstepPolicy, Policy, SamplingPolicy
from agent.reward import RewardModel
from agent.rollout import (
    Browsed,
    EpisodeResult,
    StepEvent,
    Timings,
    browse,
    browse_in_lockstep,
    finish,
    request_key,
    write_all,
)
from browser_env.env import EnvConfig
from browser_env.web import Fetcher, SearchBackend
from demonstrations.schemas import AnswerRecord, EpisodeRecord


@dataclass
class Candidate:
    episode: int  # which episode (0..n-1)
    sample: int  # which answer of that episode (0..m-1)
    record: EpisodeRecord  # the episode with this answer, its reward and rank in metadata
    answer: Answer
    actions: list[str]

    @property
    def reward(self) -> float | None:
        return self.answer.reward


@dataclass
class BestOfN:
    best: Candidate
    candidates: list[Candidate]
    timings: Timings


def select_best(candidates: Sequence[Candidate]) -> Candidate:
    """The highest reward; unscored (declined) candidates last; the earliest among equals."""
    if not candidates:
        raise ValueError("no candidates")

    def key(item: tuple[int, Candidate]) -> tuple[bool, float, int]:
        index, candidate = item
        reward = candidate.reward
        return (reward is not None, reward if reward is not None else 0.0, -index)

    return max(enumerate(candidates), key=key)[1]


def episodes_to_run(policy: Policy | Sequence[Policy], n: int) -> int:
    """How many episodes best-of-``n`` runs: one when every policy browses the same way every time
    (``deterministic``), else ``n``."""
    policies = list(policy) if isinstance(policy, Sequence) else [policy]
    return 1 if n > 1 and all(getattr(p, "deterministic", False) for p in policies) else n


def best_of_n(
    question: str,
    policy: Policy | Sequence[Policy],
    search: SearchBackend,
    fetcher: Fetcher,
    *,
    n: int = 4,
    answers_per_episode: int = 1,
    reward_model: RewardModel | None = None,
    answerer: Answerer | None = None,
    config: EnvConfig | None = None,
    corpus: str | None = None,
    check_quotes: bool = True,
    on_step: Callable[[StepEvent], None] | None = None,
    on_episode: Callable[[EpisodeResult], None] | None = None,
    on_scored: Callable[[int, int], None] | None = None,
    on_browsed: Callable[[int], None] | None = None,
    batch_answers: bool = True,
    lockstep: bool | None = None,
    picking: bool = True,
) -> BestOfN:
    """``n`` episodes (episode i uses ``policy[i % len]`` when given several) × ``answers_per_episode``
    answers, scored by ``reward_model`` (needed when there is more than one candidate), at most
    ``MAX_CANDIDATES`` in all. ``on_scored(done, total)`` follows the scoring, a few answers at a time
    (counted in candidates; candidates with the same quotes and answer are scored once).
    With ``batch_answers`` the episodes browse (in lockstep when ``lockstep`` and their policies can
    step together, else one after another; None: in lockstep when their model runs on a GPU, where
    batching pays, not on a CPU, where it measured no faster) and then every answer of every episode
    is written in one batch (``on_browsed(index)`` follows the browsing; ``on_episode`` is called once
    the answers are written); without it, each episode browses and answers in turn. ``picking``: the
    candidates are for this pick only (an answer now), so an episode's answers are written the fast
    way (``agent.answer.ModelAnswerer.write_many``); False when they are data (reward-model
    comparisons), where every answer is sampled afresh. Each episode's first answer is greedy either
    way."""
    if n < 1 or answers_per_episode < 1:
        raise ValueError("n and answers_per_episode must be at least 1")
    if n * answers_per_episode > MAX_CANDIDATES:
        raise ValueError(
            f"best-of-n samples at most {MAX_CANDIDATES} candidates (episodes × answers per episode), "
            f"not {n * answers_per_episode}"
        )
    if n * answers_per_episode > 1 and reward_model is None:
        raise ValueError("best-of-n with more than one candidate needs a reward model")
    policies = list(policy) if isinstance(policy, Sequence) else [policy]
    episodes = episodes_to_run(policies, n)
    if episodes > 1 and len(policies) == 1 and isinstance(policies[0], SamplingPolicy):
        policies = [policies[0].greedy(), *[policies[0]] * (episodes - 1)]
    # Episodes that would all take the same steps: browse once and sample every answer there, in one
    # batch. Candidates keep their order: the first k are what best-of-k would have drawn.
    n, answers_per_episode = episodes, n * answers_per_episode // episodes
    answerer = answerer or ExtractiveAnswerer()
    check = fetcher if check_quotes else None
    timings = Timings()
    results: list[EpisodeResult] = []
    waiting: list[Browsed] = []

    def done(result: EpisodeResult) -> None:
        timings.add(result.timings)
        results.append(result)
        if on_episode is not None:
            on_episode(result)

    episode_policies = [policies[index % len(policies)] for index in range(n)]
    if lockstep is None:
        lockstep = all(_on_accelerator(p) for p in episode_policies)
    together = (
        lockstep and batch_answers and n > 1 and all(isinstance(p, LockstepPolicy) for p in episode_policies)
    )
    if together:
        own = _own_objects(episode_policies)
        for index, browsed in enumerate(
            browse_in_lockstep(question, own, search, fetcher, config=config, corpus=corpus, on_step=on_step)
        ):
            if on_browsed is not None:
                on_browsed(index)
            waiting.append(browsed)
    for index in range(0 if together else n):
        browsed = browse(
            question,
            episode_policies[index],
            search,
            fetcher,
            config=config,
            corpus=corpus,
            on_step=on_step,
            episode_index=index,
        )
        if on_browsed is not None:
            on_browsed(index)
        if batch_answers:
            waiting.append(browsed)
        else:
            (written,) = write_all(
                [browsed], answerer, answers_per_episode, picking=picking, greedy_first=True
            )
            done(finish(browsed, written, answerer, check, {"episode": index}))
    written_all = write_all(waiting, answerer, answers_per_episode, picking=picking, greedy_first=True)
    for index, (browsed, written) in enumerate(zip(waiting, written_all, strict=True)):
        done(finish(browsed, written, answerer, check, {"episode": index}))
    candidates = [
        Candidate(e, s, result.record, answer, result.actions)
        for e, result in enumerate(results)
        for s, answer in enumerate(result.answers)
    ]
    scored = [c for c in candidates if not c.answer.declined]
    if reward_model is not None and scored:
        started = time.perf_counter()
        # One score for each distinct (quotes, answer): the same input gets the same score.
        keys = [(request_key(question, c.record.quotes), c.answer.text) for c in scored]
        distinct = {
            key: (question, c.record.quotes, c.answer.text) for key, c in zip(keys, scored, strict=True)
        }
        items = list(distinct.values())
        rewards: list[float] = []
        chunk = max(getattr(reward_model, "batch_size", 8), 1) if on_scored is not None else len(items)
        for offset in range(0, len(items), chunk):
            rewards += reward_model.score_many(items[offset : offset + chunk])
            if on_scored is not None:  # in candidates: those whose input has its score
                done = set(list(distinct)[: len(rewards)])
                on_scored(sum(key in done for key in keys), len(keys))
        by_key = dict(zip(distinct, rewards, strict=True))
        for candidate, key in zip(scored, keys, strict=True):
            candidate.answer.reward = by_key[key]
        spent = time.perf_counter() - started
        timings.reward += spent
        timings.total += spent
    best = select_best(candidates)
    ranked = sorted(candidates, key=lambda c: (c.reward is None, -(c.reward or 0.0)))
    for candidate in candidates:
        candidate.record = _with_answer(candidate, best, ranked.index(candidate) + 1)
    return BestOfN(best, candidates, timings)


def _on_accelerator(policy: Policy) -> bool:
    """Whether the policy's model runs on something other than the CPU."""
    engine = getattr(policy, "engine", None)
    model = getattr(engine, "model", None)
    return model is not None and model.device.type != "cpu"


def _own_objects(policies: list[Any]) -> list[Any]:
    """The policies with every repeat replaced by an episode copy (episodes browsing together each
    keep their own state)."""
    seen: set[int] = set()
    own = []
    for policy in policies:
        own.append(policy.episode_copy() if id(policy) in seen else policy)
        seen.add(id(policy))
    return own


def _with_answer(candidate: Candidate, best: Candidate, rank: int) -> EpisodeRecord:
    """The candidate's own copy of its episode, carrying this answer and how it scored."""
    answer = candidate.answer
    metadata: dict[str, Any] = {
        **candidate.record.metadata,
        "sample": candidate.sample,
        "reward": answer.reward,
        "rank": rank,
        "chosen": candidate is best,
        "problems": answer.problems,
    }
    update: dict[str, Any] = {
        "answer": None if answer.declined else AnswerRecord(text=answer.text, citations=answer.citations),
        "metadata": metadata,
    }
    if candidate.sample:
        from demonstrations.schemas import new_id

        update["id"] = new_id()
    return candidate.record.model_copy(update=update, deep=True)
