"""A fixed browsing schedule whose choices come from a relevance scorer.

The schedule: ``Search`` the question; open the result that scores highest (title and snippet); on the
page, ``Quote`` the sentences of the window that score highest (if they score well enough), otherwise
look further (``Scrolled down``, then ``Find in page:`` a word of the question), and go ``Back`` to the
next result when the page has nothing; ``End: Answer`` once ``target_quotes`` quotes are collected or
the pages to try run out; a second search uses the question's keywords. With no quote at all it stops
(``act`` returns None: the episode ends as "abandoned", i.e. nothing found).

With ``skim`` it reads each page it opens window by window to the end (``Scrolled down``, at most
``max_skim_windows``), weighing every sentence that shares a word with the question, then brings the
best one back into view (``Find in page:`` its first words) and quotes it: one quote per page.

Three scorers:

- ``WordOverlap``: the share of the question's words a passage contains. ``ScriptedPolicy()`` uses it:
  no model, for tests and demos.
- ``QuestionLikelihood``: how much a passage raises the language model's likelihood of the question
  (``log p(question | passage) - log p(question)``; zero-shot re-ranking as in
  Sachan et al., 2022, "Improving passage retrieval with zero-shot question generation"). With it
  the schedule is the ``scheduled`` mode of a language model when its ``webgpt.json`` says
  ``"reader": "likelihood"``: the model decides which result to open and what to quote; the schedule
  only orders the steps, so every action is valid and every quote verbatim.
- ``SentenceRanker`` (``agent/sentence_ranker.py``): a linear score fit on the training split.
  Scheduled browsing skims with it by default (``"reader": "ranker"``).
"""

from __future__ import annotations

import copy
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.corroboration import bind_search
from agent.policies.engine import LMEngine
from agent.policies.page_reading import (
    MAX_SKIM_WINDOWS,
    PageReading,
    ReadSentence,
    SecondSay,
    not_quoted,
    sentences_by_score,
    short_of_actions,
    window_sentences,
)
from agent.question_scores import QuestionScores
from browser_env import textmatch
from browser_env.protocol.keywords import distinct_content_words
from browser_env.web import SearchBackend

_WORD = re.compile(r"\w+")


def keywords(text: str) -> list[str]:
    """The question's content words, in order, without repeats."""
    return distinct_content_words(text, min_length=2)


Passage = tuple[str, str]  # (title of the page or result, text)


class RelevanceScorer(Protocol):
    """Scores passages against a question: higher is more relevant; ``threshold`` is the least a passage
    must score to be worth quoting."""

    threshold: float

    def score(self, question: str, passages: list[Passage]) -> list[float]: ...


@dataclass
class WordOverlap:
    """The share of the question's keywords found in the passage (0 to 1)."""

    threshold: float = 0.3

    def score(self, question: str, passages: list[Passage]) -> list[float]:
        wanted = set(keywords(question))
        if not wanted:
            return [0.0 for _ in passages]
        return [len(wanted & {w.lower() for w in _WORD.findall(text)}) / len(wanted) for _, text in passages]


@dataclass
class QuestionLikelihood:
    """How much the passage raises the model's log-likelihood of the question (in nats) over its title
    alone (so "It is 330 metres tall" on the page "Eiffel Tower" can match "How tall is the
    Eiffel Tower?")."""

    engine: LMEngine
    threshold: float = 0.0
    max_passage_tokens: int = 160
    kept_scores: QuestionScores[tuple[str, str]] = field(default_factory=QuestionScores)

    def _context(self, title: str, text: str) -> list[int]:
        head = self.engine.encode(f"Article: {title}\n")
        body = self.engine.encode(text)[: self.max_passage_tokens] if text else []
        return head + body + self.engine.encode("\nA question this answers:")

    def score(self, question: str, passages: list[Passage]) -> list[float]:
        target = self.engine.encode(" " + " ".join(question.split()))

        def compute(todo: list[Passage]) -> list[float]:
            return self.engine.score_target([self._context(title, text) for title, text in todo], target)

        keys = [(title, "") for title, _ in passages] + list(passages)
        scores = dict(zip(keys, self.kept_scores.get(question, keys, compute), strict=True))
        return [scores[(title, text)] - scores[(title, "")] for title, text in passages]


