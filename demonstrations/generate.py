"""Generating scripted demonstrations over a question set: run the demonstrator on each question,
store every episode, verify every quote against its page, and tally what happened.

    summary = generate_demonstrations(questions, corpus, store, ScriptedConfig(detour_rate=0.2), seed=0)

From the command line: ``webgpt demos generate --corpus wiki --questions FILE``.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from browser_env.env import BrowserEnv
from browser_env.textmatch import verify_quote
from browser_env.web import Fetcher, FetchError
from demonstrations.schemas import EpisodeRecord, QuestionRecord, QuoteRecord
from demonstrations.scripted import ScriptedConfig, ScriptedDemonstrator
from demonstrations.store import EpisodeStore


class OpenCorpus(Protocol):
    name: str
    fetcher: Fetcher

    def make_env(self) -> BrowserEnv: ...


@dataclass
class GenerationSummary:
    """What a generation run did; ``failed_quotes`` lists quotes that did not verify (should be none)."""

    episodes: int = 0
    supported: int = 0
    alternatives: int = 0  # supported episodes beyond a question's first (other pages)
    declined: int = 0
    end_reasons: Counter[str] = field(default_factory=Counter)
    quotes: int = 0
    quotes_verified: int = 0
    detours: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    seconds: float = 0.0
    failed_quotes: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def episodes_per_second(self) -> float | None:
        return round(self.episodes / self.seconds, 2) if self.seconds else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "supported": self.supported,
            "alternatives": self.alternatives,
            "declined": self.declined,
            "end_reasons": dict(self.end_reasons),
            "quotes": self.quotes,
            "quotes_verified": self.quotes_verified,
            "detours": dict(self.detours),
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
            "episodes_per_second": self.episodes_per_second,
            "interrupted": self.interrupted,
        }


def question_seed(seed: int, question: str) -> int:
    """A per-question seed that does not depend on the order or the subset of questions."""
    return int(hashlib.sha1(f"{seed}\n{question}".encode()).hexdigest()[:12], 16)


def quote_verifies(fetcher: Fetcher, quote: QuoteRecord) -> bool:
    """The quote is the text at its recorded place on the very page it was taken from."""
    try:
        page = fetcher.fetch(quote.url)
    except FetchError:
        return False
    return verify_quote(page.text, quote.text, quote.start, quote.end, quote.page_sha256) is None


def generate_demonstrations(
    questions: Sequence[QuestionRecord],
    corpus: OpenCorpus,
    store: EpisodeStore,
    config: ScriptedConfig | None = None,
    *,
    seed: int = 0,
    episodes_per_question: int = 1,
    on_episode: Callable[[EpisodeRecord, GenerationSummary], None] | None = None,
) -> GenerationSummary:
    """Demonstrate each question (they need gold answers), storing each episode as soon as it ends.
    With ``episodes_per_question`` above 1, a supported question is demonstrated again, avoiding the
    pages already quoted, until a further episode finds no other support (that one is not stored) or
    the count is reached: distinct queries and pages for the same question. Ctrl-C stops cleanly: the
    episodes finished so far are stored and the summary says so."""
    if episodes_per_question < 1:
        raise ValueError("episodes_per_question must be at least 1")
    demonstrator = ScriptedDemonstrator(corpus.make_env(), config, corpus=corpus.name)
    summary = GenerationSummary()
    started = time.perf_counter()
    try:
        for question in questions:
            quoted: set[str] = set()
            for attempt in range(episodes_per_question):
                key = question.question if attempt == 0 else f"{question.question}\n{attempt}"
                episode = demonstrator.run(question, seed=question_seed(seed, key), avoid_urls=quoted)
                supported = bool(episode.metadata.get("supported"))
                if attempt and not supported:
                    break
                episode.metadata["attempt"] = attempt
                store.save_episode(episode)
                _tally(summary, episode, corpus.fetcher)
                summary.alternatives += bool(attempt)
                if on_episode is not None:
                    on_episode(episode, summary)
                if not supported:
                    break
                quoted |= {quote.url for quote in episode.quotes}
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


def _tally(summary: GenerationSummary, episode: EpisodeRecord, fetcher: Fetcher) -> None:
    summary.episodes += 1
    if episode.metadata.get("supported"):
        summary.supported += 1
    else:
        summary.declined += 1
    summary.end_reasons[str(episode.end_reason)] += 1
    summary.detours.update(episode.metadata.get("detours", []))
    summary.steps += len(episode.steps)
    for quote in episode.quotes:
        summary.quotes += 1
        if quote_verifies(fetcher, quote):
            summary.quotes_verified += 1
        else:
            summary.failed_quotes.append(f"episode {episode.id}: {quote.url}: {quote.text[:80]!r}")
