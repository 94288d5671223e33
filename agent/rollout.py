"""One episode: env.reset → policy → env.step … → answer → citation check, as an ``EpisodeRecord``.

    result = run_episode("Who designed the Eiffel Tower?", policy, corpus.search, corpus.fetcher,
                         answerer=answerer, corpus=corpus.name)
    print(result.answers[0].text)

Search and page loading are timed by wrapping the env's search backend and fetcher; model time comes
from the engines' counters (prompt processing vs generation).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from agent.answer import Answer, Answerer, compose_answer, write_answers
from agent.config import MAX_ANSWER_CHARS
from agent.policies.base import LockstepPolicy, Policy, SearchingPolicy
from agent.policies.engine import EngineStats
from browser_env.env import BrowserEnv, CollectedQuote, EnvConfig
from browser_env.page import Page
from browser_env.protocol import EndReason
from browser_env.web import Fetcher, SearchBackend, SearchResult
from demonstrations.formats import QuoteLike
from demonstrations.recording import RecordingEnv
from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuoteRecord, StepRecord, now


@dataclass
class Timings:
    """Seconds spent per part of the work, and model token counts."""

    search: float = 0.0
    page_loading: float = 0.0
    prompt_processing: float = 0.0
    generation: float = 0.0
    policy: float = 0.0  # the policy's own time (model calls included)
    answer: float = 0.0  # writing answers (model calls included)
    citation_check: float = 0.0
    reward: float = 0.0
    total: float = 0.0
    prompt_tokens: int = 0
    generated_tokens: int = 0

    @property
    def tokens_per_second(self) -> float | None:
        return self.generated_tokens / self.generation if self.generation > 0 else None

    @property
    def prompt_tokens_per_second(self) -> float | None:
        return self.prompt_tokens / self.prompt_processing if self.prompt_processing > 0 else None

    def add(self, other: Timings) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict[str, float | int | None]:
        data: dict[str, float | int | None] = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()
        }
        for name in ("tokens_per_second", "prompt_tokens_per_second"):
            value = getattr(self, name)
            data[name] = round(value, 2) if value is not None else None
        return data


class TimedSearch:
    def __init__(self, inner: SearchBackend, timings: Timings) -> None:
        self.inner, self.timings = inner, timings

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        started = time.perf_counter()
        try:
            return self.inner.search(query, k=k)
        finally:
            self.timings.search += time.perf_counter() - started


class TimedFetcher:
    def __init__(self, inner: Fetcher, timings: Timings) -> None:
        self.inner, self.timings = inner, timings

    def fetch(self, url: str) -> Page:
        started = time.perf_counter()
        try:
            return self.inner.fetch(url)
        finally:
            self.timings.page_loading += time.perf_counter() - started


@dataclass
class StepEvent:
    """What ``on_step`` receives after each step."""

    index: int
    command: str
    error: str | None
    title: str
    url: str | None
    quotes: int
    actions_left: int
    episode: int = 0


@dataclass
class EpisodeResult:
    record: EpisodeRecord  # the browsing; its ``answer`` is the first answer
    answers: list[Answer]
    timings: Timings
    actions: list[str] = field(default_factory=list)


def _engines(*parts: Any) -> list[Any]:
    engines = []
    for part in parts:
        engine = getattr(part, "engine", None)
        if engine is not None and all(engine is not e for e in engines):
            engines.append(engine)
    return engines


def _stats(engines: list[Any]) -> EngineStats:
    total = EngineStats()
    for engine in engines:
        for name, value in engine.stats.snapshot().items():
            setattr(total, name, getattr(total, name) + value)
    return total


@dataclass
class Browsed:
    """An episode's browsing, before its answers are written (``browse``, then ``finish``)."""

    question: str
    policy_name: str
    config: EnvConfig
    corpus: str | None
    steps: list[StepRecord]
    quotes: list[CollectedQuote]
    end_reason: EndReason | None
    timings: Timings

    @property
    def needs_answer(self) -> bool:
        """Whether there is an answer to write: the episode ended with quotes and was not declined."""
        return bool(self.quotes) and not (self.end_reason is not None and self.end_reason.declined)


def run_episode(
    question: str,
    policy: Policy,
    search: SearchBackend,
    fetcher: Fetcher,
    *,
    config: EnvConfig | None = None,
    answerer: Answerer | None = None,
    answers_per_episode: int = 1,
    corpus: str | None = None,
    check_quotes: bool = True,
    on_step: Callable[[StepEvent], None] | None = None,
    episode_index: int = 0,
    metadata: dict[str, Any] | None = None,
) -> EpisodeResult:
    """Browse until the episode ends (``End``, a budget, or the policy stopping), then answer."""
    from agent.answer import ExtractiveAnswerer

    answerer = answerer or ExtractiveAnswerer()
    browsed = browse(
        question,
        policy,
        search,
        fetcher,
        config=config,
        corpus=corpus,
        on_step=on_step,
        episode_index=episode_index,
    )
    (written,) = write_all([browsed], answerer, answers_per_episode)
    return finish(browsed, written, answerer, fetcher if check_quotes else None, metadata)


