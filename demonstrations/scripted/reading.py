"""What the scripted demonstrator reads and types: search queries, the supporting sentence on a page,
the text to Find, the quote and the answer's clause. Pure text heuristics, no environment."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from browser_env import textmatch
from browser_env.page import Page
from browser_env.protocol import QUOTE_SEPARATOR, strip_links
from browser_env.protocol.keywords import GENERIC, STOPWORDS, keywords, stem, stems, words

_WORD = re.compile(r"[\w']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\[\d+\]|[\"”’)\]])*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_MIN_SENTENCE_WORDS = 5


@dataclass(frozen=True)
class Target:
    """The sentence to quote: where it is, and the answer inside it."""

    sentence: str
    answer: str
    gold_answer: str
    answer_offset: int
    sentence_offset: int
    score: float


def search_queries(question: str) -> list[str]:
    """The question as typed, then a reformulation: its content words without generic ones (or, when it
    has none, without its shortest content word)."""
    first = " ".join(question.strip().rstrip("?").split())
    content = [w for w in words(question) if w not in STOPWORDS]
    specific = [w for w in content if w not in GENERIC]
    if len(specific) == len(content) and len(content) >= 3:
        shortest = min(content, key=len)
        specific = [w for w in content if w != shortest]
    second = " ".join(specific)
    return [first, second] if second and len(specific) < len(content) else [first]


def vague_query(question: str) -> str:
    """A too-broad first search: the question's single longest content word."""
    content = [w for w in words(question) if w not in STOPWORDS]
    return max(content, key=len) if content else ""


def answer_pattern(answer: str) -> re.Pattern[str]:
    """The answer as whole words, any case, any whitespace between its words."""
    parts = [re.escape(part) for part in answer.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.IGNORECASE)


