"""Answer rows from scheduled browsing's own quotes: which of several quotes answers the question.

Scheduled browsing reads three results to the end and quotes the sentence the sentence ranker scores
highest. Quoting the ranker's best sentence of each of the three pages instead (``MAX_QUOTED_PAGES``) puts a
sentence holding the gold answer among the quotes for a third more questions, but the answer model then
has to tell which quote answers, and the reading rows it learnt that from (``demonstrations.reading_rows``)
pair the supporting sentence with distractors chosen by shared words, easier than the ranker's own
runners-up. These rows are made from that browsing itself: for each training question, the quotes the
ranker chose on the three pages, and, when one of them holds a gold answer that the question does not
(as whole words), the answer citing the first such quote, its short answer worded as the quote words it,
in the demonstrations' format. Each question gives the
quotes in the order browsing collected them (the ranker's best first, as an answer model sees them)
and ``variants - 1`` shuffles. The gold answer is used only to recognise the supporting quote;
no model runs.

    rows = browsed_answer_rows(open_corpus("wiki"), questions)

Measured on the E set (docs/training.md): the 135M policy trained on these rows answered from three
quotes no better than from the ranker's best one alone (67 or 63 right against 68), so it is opt-in.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from typing import Any

from agent.config import MAX_QUOTED_PAGES
from agent.policies import SKIM_SCHEDULE
from agent.policies.scripted import ScheduleConfig
from browser_env.page import domain_of
from demonstrations.formats import CLAUSE_WORDS, answer_pattern, answer_prompt, cited_answer
from demonstrations.reading_rows import ReadQuote, question_key

SOURCE = "browsed"


def quoting_schedule(quotes: int = MAX_QUOTED_PAGES) -> ScheduleConfig:
    """Scheduled browsing's skimming, quoting the best sentence of ``quotes`` pages instead of one."""
    return replace(SKIM_SCHEDULE, target_quotes=quotes)


def browsed_answer_rows(
    corpus: Any,
    questions: Sequence[Any],
    *,
    ranker: Any = None,
    quotes: int = MAX_QUOTED_PAGES,
    variants: int = 1,
    seed: int = 0,
    clause_words: int = CLAUSE_WORDS,
    on_question: Callable[[int, int, int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """``variants`` answer rows for each of ``questions`` (with ``question`` and ``gold_answers``) whose
    browse collected more than one quote and a quote holding a gold answer. The rows carry what
    ``demonstrations.reading_rows`` rows carry, with ``source: browsed``. ``on_question(done, total,
    kept)`` reports progress."""
    from agent.policies.scripted import ScriptedPolicy
    from agent.rollout import run_episode
    from agent.sentence_ranker import SHIPPED_RANKER, SentenceRanker

    ranker = ranker or SentenceRanker.load(SHIPPED_RANKER)
    schedule = quoting_schedule(quotes)
    rng = random.Random(seed)
    kept = 0
    for done, record in enumerate(questions, 1):
        policy = ScriptedPolicy(ranker, schedule, name="ranker-skim")
        browse = run_episode(record.question, policy, corpus.search, corpus.fetcher, corpus=corpus.name)
        episode = browse.record
        read = [ReadQuote(q.url, q.title, domain_of(q.url), q.text) for q in episode.quotes]
        rows = list(_rows(record.question, list(record.gold_answers), read, rng, variants, clause_words))
        kept += bool(rows)
        yield from rows
        if on_question is not None:
            on_question(done, len(questions), kept)


def _rows(
    question: str,
    gold: list[str],
    quotes: list[ReadQuote],
    rng: random.Random,
    variants: int,
    clause_words: int,
) -> Iterator[dict[str, Any]]:
    if len(quotes) < 2:
        return  # one quote: nothing to choose between
    found = supporting_quote(question, gold, quotes)
    if found is None:
        return
    quote, words = found
    for variant in range(variants):
        order = list(quotes)
        if variant:
            rng.shuffle(order)
        number = order.index(quote) + 1
        yield {
            "prompt": answer_prompt(question, order),
            "completion": cited_answer(words, number, quote.title, quote.text, clause_words),
            "kind": "answer",
            "source": SOURCE,
            "episode_id": f"{SOURCE}:{question_key(question)}",
            "question": question,
            "gold_answers": gold,
            "quotes": [asdict(q) for q in order],
        }


def supporting_quote(question: str, gold: list[str], quotes: list[ReadQuote]) -> tuple[ReadQuote, str] | None:
    """The first quote holding a gold answer the question does not, with the words it uses for it."""
    answers = [g for g in gold if g.strip() and not answer_pattern(g).search(question)]
    for quote in quotes:
        for answer in answers:
            match = answer_pattern(answer).search(quote.text)
            if match:
                return quote, match.group(0)
    return None