def browse(
    question: str,
    policy: Policy,
    search: SearchBackend,
    fetcher: Fetcher,
    *,
    config: EnvConfig | None = None,
    corpus: str | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    episode_index: int = 0,
) -> Browsed:
    """Step the policy in the environment until the episode ends; no answer yet."""
    episode = _Episode(question, policy, search, fetcher, config, corpus, on_step, episode_index)
    before = _stats(episode.engines)
    while not episode.done:
        tick = time.perf_counter()
        command = policy.act(episode.observation, episode.info)
        episode.timings.policy += time.perf_counter() - tick
        episode.step(command)
    _add_model_time(episode.timings, before, _stats(episode.engines))
    return episode.browsed()


def browse_in_lockstep(
    question: str,
    policies: Sequence[Policy],
    search: SearchBackend,
    fetcher: Fetcher,
    *,
    config: EnvConfig | None = None,
    corpus: str | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
) -> list[Browsed]:
    """Several episodes of one question stepped together: at each step every live episode's policy
    chooses its command in one call (``LockstepPolicy.act_together``, one batch for all), then each
    env takes its command. Each episode needs its own policy object (it keeps the episode's state). The
    model time of a step is shared equally among the episodes in it."""
    if len({id(p) for p in policies}) != len(policies):
        raise ValueError("each episode needs its own policy object")
    episodes = [
        _Episode(question, p, search, fetcher, config, corpus, on_step, i) for i, p in enumerate(policies)
    ]
    while live := [e for e in episodes if not e.done]:
        engines = _engines(*(e.policy for e in live))
        before = _stats(engines)
        tick = time.perf_counter()
        commands = act_together(
            [e.policy for e in live], [e.observation for e in live], [e.info for e in live]
        )
        share = Timings(policy=time.perf_counter() - tick)
        _add_model_time(share, before, _stats(engines))
        for episode, command in zip(live, commands, strict=True):
            episode.timings.add(_divided(share, len(live)))
            episode.step(command)
    return [episode.browsed(shared=True) for episode in episodes]


def act_together(
    policies: Sequence[Policy], observations: Sequence[str], infos: Sequence[dict[str, Any]]
) -> list[str | None]:
    """Each policy's command: those that can step together (``LockstepPolicy.steps_with``) in one call
    per group, the others one after another."""
    groups: list[list[int]] = []
    for i, policy in enumerate(policies):
        for group in groups:
            first = policies[group[0]]
            if isinstance(first, LockstepPolicy) and first.steps_with(policy):
                group.append(i)
                break
        else:
            groups.append([i])
    commands: list[str | None] = [None] * len(policies)
    for group in groups:
        first = policies[group[0]]
        if len(group) > 1 and isinstance(first, LockstepPolicy):
            chosen = first.act_together(
                [policies[i] for i in group], [observations[i] for i in group], [infos[i] for i in group]
            )
        else:
            chosen = [policies[i].act(observations[i], infos[i]) for i in group]
        for i, command in zip(group, chosen, strict=True):
            commands[i] = command
    return commands


class _Episode:
    """One episode being browsed: its env, the steps recorded so far and its timings."""

    def __init__(
        self,
        question: str,
        policy: Policy,
        search: SearchBackend,
        fetcher: Fetcher,
        config: EnvConfig | None,
        corpus: str | None,
        on_step: Callable[[StepEvent], None] | None,
        index: int,
    ) -> None:
        self.question = question
        self.policy = policy
        self.corpus = corpus
        self.on_step = on_step
        self.index = index
        self.config = config or EnvConfig()
        self.timings = Timings()
        self.engines = _engines(policy)
        self.started = time.perf_counter()
        self.env = BrowserEnv(
            TimedSearch(search, self.timings), TimedFetcher(fetcher, self.timings), self.config
        )
        self.recording = RecordingEnv(self.env)
        self.observation, self.info = self.recording.reset(options={"question": question})
        policy.reset(question)
        if isinstance(policy, SearchingPolicy):
            policy.use_search(self.env.allowed_search)
        self.end_reason: EndReason | None = None
        self.env_seconds = time.perf_counter() - self.started  # resetting and stepping the env

    @property
    def done(self) -> bool:
        return self.env.done or self.end_reason is not None

    def step(self, command: str | None) -> None:
        if command is None:
            self.end_reason = EndReason.ABANDONED
            return
        tick = time.perf_counter()
        self.observation, _, _, _, self.info = self.recording.step(command)
        self.env_seconds += time.perf_counter() - tick
        if self.on_step is not None:
            info = self.info
            self.on_step(
                StepEvent(
                    len(self.recording.steps) - 1,
                    self.recording.steps[-1].command,
                    info["error"],
                    info["title"],
                    info["url"],
                    len(info["quotes"]),
                    info["actions_left"],
                    self.index,
                )
            )

    def browsed(self, shared: bool = False) -> Browsed:
        """The episode so far; its total time is the wall time, or with ``shared`` (episodes stepped
        together) its share of the policy's calls and its own env time."""
        self.timings.total = (
            self.timings.policy + self.env_seconds if shared else time.perf_counter() - self.started
        )
        return Browsed(
            self.question,
            self.policy.name,
            self.config,
            self.corpus,
            self.recording.steps,
            self.env.quotes,
            self.env.end_reason or self.end_reason,
            self.timings,
        )


