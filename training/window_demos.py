"""Browsing demonstrations the guided policy can clone: one of the sentence ranker's schedules run on
training questions, each episode kept when a quote it collected holds a gold answer.

- ``PAGE_SCHEDULE`` (the skimming teacher, for guided skimming): search the question, open the result
  the ranker rates highest (title and snippet), read it to the end, quote its best sentence when the
  ranker rates one at its threshold, else go back to the next result; answer after one quote. Its rows
  are ``skimming_decisions`` (the scrolls, which guided skimming takes without the model, left out;
  each ``Quote:`` cut to the command, the ranker picking the sentence) and ``teacher_answer_rows``.
- ``WINDOW_SCHEDULE`` (for guided browsing one window at a time): the same, but it quotes a sentence
  of the window in view when the ranker rates one at its threshold, else scrolls, looks for a word of
  the question (``Find in page``) and goes back to the next result.

Each choice depends only on what the policy has seen (the pages it read, the results, the quotes
collected) and on the ranker, which guided browsing has too. The scripted demonstrator's choices do
not (it recognises the gold answer when it reads it), nor do scheduled browsing's (it reads three pages
to the end and remembers every sentence before it quotes), so this is the browsing the guided policy
can learn from. No model runs: the episodes' answers are extractive.

    webgpt train recipe --stages window_demos,guided      # the recipe stages that run it and train on it
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agent.policies import SKIM_SCHEDULE
from agent.policies.lm import MAX_PAGE_FINDS, MAX_PAGE_SCROLLS
from agent.policies.scripted import ScheduleConfig
from demonstrations.formats import CLAUSE_WORDS

WINDOW_SCHEDULE = ScheduleConfig(target_quotes=1, max_scrolls=MAX_PAGE_SCROLLS, max_finds=MAX_PAGE_FINDS)
"""One quote, then answer; on a page at most the scrolls and finds guided browsing allows itself; 3
results per search, 2 searches."""
PAGE_SCHEDULE = replace(SKIM_SCHEDULE, pages_to_read=1, results_in_order=False, find_before_quote=False)
"""Guided skimming's teacher: open the result the ranker rates highest on title and snippet, read it to
the end, quote its best sentence when the ranker rates one at its threshold, else go back to the next
result; answer after one quote."""
SCROLL = "Scrolled down"
QUOTE = "Quote:"


def teacher_answer_rows(
    episodes: Iterable[Any], clause_words: int = CLAUSE_WORDS
) -> Iterator[dict[str, Any]]:
    """An answer row for each kept episode whose first quote holds a gold answer the question does not
    name (whole words): the trained answer format citing that quote, its short answer worded as the
    quote words it (the skimming teacher answers extractively, so its own answers are not the rows)."""
    from browser_env.page import domain_of
    from demonstrations.formats import answer_prompt, cited_answer
    from demonstrations.reading_rows import ReadQuote
    from training.browsed_answers import supporting_quote

    for episode in episodes:
        if not episode.quotes:
            continue
        quotes = [ReadQuote(q.url, q.title, domain_of(q.url), q.text) for q in episode.quotes]
        found = supporting_quote(episode.question, list(episode.gold_answers), quotes[:1])
        if found is None:
            continue
        first, words = found
        yield {
            "prompt": answer_prompt(episode.question, quotes),
            "completion": cited_answer(words, 1, first.title, first.text, clause_words),
            "kind": "answer",
            "episode_id": episode.id,
            "step": None,
            "source": episode.source,
        }


def skimming_decisions(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Browsing ``rows`` less their scrolls down, each ``Quote:`` cut to the command itself: guided
    skimming reads a page to its end without asking the model, and the ranker, not the model, picks the
    sentence it quotes, often one the window in view no longer shows (rows that teach the model to
    write text it cannot see teach it to write answers its quotes do not hold)."""
    decisions = []
    for row in rows:
        completion = str(row["completion"])
        if completion.startswith(SCROLL):
            continue
        decisions.append({**row, "completion": QUOTE} if completion.startswith(QUOTE) else row)
    return decisions


@dataclass
class WindowDemoSummary:
    questions: int = 0
    kept: int = 0
    actions: int = 0  # in the kept episodes
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "kept": self.kept,
            "kept_share": round(self.kept / self.questions, 4) if self.questions else None,
            "actions_per_kept": round(self.actions / self.kept, 2) if self.kept else None,
            "seconds": round(self.seconds, 1),
        }


def window_demonstrations(
    questions: Sequence[Any],
    corpus: Any,
    store: Any,
    *,
    ranker: Any = None,
    schedule: ScheduleConfig = WINDOW_SCHEDULE,
    on_question: Callable[[int, int, WindowDemoSummary], None] | None = None,
) -> WindowDemoSummary:
    """Browse each of ``questions`` (with ``question`` and ``gold_answers``) in ``corpus`` on the window
    schedule with ``ranker`` (default: the shipped sentence ranker) and save to ``store`` each episode
    whose quotes hold a gold answer, with its gold answers."""
    from agent.policies.scripted import ScriptedPolicy
    from agent.rollout import run_episode
    from agent.sentence_ranker import SHIPPED_RANKER, SentenceRanker
    from training.answer_metrics import contains_gold

    ranker = ranker or SentenceRanker.load(SHIPPED_RANKER)
    summary = WindowDemoSummary()
    started = time.perf_counter()
    for question in questions:
        policy = ScriptedPolicy(ranker, schedule, name="ranker-window")
        # no answerer given: the extractive one, so no model runs
        record = run_episode(
            question.question, policy, corpus.search, corpus.fetcher, corpus=corpus.name
        ).record
        found = any(contains_gold(quote.text, question.gold_answers) for quote in record.quotes)
        summary.questions += 1
        if found:
            kept = {"gold_answers": list(question.gold_answers), "source": "scripted"}  # no model browsed
            store.save_episode(record.model_copy(update=kept))
            summary.kept += 1
            summary.actions += len(record.steps)
        summary.seconds = time.perf_counter() - started
        if on_question is not None:
            on_question(summary.questions, len(questions), summary)
    return summary
