"""A scripted demonstrator: browses like a careful person to bootstrap behaviour cloning.

For a question with gold answers it drives the real ``BrowserEnv`` through its command language, so
every step it takes is one a person could have typed and every quote is verified by the environment:

1. ``Search`` the question (later, if needed, a keyword reformulation of it);
2. open the most promising results (by the question's words in their titles and snippets; the gold
   answer plays no part, so a cloned policy could choose the same), skipping pages it has seen;
3. on a page holding a sentence that contains a gold answer and is about the question (see
   ``best_sentence``), bring that sentence into view (``Scrolled down`` when it is near, else
   ``Find in page:`` with a question word from it, since a policy cannot type an answer it has not
   read yet), ``Quote`` it; pages without one it leaves with ``Back``;
4. ``End: Answer`` and write ``<answer> [1]. According to <title>, “<clause of the quote>” [1].``

Detours, each drawn per episode with probability ``detour_rate`` from a seeded generator, show a
cloned policy how to recover: a vague first search that it then reformulates, a wrong result opened
and left with ``Back``, and scrolling past the answer then back up.

When it finds no supporting sentence within ``max_searches`` searches and ``max_pages`` pages per
search, it ends with ``End: Nonsense`` and marks the episode ``metadata["supported"] = False``. The
choice is deliberate: the environment's only way to stop without answering is a decline, and what a
cloned policy should learn from these episodes is to stop after a bounded, honest search instead of
quoting something irrelevant or burning the whole action budget. Exports keep these episodes by default
(``include_declined``); drop them when a corpus leaves most questions unsupported and the policy should
learn to answer rather than decline.

    env = open_corpus("wiki").make_env()
    episode = ScriptedDemonstrator(env, corpus="wiki").run("who wrote ...", ["Bobby Scott"], seed=0)

From the command line: ``webgpt demos generate --corpus wiki --questions FILE``.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from browser_env.env import BrowserEnv, wrap_lines
from browser_env.page import Page
from browser_env.protocol import EndReason
from browser_env.protocol.keywords import keywords, stems
from browser_env.web import FetchError
from demonstrations.formats import CLAUSE_WORDS
from demonstrations.recording import RecordingEnv
from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuestionRecord, QuoteRecord, now
from demonstrations.scripted.reading import (
    Target,
    TermWeight,
    answer_text,
    best_sentence,
    find_text,
    quote_text,
    search_queries,
    vague_query,
)
from demonstrations.scripted.similarity import QuestionSimilarity

MODEL_ID = "scripted-v1"
DETOURS = ("reformulate", "wrong_page", "scroll_past")


@dataclass
class ScriptedConfig:
    """How the demonstrator browses. ``detour_rate``: probability of each detour per episode;
    ``max_searches``/``max_pages``: searches, and results opened per search, before declining;
    ``min_overlap``/``min_coverage``: how many of the question's content words a supporting passage
    with its page title and section heading must share (``min_coverage`` weighted by how rare each word
    is in the corpus when ``weighted`` and the search engine can say); ``max_quote_words``: longer
    sentences are quoted as a window around the answer; ``clause_words``: words of the quote repeated in
    the answer; ``min_similarity``: how close in meaning (MiniLM cosine) a supporting passage must be
    to the question, None for no such check."""

    detour_rate: float = 0.0
    max_searches: int = 3
    max_pages: int = 8
    min_overlap: int = 2
    min_coverage: float = 0.6
    weighted: bool = True
    min_similarity: float | None = 0.55
    max_quote_words: int = 50
    clause_words: int = CLAUSE_WORDS
    decline_command: str = "End: Nonsense"
    model_id: str = MODEL_ID


@dataclass
class _Run:
    question: str
    gold: list[str]
    rng: random.Random
    detours: set[str]
    recording: RecordingEnv
    taken: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    seen_urls: set[str] = field(default_factory=set)
    opened_because: dict[str, str] = field(default_factory=dict)
    pages: list[dict[str, str]] = field(default_factory=list)


class ScriptedDemonstrator:
    """Runs episodes on ``env`` (a ``BrowserEnv``); ``corpus`` names the web for the episode record."""

    def __init__(
        self, env: BrowserEnv, config: ScriptedConfig | None = None, *, corpus: str | None = None
    ) -> None:
        self.env = env
        self.config = config or ScriptedConfig()
        self.corpus = corpus
        self.weight = term_weight(env.search_backend) if self.config.weighted else None
        self.similarity = QuestionSimilarity() if self.config.min_similarity is not None else None

    # ------------------------------------------------------------------------------------------ episode
    def run(
        self,
        question: str | QuestionRecord,
        gold_answers: list[str] | None = None,
        *,
        seed: int | None = None,
        avoid_urls: Collection[str] = (),
    ) -> EpisodeRecord:
        """One whole episode for ``question``; ``gold_answers`` default to the record's own. Pages in
        ``avoid_urls`` (quoted by earlier episodes of the question) are not opened, so a further episode
        finds other support or declines."""
        record = question if isinstance(question, QuestionRecord) else None
        text = record.question if record else str(question)
        gold = [
            a
            for a in (gold_answers if gold_answers is not None else record.gold_answers if record else [])
            if a.strip()
        ]
        if not gold:
            raise ValueError(f"the scripted demonstrator needs gold answers to look for: {text!r}")
        rng = random.Random(seed)
        detours = {name for name in DETOURS if rng.random() < self.config.detour_rate}
        run = _Run(text, gold, rng, detours, RecordingEnv(self.env), seen_urls=set(avoid_urls))
        created = now()
        run.recording.reset(seed=seed, options={"question": text})
        target_quote, reason = self._browse(run)
        answer = None
        if target_quote is not None and not self.env.done:
            self._step(run, "End: Answer")
        if target_quote is not None and self.env.end_reason in (EndReason.ANSWER, EndReason.QUOTE_BUDGET):
            answer = self._write_answer(target_quote)
        elif not self.env.done:
            self._step(run, self.config.decline_command)
        supported = answer is not None
        metadata: dict[str, Any] = {
            "supported": supported,
            "detours": sorted(set(run.taken)),
            "queries": run.queries,
            "pages": run.pages,
            "seed": seed,
        }
        if avoid_urls:
            metadata["avoided_urls"] = sorted(avoid_urls)
        if record is not None:
            metadata["question_id"] = record.id
        if supported and target_quote is not None:
            metadata["answer_found"] = target_quote[1].answer
            metadata["gold_answer"] = target_quote[1].gold_answer
            metadata["support"] = target_quote[1].reason
        elif reason:
            budget_out = self.env.end_reason == EndReason.ACTION_BUDGET
            metadata["reason"] = "action budget ran out" if budget_out else reason
        return EpisodeRecord(
            question=text,
            source="scripted",
            annotator=self.config.model_id,
            model_id=self.config.model_id,
            corpus=self.corpus,
            env_config=self.env.config.to_dict(),
            steps=run.recording.steps,
            quotes=[QuoteRecord(**quote.to_record()) for quote in self.env.quotes],
            answer=answer,
            end_reason=self.env.end_reason,
            gold_answers=gold,
            metadata=metadata,
            created_at=created,
            finished_at=now(),
        )

    def _browse(self, run: _Run) -> tuple[tuple[QuoteRecord, Target] | None, str | None]:
        queries = search_queries(run.question, self.weight)[: self.config.max_searches]
        if "reformulate" in run.detours:
            vague = vague_query(run.question)
            if vague and vague not in queries:
                run.taken.append("reformulate")
                self._search(run, vague)
                if self._results_page() and self._can_scroll_down():
                    self._step(run, "Scrolled down 1")
        for query in queries:
            if self.env.done:
                break
            if not self._search(run, query):
                continue
            ranked = self._rank_results(run)
            if "wrong_page" in run.detours and "wrong_page" not in run.taken:
                spare = ranked[self.config.max_pages :] or ranked[1:]
                self._wrong_page(run, run.rng.sample(spare, len(spare)))
            unseen = [(link_id, url) for link_id, url in ranked if url not in run.seen_urls]
            for link_id, url in unseen[: self.config.max_pages]:
                if self.env.done:
                    break
                run.seen_urls.add(url)
                if not self._step(run, f"Clicked on link {link_id}"):
                    continue
                found = self._quote_on_page(run)
                if found is not None:
                    return found, None
                if not self.env.done:
                    self._step(run, "Back")
        return None, "no page with a sentence containing a gold answer and the question's words"

    # ------------------------------------------------------------------------------------------ steps
    def _step(self, run: _Run, command: str) -> bool:
        """Take one step, record it, and say whether it worked."""
        if self.env.done:
            return False
        _, _, _, _, info = run.recording.step(command)
        return info["error"] is None

    def _search(self, run: _Run, query: str) -> bool:
        run.queries.append(query)
        return self._step(run, f"Search {query}")

    def _results_page(self) -> bool:
        return bool(self.env.info["on_search_page"])

    def _can_scroll_down(self) -> bool:
        _, last, total = self.env.info["scrollbar"]
        return last + 1 < total

    def _rank_results(self, run: _Run) -> list[tuple[int, str]]:
        """Unseen results, most promising first by what the results page shows: first those whose snippet
        answers the question (it holds a gold answer and passes the support test: the gold is used only
        to recognise the answer when it is read, as a person reading the snippets would), then by the
        question's words in the title (counted double) and the snippet; ties keep the engine's order."""
        if not self._results_page():
            return []
        keys = keywords(run.question)
        scored = []
        for result in self.env.info["search_results"]:
            if result["url"] in run.seen_urls:
                continue
            blurb = f"{result['title']} {result['snippet']}"
            overlap = len(keys & stems(result["title"])) * 2 + len(keys & stems(blurb))
            shown = Page(result["url"], result["title"], result["snippet"])
            answers = self._best_sentence(shown, run) is not None
            run.opened_because[result["url"]] = (
                "its snippet answers the question"
                if answers
                else f"its title and snippet share {overlap} question word(s) (title words count double)"
            )
            scored.append((not answers, -overlap, result["rank"], result["id"], result["url"]))
        scored.sort()
        return [(link_id, url) for *_, link_id, url in scored]

    def _wrong_page(self, run: _Run, candidates: list[tuple[int, str]]) -> None:
        """Open a result that does not hold the answer, glance at it, and go back."""
        for link_id, url in candidates:
            try:
                page = self.env.fetcher.fetch(url)
            except FetchError:
                continue
            if self._best_sentence(page, run) is not None:
                continue
            run.seen_urls.add(url)
            if not self._step(run, f"Clicked on link {link_id}"):
                return
            run.taken.append("wrong_page")
            if self._can_scroll_down():
                self._step(run, "Scrolled down 1")
            self._step(run, "Back")
            return

    def _quote_on_page(self, run: _Run) -> tuple[QuoteRecord, Target] | None:
        page = self.env.page
        if page is None:
            return None
        misses: list[str] = []
        target = self._best_sentence(page, run, misses)
        verdict = (
            target.reason if target else "; ".join(dict.fromkeys(misses)) or "no sentence holds a gold answer"
        )
        run.pages.append(
            {
                "url": page.url,
                "title": page.title,
                "opened_because": run.opened_because.get(page.url, ""),
                "verdict": ("quoted: " if target else "refused: ") + verdict,
            }
        )
        if target is None:
            return None
        self._bring_into_view(run, page, target)
        if "scroll_past" in run.detours and self._can_scroll_down() and not self.env.done:
            run.taken.append("scroll_past")
            self._step(run, "Scrolled down 1")
            self._step(run, "Scrolled up 1")
        quote = quote_text(target.sentence, target.answer, self.config.max_quote_words)
        if not self._step(run, f"Quote: {quote}"):
            return None
        return QuoteRecord(**self.env.quotes[-1].to_record()), target

    def _bring_into_view(self, run: _Run, page: Page, target: Target) -> None:
        """Scroll when the answer is at most two windows below, else Find in page (repeated if needed)."""
        window = self.env.config.window_lines
        lines = wrap_lines(page.text, self.env.config.line_width)
        line = next((i for i, (_, end) in enumerate(lines) if end > target.answer_offset), len(lines) - 1)
        top = self.env.info["scrollbar"][0]
        if top <= line < top + window:
            return
        below = (line - top) // window
        if 0 < below <= 2:
            self._step(run, f"Scrolled down {below}")
            return
        found = find_text(page.text, run.question, target, lines[top][0] if lines else 0)
        if found is not None:
            needle, presses = found
            for _ in range(presses):
                if self.env.done or not self._step(run, f"Find in page: {needle}"):
                    break
                if self._in_view(line):
                    return
        for _ in range(40):  # skim towards it, three windows at a time
            if self.env.done or self._in_view(line):
                return
            top = self.env.info["scrollbar"][0]
            if line >= top + window:
                self._step(run, f"Scrolled down {min(3, (line - top) // window)}")
            else:
                self._step(run, f"Scrolled up {min(3, -(-(top - line) // window))}")

    def _in_view(self, line: int) -> bool:
        top = self.env.info["scrollbar"][0]
        return top <= line < top + self.env.config.window_lines

    def _best_sentence(self, page: Page, run: _Run, misses: list[str] | None = None) -> Target | None:
        return best_sentence(
            page,
            run.question,
            run.gold,
            min_overlap=self.config.min_overlap,
            min_coverage=self.config.min_coverage,
            weight=self.weight,
            max_words=self.config.max_quote_words,
            similarity=self.similarity,
            min_similarity=self.config.min_similarity or 0.0,
            misses=misses,
        )

    def _write_answer(self, found: tuple[QuoteRecord, Target]) -> AnswerRecord:
        quote, target = found
        text = answer_text(target, quote.title, quote.text, 1, self.config.clause_words)
        return AnswerRecord(text=text, citations=[1])


def term_weight(search: object) -> TermWeight | None:
    """How rare a word is in the corpus behind ``search`` (BM25's IDF), when it has a BM25 index."""
    bm25 = getattr(search, "bm25", None)
    if bm25 is None:
        return None
    return functools.lru_cache(maxsize=65536)(bm25.idf)