def split_sentences(paragraph: str) -> list[tuple[int, str]]:
    """Sentences of ``paragraph`` with their start offsets."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        out.append((start, paragraph[start : match.start()].strip()))
        start = match.end()
    out.append((start, paragraph[start:].strip()))
    return [(s, t) for s, t in out if t]


def best_sentence(
    page: Page, question: str, gold: list[str], *, min_overlap: int = 2, min_coverage: float = 0.6
) -> Target | None:
    """The sentence on ``page`` that contains a gold answer (as whole words, not inside a ``[n]``
    reference mark) and is about the question, judged on the question's content words found in the
    sentence or in the page title: at least ``min_overlap`` and ``min_coverage`` of them, one at least
    in the sentence itself, and every word that looks specific: numbers, short acronyms (``uk``,
    ``nhl``), one of the longest words, and both words of one adjacent pair (``lost girl``) when
    the question has such pairs."""
    keys = keywords(question)
    answer_stems = set().union(*(stems(a) for a in gold)) if gold else set()
    keys -= answer_stems
    needed = min(len(keys), max(min_overlap, math.ceil(min_coverage * len(keys))))
    sequence = [w for w in words(question) if stem(w) in keys]
    required = {stem(w) for w in sequence if any(c.isdigit() for c in w) or _acronym(w)}
    content = [w for w in sequence if stem(w) not in required]
    longest = {stem(w) for w in content if len(w) == max(map(len, content))} if content else set()
    question_words = words(question)
    pairs = [
        {stem(a), stem(b)}
        for a, b in itertools.pairwise(question_words)
        if stem(a) in keys and stem(b) in keys and stem(a) != stem(b)
    ]
    title_stems = stems(page.title) & keys
    patterns = [(answer, answer_pattern(answer)) for answer in gold if answer.strip()]
    best: Target | None = None
    offset = 0
    for raw in page.text.split("\n"):
        start_of_line, offset = offset, offset + len(raw) + 1
        if not raw.strip():
            continue
        plain = strip_links(raw)
        if not any(p.search(plain) for _, p in patterns):
            continue
        for _, sentence in split_sentences(plain):
            if QUOTE_SEPARATOR in sentence or len(sentence.split()) < _MIN_SENTENCE_WORDS:
                continue
            found = next(
                ((a, m) for a, p in patterns for m in p.finditer(sentence) if not _in_reference(sentence, m)),
                None,
            )
            if found is None:
                continue
            gold_answer, match = found
            shared = stems(sentence) & keys
            about = shared | title_stems
            if keys and (not shared or len(about) < needed or not required <= about):
                continue
            if (longest and not longest & about) or (pairs and not any(pair <= about for pair in pairs)):
                continue
            score = len(shared) + 0.5 * len(title_stems) - 0.001 * len(sentence)
            if best is None or score > best.score:
                span = textmatch.find_span(page.text, sentence, start_of_line)
                answer_span = textmatch.find_span(page.text, match.group(0), span[0]) if span else None
                if answer_span is None:
                    continue
                best = Target(
                    sentence=sentence,
                    answer=match.group(0),
                    gold_answer=" ".join(gold_answer.split()),
                    answer_offset=answer_span[0],
                    sentence_offset=span[0],
                    score=score,
                )
    return best


def _acronym(word: str) -> bool:
    """Short words that are likely abbreviations: two letters, or three without a vowel (nhl, bbc)."""
    return word.isalpha() and (len(word) <= 2 or (len(word) == 3 and not set(word) & set("aeiou")))


def _in_reference(text: str, match: re.Match[str]) -> bool:
    """Whether the match is a reference mark like ``[25]``."""
    return text[match.start() - 1 : match.start()] == "[" and text[match.end() : match.end() + 1] == "]"


def find_text(
    page_text: str, question: str, target: Target, start: int, max_presses: int = 3
) -> tuple[str, int] | None:
    """What a reader would type into Find to reach ``target``, and how many presses it takes from
    offset ``start``: a question word from its sentence, or else the answer (a policy cannot know the
    answer before reading it, so question words win ties); None if every choice needs more than
    ``max_presses`` presses."""
    keys = keywords(question)
    candidates = [
        w
        for w in dict.fromkeys(_WORD.findall(target.sentence))
        if w.lower() not in STOPWORDS and stem(w.lower()) in keys
    ]
    end = target.sentence_offset + len(target.sentence)
    best: tuple[int, int, str, int] | None = None  # (presses + penalty, -length, text, presses)
    for penalty, needle in [*((0, w) for w in candidates), (1, target.answer)]:
        presses, at = 0, start if start <= target.sentence_offset else 0
        while (span := textmatch.find_span(page_text, needle, at)) is not None and span[0] < end:
            presses += 1
            if span[0] >= target.sentence_offset:
                option = (presses + penalty, -len(needle), needle, presses)
                best = option if best is None or option < best else best
                break
            at = span[0] + 1
    if best is None or best[3] > max_presses:
        return None
    return best[2], best[3]


def quote_text(sentence: str, answer: str, max_words: int) -> str:
    """The sentence, or a window of ``max_words`` words around the answer when it is longer."""
    tokens = sentence.split()
    if len(tokens) <= max_words:
        return sentence
    return _window(tokens, answer, max_words)


def clause_around(text: str, answer: str, max_words: int) -> str:
    """Up to ``max_words`` words of ``text`` around ``answer``, with ellipses where it was cut."""
    tokens = text.split()
    inner = " ".join(tokens) if len(tokens) <= max_words else _window(tokens, answer, max_words)
    head = "" if " ".join(tokens).startswith(inner) else "…"
    tail = "" if " ".join(tokens).endswith(inner) else "…"
    return f"{head}{inner.rstrip('.')}{tail}"


def answer_text(target: Target, title: str, quote: str, number: int, clause_words: int) -> str:
    """The demonstrations' answer: the gold answer as the quote words it, then the clause of quote
    ``number`` around it: ``<answer> [n]. According to <title>, “<clause>” [n].``"""
    clause = clause_around(quote, target.answer, clause_words)
    return f"{target.gold_answer} [{number}]. According to {title}, “{clause}” [{number}]."


def _window(tokens: list[str], answer: str, max_words: int) -> str:
    joined = " ".join(tokens)
    match = answer_pattern(answer).search(joined)
    at = len(joined[: match.start()].split()) if match else 0
    start = max(0, min(at - max_words // 3, len(tokens) - max_words))
    return " ".join(tokens[start : start + max_words])
