"""Answer-step rows from reading search results: the step where browsing beats reading, taught with
more examples than browsing episodes alone give.

For each question, BM25's top passages are read as a person reads a results list. The supporting
sentence is found with the demonstrator's own test (``best_sentence``: it contains a gold answer and
is about the question); the other quotes are sentences of other top passages that share the
question's words but hold no gold answer (what a browsing policy also collects). The quotes are
shuffled, and the answer, in the demonstrator's format, cites the supporting one:
``<answer> [k]. According to <title>, “<clause>” [k].`` So the weights learn which quote answers,
not that it is always quote [1]. The gold answer is used only to recognise the supporting sentence.

    rows = reading_rows(open_corpus("wiki"), questions, seed=0)   # dicts as ``demos export bc`` writes
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from browser_env.page import Page, domain_of
from browser_env.protocol.keywords import keywords, stems
from demonstrations.formats import CLAUSE_WORDS, answer_prompt
from demonstrations.scripted.reading import answer_text, best_sentence, quote_text, split_sentences

SOURCE = "reading"


@dataclass(frozen=True)
class ReadQuote:
    url: str
    title: str
    domain: str
    text: str


def _quote(passage: Any, text: str) -> ReadQuote:
    return ReadQuote(passage.url, passage.title, domain_of(passage.url), text)


def question_key(question: str) -> str:
    """A stable id for a question's rows (every variant of one question lands on the same side of a
    held-out split)."""
    return hashlib.sha256(" ".join(question.lower().split()).encode()).hexdigest()[:16]


def _distractors(passages: list[Any], question: str, gold: list[str], limit: int) -> list[ReadQuote]:
    """Sentences of other passages most about the question that hold no gold answer."""
    keys = keywords(question)
    golds = [g.lower() for g in gold if g.strip()]
    scored: list[tuple[int, int, ReadQuote]] = []
    for rank, passage in enumerate(passages):
        for _, sentence in split_sentences(passage.text.replace("\n", " ")):
            lowered = sentence.lower()
            if len(sentence.split()) < 6 or any(g in lowered for g in golds):
                continue
            shared = len(stems(sentence) & keys)
            if shared:
                scored.append((-shared, rank, _quote(passage, quote_text(sentence, "", 50))))
    scored.sort(key=lambda item: (item[0], item[1]))
    chosen: list[ReadQuote] = []
    titles: set[str] = set()
    for _, _, quote in scored:
        if len(chosen) >= limit:
            break
        if quote.title not in titles:  # one per page, as a reader quoting different results
            chosen.append(quote)
            titles.add(quote.title)
    return chosen


def reading_rows(
    corpus: Any,
    questions: Iterable[Any],
    *,
    seed: int = 0,
    top_k: int = 10,
    max_distractors: int = 2,
    variants: int = 1,
    clause_words: int = CLAUSE_WORDS,
) -> Iterator[dict[str, Any]]:
    """``variants`` answer rows (each with its own distractors and order) per question whose top
    ``top_k`` passages hold a supporting sentence.

    ``questions`` are records with ``question`` and ``gold_answers``; the rows carry ``prompt``,
    ``completion``, ``kind: answer``, ``source: reading``, ``episode_id`` (one per question), and the
    ``question``, ``gold_answers`` and ``quotes`` they were made from."""
    rng = random.Random(seed)
    search = corpus.search
    for record in questions:
        question, gold = record.question, list(record.gold_answers)
        ids = search.bm25.top(question, top_k)[0].tolist()
        passages = search.passages.get(ids)
        support = None
        for passage in passages:
            target = best_sentence(Page(passage.url, passage.title, passage.text), question, gold)
            if target is not None:
                support = (passage, target)
                break
        if support is None:
            continue
        passage, target = support
        text = quote_text(target.sentence, target.answer, 50)
        quote = _quote(passage, text)
        candidates = _distractors(
            [p for p in passages if p.id != passage.id], question, gold, max_distractors + variants
        )
        for _ in range(variants):
            quotes = [quote, *rng.sample(candidates, min(len(candidates), rng.randint(0, max_distractors)))]
            rng.shuffle(quotes)
            number = quotes.index(quote) + 1
            yield {
                "prompt": answer_prompt(question, quotes),
                "completion": answer_text(target, quote.title, quote.text, number, clause_words),
                "kind": "answer",
                "source": SOURCE,
                "episode_id": f"{SOURCE}:{question_key(question)}",
                "question": question,
                "gold_answers": gold,
                "quotes": [asdict(q) for q in quotes],
            }
