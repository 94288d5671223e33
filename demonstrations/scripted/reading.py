"""What the scripted demonstrator reads and types: search queries, the supporting sentence on a page,
the text to Find, the quote and the answer's clause. Pure text heuristics, no environment."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from browser_env import textmatch
from browser_env.abbreviations import sentence_spans
from browser_env.page import Page
from browser_env.protocol import QUOTE_SEPARATOR, strip_links
from browser_env.protocol.keywords import GENERIC, STOPWORDS, content_words, keywords, stem, stems, words
from demonstrations.formats import answer_pattern, cited_answer, window_around

_WORD = re.compile(r"[\w']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\[\d+\]|[\"”’)\]_])*\s+(?=[\"“‘(\[_]?[A-Z0-9])")
_MIN_SENTENCE_WORDS = 5
#: Words that frame a question ("is located in", "known as", "came from") rather than say what it is
#: about: a supporting passage need not repeat them, so they weigh little.
_QUESTION_FRAME_TEXT = """
    call calls come comes came coming consider considered define defined does get gets go goes happen
    happened happens held know known locate located location mean means meaning refer referred refers
    situated stand stands take takes term terms took type use used uses word
    build builds built create created creates creator invent invented inventor make makes made
"""
QUESTION_FRAME = frozenset(_QUESTION_FRAME_TEXT.split())
_FRAME_WEIGHT = 0.25
_NARROW_WORDS = 3  # words in the narrowest query: the question's rarest
_PAIR_WAIVED = 0.8
_SUPERLATIVES_TEXT = """
    largest biggest highest longest oldest youngest tallest smallest shortest fastest deepest richest
    greatest earliest latest closest heaviest hottest coldest lowest strongest busiest newest
"""
_RANKING: dict[str, tuple[str, ...]] = {
    "most": ("record", "all-time", "highest", "largest"),
    "least": ("fewest", "lowest"),
    "first": ("earliest", "original", "debut", "founded", "began"),
    "last": ("latest", "final", "recent", "recently", "most"),
    "best": ("top", "highest"),
    "worst": ("lowest",),
    **{w: () for w in _SUPERLATIVES_TEXT.split()},
}
_MISSING_SHARE = 0.6  # a question word missing from the passage weighs less than this share of the rarest
_ANAPHORA = re.compile(r"^(?:\S+\s+){0,7}?(?:he|she|it|they|his|her|its|their|this|these)\b", re.IGNORECASE)
_BACK_MATTER = frozenset(
    [
        "references",
        "notes",
        "sources",
        "bibliography",
        "further reading",
        "external links",
        "see also",
        "citations",
    ]
)  # coverage at which no adjacent pair of question words needs to be found together
_NUMBER_TEXT = "zero one two three four five six seven eight nine ten eleven twelve"
_NUMBER_STEMS = [stem(name) for name in _NUMBER_TEXT.split()]
_NUMBER_WORDS = {
    **{str(i): name for i, name in enumerate(_NUMBER_STEMS)},
    **{name: str(i) for i, name in enumerate(_NUMBER_STEMS)},
}


TermWeight = Callable[[str], float]
Similarity = Callable[[str, str], float]


@dataclass(frozen=True)
class Target:
    """The passage to quote (the answer's sentence, after the sentence before it when that one says what
    the answer is about): where it is, the answer inside it, and why it was judged to support it."""

    sentence: str
    answer: str
    gold_answer: str
    answer_offset: int
    sentence_offset: int
    score: float
    coverage: float = 1.0
    reason: str = ""


def search_queries(question: str, weight: TermWeight | None = None) -> list[str]:
    """The question as typed, then a reformulation: its content words without generic ones (or, when it
    has none, without its shortest content word); with ``weight``, then its rarest words (the names and
    terms it is about, as a searcher who found nothing narrows down to them), without frame words."""
    first = " ".join(question.strip().rstrip("?").split())
    content = [w for w in words(question) if w not in STOPWORDS]
    specific = [w for w in content if w not in GENERIC]
    if len(specific) == len(content) and len(content) >= 3:
        shortest = min(content, key=len)
        specific = [w for w in content if w != shortest]
    second = " ".join(specific)
    queries = [first, second] if second and len(specific) < len(content) else [first]
    if weight is not None:
        named = [w for w in dict.fromkeys(content) if w not in GENERIC and w not in QUESTION_FRAME]
        rarest = sorted(named, key=lambda w: -weight(w))[:_NARROW_WORDS]
        narrow = " ".join(w for w in named if w in rarest)
        if len(rarest) >= 2 and narrow not in queries:
            queries.append(narrow)
    return queries


def vague_query(question: str) -> str:
    """A too-broad first search: the question's single longest content word."""
    content = [w for w in words(question) if w not in STOPWORDS]
    return max(content, key=len) if content else ""


def split_sentences(paragraph: str) -> list[tuple[int, str]]:
    """Sentences of ``paragraph`` with their start offsets."""
    out = [(start, paragraph[start:end].strip()) for start, end in sentence_spans(paragraph, _SENTENCE_END)]
    return [(s, t) for s, t in out if t]