@dataclass
class ScheduleConfig:
    target_quotes: int = 2
    quotes_per_page: int = 2
    second_quote_ratio: float = 0.8  # a further quote from a page must score this share of the best one
    max_searches: int = 2
    max_pages: int = 3  # results opened per search
    max_scrolls: int = 2  # per page
    max_finds: int = 2  # per page
    skim: bool = False  # read each page window by window, then quote its best sentence
    results_in_order: bool = False  # open results in the search engine's order, not by the scorer
    max_skim_windows: int = MAX_SKIM_WINDOWS  # per page
    find_phrase_words: int = 6  # words of a sentence that Find in page looks for to bring it into view
    find_before_quote: bool = True  # skimming: bring the chosen sentence into view before quoting it
    pages_to_read: int = 1  # skimming: results read to the end before choosing the sentence to quote
    rerank_per_page: int = 3  # skimming with a reranker: the best sentences of each page it weighs
    rerank_weight: float = 0.25  # skimming with a reranker: its score's weight beside the scorer's
    rerank_best: int | None = None  # skimming with a reranker: only this many best options overall


@dataclass
class _PageState(PageReading):
    quotes: int = 0
    finds: list[str] = field(default_factory=list)
    best: float | None = None
    going_to: str | None = None  # skimming: the sentence to bring into view and quote
    sought: bool = False  # skimming: Find in page has brought ``going_to`` into view


def shortlist(scores: Sequence[float], threshold: float, limit: int | None = None) -> list[int]:
    """Indices of a page's sentences scoring at least ``threshold``, best first (ties: the earlier
    sentence), at most ``limit``: what skimming chooses among, or hands a reranker."""
    eligible = sorted((k for k, score in enumerate(scores) if score >= threshold), key=lambda k: -scores[k])
    return eligible[:limit]


