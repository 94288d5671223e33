"""One episode: env.reset → policy → env.step … → answer → citation check, as an ``EpisodeRecord``.

    result = run_episode("Who designed the Eiffel Tower?", policy, corpus.search, corpus.fetcher,
                         answerer=answerer, corpus=corpus.name)
    print(result.answers[0].text)

Search and page loading are timed by wrapping the env's search backend and fetcher; model time comes
from the engines' counters (prompt processing vs generation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.answer import Answer, Answerer, compose_answer
from agent.config import MAX_ANSWER_CHARS
from agent.policies.base import Policy
from agent.policies.engine import EngineStats
from browser_env.env import BrowserEnv, EnvConfig
from browser_env.page import Page
from browser_env.protocol import EndReason
from browser_env.web import Fetcher, SearchBackend, SearchResult
from demonstrations.recording import RecordingEnv
from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuoteRecord, now


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
    config = config or EnvConfig()
    timings = Timings()
    engines = _engines(policy, answerer)
    before = _stats(engines)
    started = time.perf_counter()
    env = BrowserEnv(TimedSearch(search, timings), TimedFetcher(fetcher, timings), config)
    recording = RecordingEnv(env)
    observation, info = recording.reset(options={"question": question})
    policy.reset(question)
    end_reason: EndReason | None = None
    while not env.done:
        tick = time.perf_counter()
        command = policy.act(observation, info)
        timings.policy += time.perf_counter() - tick
        if command is None:
            end_reason = EndReason.ABANDONED
            break
        observation, _, _, _, info = recording.step(command)
        if on_step is not None:
            on_step(
                StepEvent(
                    len(recording.steps) - 1,
                    recording.steps[-1].command,
                    info["error"],
                    info["title"],
                    info["url"],
                    len(info["quotes"]),
                    info["actions_left"],
                    episode_index,
                )
            )
    steps = recording.steps
    end_reason = env.end_reason or end_reason
    quotes = env.quotes
    answers: list[Answer]
    if (end_reason is not None and end_reason.declined) or not quotes:
        answers = [compose_answer(question, None, quotes, end_reason)]
    else:
        tick = time.perf_counter()
        texts = [text[:MAX_ANSWER_CHARS] for text in answerer.write(question, quotes, n=answers_per_episode)]
        timings.answer += time.perf_counter() - tick
        tick = time.perf_counter()
        answers = [
            compose_answer(
                question,
                text,
                quotes,
                end_reason,
                fetcher if check_quotes else None,
                attribute=bool(getattr(answerer, "attribute", False)),
            )
            for text in texts
        ]
        timings.citation_check += time.perf_counter() - tick
    after = _stats(engines)
    timings.prompt_processing = after.prompt_seconds - before.prompt_seconds
    timings.generation = after.generation_seconds - before.generation_seconds
    timings.prompt_tokens = after.prompt_tokens - before.prompt_tokens
    timings.generated_tokens = after.generated_tokens - before.generated_tokens
    timings.total = time.perf_counter() - started
    first = answers[0]
    record = EpisodeRecord(
        question=question,
        source="model",
        model_id=policy.name,
        corpus=corpus,
        env_config=config.to_dict(),
        steps=steps,
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
    return EpisodeResult(record, answers, timings, [step.command for step in steps])