def _divided(timings: Timings, parts: int) -> Timings:
    """An equal share of ``timings`` (token counts rounded down)."""
    return Timings(
        **{
            name: value / parts if isinstance(value, float) else value // parts
            for name, value in asdict(timings).items()
        }
    )


@dataclass
class Written:
    """The answers written for one episode, and its share of the time the writing took."""

    texts: list[str] | None  # None: nothing to write (declined, or no quotes)
    timings: Timings


def write_all(
    browsed: list[Browsed],
    answerer: Answerer,
    answers_per_episode: int = 1,
    *,
    picking: bool = False,
    greedy_first: bool = False,
) -> list[Written]:
    """The answers of every episode that needs one, written in one batch when the answerer can. The
    batch's time is shared equally among the episodes in it. With one answer each (greedy), episodes
    that collected the same quotes share one answer, written once. ``picking`` and ``greedy_first``:
    how several answers to one episode are written (``agent.answer.ModelAnswerer.write_many``)."""
    todo = [b for b in browsed if b.needs_answer]
    share = Timings()
    texts: list[list[str]] = []
    if todo:
        engines = _engines(answerer)
        before = _stats(engines)
        started = time.perf_counter()
        requests = [(b.question, b.quotes) for b in todo]
        if answers_per_episode == 1:
            distinct = {request_key(question, quotes): (question, quotes) for question, quotes in requests}
            written = dict(zip(distinct, write_answers(answerer, list(distinct.values())), strict=True))
            texts = [written[request_key(question, quotes)] for question, quotes in requests]
        else:
            texts = write_answers(
                answerer, requests, n=answers_per_episode, picking=picking, greedy_first=greedy_first
            )
        share.answer = time.perf_counter() - started
        _add_model_time(share, before, _stats(engines))
        share = _divided(share, len(todo))
        share.total = share.answer
    answers = iter(texts)
    return [
        Written([t[:MAX_ANSWER_CHARS] for t in next(answers)], replace(share))
        if b.needs_answer
        else Written(None, Timings())
        for b in browsed
    ]


def request_key(question: str, quotes: Sequence[QuoteLike]) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """All that an answer, or its reward, depends on besides the answer: what the answering prompt shows
    (``demonstrations.formats.answer_prompt``): the question and each quote's title, domain and words."""
    return question, tuple((q.title, q.domain, q.text) for q in quotes)


def finish(
    browsed: Browsed,
    written: Written,
    answerer: Answerer,
    fetcher: Fetcher | None,
    metadata: dict[str, Any] | None = None,
) -> EpisodeResult:
    """The episode's answers (checked against the pages by ``fetcher``, unless None) and its record."""
    question, quotes, end_reason = browsed.question, browsed.quotes, browsed.end_reason
    timings = replace(browsed.timings)
    timings.add(written.timings)
    tick = time.perf_counter()
    answers = (
        [compose_answer(question, None, quotes, end_reason)]
        if written.texts is None
        else [
            compose_answer(
                question,
                text,
                quotes,
                end_reason,
                fetcher,
                attribute=bool(getattr(answerer, "attribute", False)),
            )
            for text in written.texts
        ]
    )
    timings.citation_check += time.perf_counter() - tick
    timings.total += time.perf_counter() - tick
    first = answers[0]
    record = EpisodeRecord(
        question=question,
        source="model",
        model_id=browsed.policy_name,
        corpus=browsed.corpus,
        env_config=browsed.config.to_dict(),
        steps=browsed.steps,
        quotes=[QuoteRecord(**quote.to_record()) for quote in quotes],
        answer=None if first.declined else AnswerRecord(text=first.text, citations=first.citations),
        end_reason=end_reason,
        metadata={
            "answerer": answerer.name,
            "timings": timings.to_dict(),
            "problems": first.problems,
            **(metadata or {}),
        },
        finished_at=now(),
    )
    return EpisodeResult(record, answers, timings, [step.command for step in browsed.steps])


def _add_model_time(timings: Timings, before: EngineStats, after: EngineStats) -> None:
    timings.prompt_processing += after.prompt_seconds - before.prompt_seconds
    timings.generation += after.generation_seconds - before.generation_seconds
    timings.prompt_tokens += int(after.prompt_tokens - before.prompt_tokens)
    timings.generated_tokens += int(after.generated_tokens - before.generated_tokens)