def best_sentence(
    page: Page,
    question: str,
    gold: list[str],
    *,
    min_overlap: int = 2,
    min_coverage: float = 0.6,
    weight: TermWeight | None = None,
    max_words: int = 50,
    similarity: Similarity | None = None,
    min_similarity: float = 0.0,
    misses: list[str] | None = None,
) -> Target | None:
    """The passage on ``page`` that answers the question: a sentence that contains a gold answer (as
    whole words, not inside a ``[n]`` reference mark), quoted after the sentence before it when that one
    adds to what it is about, and about the question. What it is about is the quote, the page title and
    the section heading above it. It must hold:

    - at least ``min_coverage`` of the question's content words, each weighted by ``weight`` (how rare
      the word is in the corpus, so that ``parthenon`` counts more than ``located``; equal weights
      without one), and at least ``min_overlap`` of them, one in the quote itself; the answer's
      sentence holds one too, or refers back early ("he", "it") to the sentence before;
    - every word that looks specific: numbers, short acronyms (``uk``, ``nhl``);
    - the most specific word (the rarest; the longest without ``weight``);
    - both words of one adjacent pair (``lost girl``) when the question has such pairs;
    - the ranking word of a question that ranks (``most``, ``first``, ``oldest``) or a near synonym;
    - a question word missing from it weighs less than 60% of the rarest one (with ``weight``);
    - with ``similarity``, the passage (after its title) is at least ``min_similarity`` close in meaning
      to the question.

    An answer the question names itself is not looked for, numbers must not be part of longer numbers or
    percentages, and references sections are skipped.

    ``Target.reason`` says what it covered; ``misses``, when given, gets why each other sentence that
    holds a gold answer was refused."""
    question_terms = _QuestionTerms(question, gold, weight)
    if not question_terms.keys:  # numbers and acronyms count among the keys
        return None
    title_stems = stems(page.title)
    asked = stems(question)
    # An answer the question already names ("nfc or afc", "song of solomon") cannot be recognised.
    patterns = [(a, answer_pattern(a)) for a in gold if a.strip() and not stems(a) <= asked]
    best: Target | None = None
    offset = 0
    heading = ""
    for raw in page.text.split("\n"):
        start_of_line, offset = offset, offset + len(raw) + 1
        if not raw.strip():
            continue
        plain = strip_links(raw)
        if _is_heading(plain):
            heading = plain
            continue
        if heading.strip().casefold() in _BACK_MATTER:
            continue
        if not any(p.search(plain) for _, p in patterns):
            continue
        sentences = split_sentences(plain)
        for index, (at, sentence) in enumerate(sentences):
            if QUOTE_SEPARATOR in sentence or len(sentence.split()) < _MIN_SENTENCE_WORDS:
                continue
            found = next(
                ((a, m) for a, p in patterns for m in p.finditer(sentence) if not _in_reference(sentence, m)),
                None,
            )
            if found is None:
                continue
            gold_answer, match = found
            own = stems(sentence)
            if not own & question_terms.topical and not _ANAPHORA.match(sentence):
                # the sentence must be about the question, or refer back (early on) to one that is
                _refused(misses, "the answer's sentence holds no question word")
                continue
            around = title_stems | stems(heading)
            passage, before = sentence, set()
            if index > 0:
                previous_at, previous = sentences[index - 1]
                joined = plain[previous_at : at + len(sentence)]
                extra = stems(previous) - own - around
                if (
                    QUOTE_SEPARATOR not in joined
                    and len(joined.split()) <= max_words
                    and extra & question_terms.keys
                ):
                    passage, before = joined, extra
            if question_terms.ranking and not question_terms.ranking & set(words(passage)):
                # "who won the most ...": the passage must say most, not just name a winner
                _refused(misses, f"does not rank ({', '.join(sorted(question_terms.ranking))})")
                continue
            judged = question_terms.judge(own | before, own | before | around, min_overlap, min_coverage)
            if isinstance(judged, str):
                _refused(misses, judged)
                continue
            coverage, covered = judged
            score = coverage + 0.01 * len(own & question_terms.keys) - 0.0001 * len(passage)
            if best is not None and score <= best.score:
                continue
            close = similarity(question, f"{page.title}: {passage}") if similarity else None
            if close is not None and close < min_similarity:
                _refused(misses, f"means too little like the question (similarity {close:.2f})")
                continue
            span = textmatch.find_span(page.text, passage, start_of_line)
            answer_span = textmatch.find_span(page.text, match.group(0), span[0]) if span else None
            if answer_span is None:
                continue
            best = Target(
                sentence=passage,
                answer=match.group(0),
                gold_answer=" ".join(gold_answer.split()),
                answer_offset=answer_span[0],
                sentence_offset=span[0],
                score=score,
                coverage=round(coverage, 3),
                reason=f"covers {coverage:.0%} of the question's weighted words: {', '.join(covered)}"
                + (f"; similarity {close:.2f}" if close is not None else ""),
            )
    return best