class ScriptedPolicy:
    """The schedule in the module docstring, choosing with ``scorer`` (word overlap by default)."""

    def __init__(
        self,
        scorer: RelevanceScorer | None = None,
        config: ScheduleConfig | None = None,
        name: str = "scripted",
        temperature: float = 0.0,
        seed: int | None = None,
        reranker: RelevanceScorer | None = None,
    ) -> None:
        self.scorer = scorer or WordOverlap()
        self.config = config or ScheduleConfig()
        self.reranker = reranker
        self.name = name
        self.temperature = temperature
        self.random = random.Random(seed)
        self.engine = getattr(self.scorer, "engine", None)
        self.reset("")

    @property
    def deterministic(self) -> bool:
        """Whether every episode of a question takes the same steps (no sampling)."""
        return self.temperature <= 0

    def greedy(self) -> ScriptedPolicy:
        """A twin that always takes the best-scored choice (what one answer at temperature 0 does)."""
        twin = copy.copy(self)
        twin.temperature = 0.0
        twin.reset("")
        return twin

    def _pick(self, scores: list[float], eligible: list[int]) -> int:
        """The best eligible candidate, or at a temperature one drawn with probability ∝ exp(score / T)."""
        if self.temperature <= 0 or len(eligible) == 1:
            return max(eligible, key=lambda k: (scores[k], -k))
        top = max(scores[k] for k in eligible)
        weights = [math.exp((scores[k] - top) / self.temperature) for k in eligible]
        return self.random.choices(eligible, weights=weights)[0]

    def reset(self, question: str) -> None:
        self.question = question
        self.searches: list[str] = []
        self.opened: set[str] = set()
        self.opened_this_search = 0
        self.pages: dict[str, _PageState] = {}
        self.returning_to: str | None = None  # skimming: the page read earlier that holds the choice

    def sentences_read(self) -> list[ReadSentence]:
        """The sentences this episode weighed while skimming, best first (best-of-n's quote choices)."""
        return sentences_by_score(self.pages)

    def use_search(self, search: SearchBackend) -> None:
        """The episode's search, for a reranker that searches on its own (``agent.corroboration``)."""
        bind_search(self.reranker, search)

    def forget_scores(self) -> None:
        """Drop the passage scores kept for the current question, so the next episode scores from cold
        (benchmarks compare variants this way; best-of-n's episodes share the scores on purpose)."""
        for scorer in (self.scorer, self.reranker):
            cache = getattr(scorer, "kept_scores", None)
            if isinstance(cache, QuestionScores):
                cache.clear()

    def act(self, observation: str, info: dict[str, Any]) -> str | None:
        quotes = info.get("quotes") or []
        if len(quotes) >= self.config.target_quotes:
            return "End: Answer"
        url = info.get("url")
        if not url:
            return self._search() or self._finish(quotes)
        if info.get("on_search_page"):
            return (
                self._return(info)
                or (self._settle(info) if self._short_of_actions(info) else None)
                or self._open_result(info)
                or self._settle(info)
                or self._search()
                or self._finish(quotes)
            )
        return self._read(url, info) or self._leave(quotes, info)

    # ------------------------------------------------------------------------------------------------
    def _finish(self, quotes: list) -> str | None:
        return "End: Answer" if quotes else None

    def _search(self) -> str | None:
        if len(self.searches) >= self.config.max_searches:
            return None
        query = self.question if not self.searches else " ".join(keywords(self.question)) or self.question
        if query in self.searches:
            return None
        self.searches.append(query)
        self.opened_this_search = 0
        return f"Search {query}"

    def _open_result(self, info: dict[str, Any]) -> str | None:
        if self.opened_this_search >= self.config.max_pages:
            return None
        visible = {link["id"] for link in info.get("visible_links", [])}
        candidates = [
            r for r in info.get("search_results", []) if r["id"] in visible and r["url"] not in self.opened
        ]
        if not candidates:
            return None
        if self.config.results_in_order:
            chosen = candidates[0]
        else:
            passages = [("", f"{r['title']}. {r['snippet']}".strip()) for r in candidates]
            scores = self.scorer.score(self.question, passages)
            chosen = candidates[self._pick(scores, list(range(len(candidates))))]
        self.opened.add(chosen["url"])
        self.opened_this_search += 1
        return f"Clicked on link {chosen['id']}"

    def _read(self, url: str, info: dict[str, Any]) -> str | None:
        state = self.pages.setdefault(url, _PageState())
        window = info.get("window_text") or ""
        if self.config.skim:
            return self._skim(url, state, info)
        if state.quotes < self.config.quotes_per_page:
            sentences = not_quoted(window_sentences(info.get("window_paragraphs") or []), info)
            if sentences:
                title = info.get("title") or ""
                scores = self.scorer.score(self.question, [(title, sentence) for sentence in sentences])
                floor = self.scorer.threshold
                if state.best is not None:
                    floor = max(floor, state.best * self.config.second_quote_ratio)
                eligible = [k for k in range(len(sentences)) if scores[k] >= floor]
                if eligible:
                    best = self._pick(scores, eligible)
                    state.best = scores[best] if state.best is None else state.best
                    state.quotes += 1
                    return f"Quote: {sentences[best]}"
        if state.quotes:
            return None  # this page gave what it had
        _, last, total = info.get("scrollbar") or (0, 0, 0)
        if state.scrolls < self.config.max_scrolls and last < total - 1:
            state.scrolls += 1
            return "Scrolled down 1"
        window_words = set(keywords(window))
        for word in keywords(self.question):
            if len(state.finds) >= self.config.max_finds:
                break
            if word not in state.finds and word not in window_words:
                state.finds.append(word)
                return f"Find in page: {word}"
        return None

    def _skim(self, url: str, state: _PageState, info: dict[str, Any]) -> str | None:
        """Score every window's sentences while scrolling to the end of the page (or
        ``max_skim_windows``). Once ``pages_to_read`` pages are read, choose the sentence to quote among
        them (``_choose``), go back to its page if it is another, bring it into view and quote it."""
        if state.quotes:
            return None
        if state.going_to is not None:
            return self._go_to(state, info)
        if state.finished:
            return None  # read before, and what it holds was not chosen
        state.read_window(self.question, self.scorer, info)
        _, last, total = info.get("scrollbar") or (0, 0, 0)
        short = self._short_of_actions(info)
        if state.scrolls < self.config.max_skim_windows and last < total - 1 and not short:
            state.scrolls += 1
            return "Scrolled down 1"
        state.finished = True
        if sum(page.finished for page in self.pages.values()) < self.config.pages_to_read and not short:
            return None  # on to the next result
        chosen = self._choose(list(self.pages))
        if chosen is None:
            return None
        if chosen == url:
            return self._go_to(state, info)
        self.returning_to = chosen
        return None

    def _short_of_actions(self, info: dict[str, Any]) -> bool:
        """Skimming with few actions left (``page_reading.short_of_actions``)."""
        return self.config.skim and short_of_actions(info)

    def _choose(self, urls: list[str]) -> str | None:
        """The page (of ``urls``, read to the end) holding the sentence to quote, which becomes its
        ``going_to``: the scorer's best sentence of the pages read (at a temperature, one drawn by score).
        With a reranker, the scorer's ``rerank_per_page`` best eligible sentences of each page (of them, the
        ``rerank_best`` best overall when set) are weighed again, by the scorer's score plus
        ``rerank_weight`` times the reranker's."""
        options: list[tuple[str, str]] = []
        scores: list[float] = []
        for url in urls:
            state = self.pages[url]
            if not state.finished:
                continue
            sentences, page_scores = list(state.read), list(state.read.values())
            limit = self.config.rerank_per_page if self.reranker is not None else None
            eligible = shortlist(page_scores, self.scorer.threshold, limit)
            options += [(url, sentences[k]) for k in eligible]
            scores += [page_scores[k] for k in eligible]
        if not options:
            return None
        if self.reranker is not None:
            say = SecondSay(self.reranker, self.config.rerank_weight, self.config.rerank_best)
            scores = say.weigh(self.question, [(self.pages[url].title, s) for url, s in options], scores)
        url, sentence = options[self._pick(scores, list(range(len(options))))]
        self.pages[url].going_to = sentence
        return url

    def _go_to(self, state: _PageState, info: dict[str, Any]) -> str:
        """Quote ``state.going_to`` once it is in view; otherwise ``Find in page:`` its first words (or,
        without ``find_before_quote``, quote it from where the reader is)."""
        assert state.going_to is not None
        opening = " ".join(state.going_to.split()[: self.config.find_phrase_words])
        in_view = textmatch.normalize(opening) in textmatch.normalize(info.get("window_text") or "")
        if in_view or state.sought or not self.config.find_before_quote:
            state.quotes += 1
            return f"Quote: {state.going_to}"
        state.sought = True
        return f"Find in page: {opening}"

    def _return(self, info: dict[str, Any]) -> str | None:
        """On the results page: open again the page read earlier that holds the chosen sentence."""
        url, self.returning_to = self.returning_to, None
        if url is None:
            return None
        visible = {link["id"] for link in info.get("visible_links", [])}
        for result in info.get("search_results", []):
            if result["url"] == url and result["id"] in visible:
                return f"Clicked on link {result['id']}"
        # Not on this results page. Defensive: the choice is made before any new search, among pages of
        # this one (a page read earlier with an eligible sentence is chosen by _settle first).
        self.pages[url].going_to = None
        return None

    def _settle(self, info: dict[str, Any]) -> str | None:
        """Skimming, with no result left to read: choose among the pages read so far that this results
        page links to (fewer than ``pages_to_read``), and open the one holding the choice."""
        if not self.config.skim:
            return None
        visible = {link["id"] for link in info.get("visible_links", [])}
        here = {r["url"] for r in info.get("search_results", []) if r["id"] in visible}
        readable = [url for url, page in self.pages.items() if url in here and not page.quotes]
        self.returning_to = self._choose(readable)
        return self._return(info)

    def _leave(self, quotes: list, info: dict[str, Any]) -> str | None:
        short = self.config.skim and len(quotes) < self.config.target_quotes  # back to settle on another page
        if len(quotes) >= 1 and self.opened_this_search >= self.config.max_pages and not short:
            return "End: Answer"
        return "Back"