class _QuestionTerms:
    """The question's content words (without the answer's), their weights and which are required."""

    def __init__(self, question: str, gold: list[str], weight: TermWeight | None) -> None:
        answer_stems = set().union(*(stems(a) for a in gold)) if gold else set()
        sequence = [w for w in content_words(question) if w not in GENERIC and stem(w) not in answer_stems]
        self.keys = {stem(w) for w in sequence}
        self.word_of = {stem(w): w for w in reversed(sequence)}
        self.weighted = weight is not None
        self.weights: dict[str, float] = {}
        for word in sequence:
            value = max(weight(word), 0.1) if weight else 1.0
            value *= _FRAME_WEIGHT if word in QUESTION_FRAME else 1.0
            self.weights[stem(word)] = max(self.weights.get(stem(word), 0.0), value)
        self.required = {stem(w) for w in sequence if any(c.isdigit() for c in w) or _acronym(w)}
        rest = [w for w in sequence if stem(w) not in self.required and w not in QUESTION_FRAME]
        self.topical = {stem(w) for w in sequence if w not in QUESTION_FRAME}
        self.ranking = _ranking_words(question)
        if weight:
            top = max((self.weights[stem(w)] for w in rest), default=0.0)
            self.specific = {stem(w) for w in rest if self.weights[stem(w)] >= top}
        else:
            self.specific = {stem(w) for w in rest if len(w) == max(map(len, rest))} if rest else set()
        question_words = words(question)
        self.pairs = [
            {stem(a), stem(b)}
            for a, b in itertools.pairwise(question_words)
            if stem(a) in self.keys
            and stem(b) in self.keys
            and stem(a) != stem(b)
            and not {a, b} & QUESTION_FRAME
        ]
        self.total = sum(self.weights.values())

    def judge(
        self, quoted: set[str], about: set[str], min_overlap: int, min_coverage: float
    ) -> tuple[float, list[str]] | str:
        """The weighted coverage and covered words when ``about`` (what a passage is about: ``quoted``,
        the words of the quote itself, with its title and heading) passes, else why it does not."""
        if not self.keys:
            return "the question has no content words"
        covered = {k for k in self.keys if _matches(k, about)}
        coverage = sum(self.weights[k] for k in covered) / self.total
        missing = [self.word_of[k] for k in sorted(self.keys - covered, key=lambda k: -self.weights[k])]
        if not any(_matches(k, quoted) for k in covered):
            return "the quote holds none of the question's words"
        if len(covered) < min(len(self.keys), min_overlap) or coverage < min_coverage:
            return f"covers {coverage:.0%} of the question's weighted words (missing: {', '.join(missing)})"
        if not self.required <= covered:
            return f"lacks {', '.join(self.word_of[k] for k in sorted(self.required - covered))}"
        if self.specific and not self.specific & covered:
            rarest_words = ", ".join(self.word_of[k] for k in sorted(self.specific))
            return f"lacks the question's rarest word ({rarest_words})"
        if self.pairs and not any(pair <= covered for pair in self.pairs) and coverage < _PAIR_WAIVED:
            return "has no two adjacent question words together"
        rarest = max(self.weights.values())
        rare_missing = [
            self.word_of[k] for k in self.topical - covered if self.weights[k] >= _MISSING_SHARE * rarest
        ]
        if self.weighted and rare_missing:
            return f"lacks the rare word {', '.join(sorted(rare_missing))}"
        return coverage, [self.word_of[k] for k in sorted(covered, key=lambda k: -self.weights[k])]


def _refused(misses: list[str] | None, reason: str) -> None:
    if misses is not None:
        misses.append(reason)


def _matches(key: str, about: set[str]) -> bool:
    """Whether ``about`` holds ``key``, or a stem of four letters or more that begins like it
    (``stat``/``stati``) or spells the same number (``5``/``five``)."""
    if key in about or _NUMBER_WORDS.get(key, key) in about:
        return True
    return len(key) >= 4 and any(len(a) >= 4 and (a.startswith(key) or key.startswith(a)) for a in about)


def _ranking_words(question: str) -> set[str]:
    """The words a passage must repeat when the question ranks (``most``, ``first``, ``oldest``): any of
    the question's ranking words or their near synonyms (``most``/``record``)."""
    asked = [w for w in words(question) if w in _RANKING]
    return {v for w in asked for v in (w, *_RANKING[w])}


def _is_heading(line: str) -> bool:
    """A section heading as pages render them: a short line without closing punctuation or list mark."""
    text = line.strip()
    return (
        0 < len(text.split()) <= 8
        and not text.endswith((".", "!", "?", ":", ";", ",", "]"))
        and not text.startswith(("-", "*", "|", "+"))
        and not text[0].isdigit()
    )


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
    return window_around(tokens, answer, max_words)


def answer_text(target: Target, title: str, quote: str, number: int, clause_words: int) -> str:
    """The demonstrations' answer: the gold answer as the quote words it, then the clause of quote
    ``number`` around it: ``<answer> [n]. According to <title>, “<clause>” [n].``"""
    return cited_answer(target.gold_answer, number, title, quote, clause_words, anchor=target.answer)
