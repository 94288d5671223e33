"""Reading a page window by window: its sentences as a reader sees them, and each one's score.

Skimming (scheduled browsing, ``agent.policies.scripted``) and guided skimming
(``agent.policies.lm``) both scroll a page to its end and weigh every sentence that shares a word with
the question (``PageReading.read_window``), then quote the best one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from browser_env import textmatch
from browser_env.abbreviations import sentence_spans
from browser_env.protocol import strip_links
from browser_env.protocol.keywords import stems

if TYPE_CHECKING:
    from agent.policies.scripted import RelevanceScorer

MAX_SKIM_WINDOWS = 30  # windows read on one page
# With this few actions left, stop reading and quote the best sentence read so far (going back to its
# result, opening it, finding the sentence, quoting it and ending take at most 5).
SKIM_RESERVE = 6
# A sentence ends at . ! or ? and any closing quote, bracket, italic mark ("…Band._ It") or reference
# mark ("…in 2014.[75][76] Harry").
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\[(?:\d+|[a-z])\]|[\"”’)\]_])*\s+")
_ENDS_SENTENCE = re.compile(r"[.!?:][\"”’)\]]*(?:\[\d+\])*\s*$")


def split_window_sentences(paragraph: str) -> list[str]:
    """``paragraph`` cut into sentences (``_SENTENCE_END``), not after an initial or an abbreviation."""
    return [paragraph[start:end] for start, end in sentence_spans(paragraph, _SENTENCE_END)]


def window_sentences(paragraphs: list[str], min_chars: int = 20, max_chars: int = 600) -> list[str]:
    """Sentences of the window as a reader sees them (link markup removed), each a verbatim extract.
    ``paragraphs`` is the env's ``info["window_paragraphs"]``."""
    sentences: list[str] = []
    for paragraph in paragraphs:
        for piece in split_window_sentences(strip_links(paragraph)):
            piece = " ".join(piece.split())
            if min_chars <= len(piece) <= max_chars and piece not in sentences:
                sentences.append(piece)
    return sentences


def question_sentences(paragraphs: list[str], question: str) -> list[str]:
    """The sentences of ``paragraphs`` that share a content word with the question: what skimming
    weighs (and what the sentence ranker is fit on)."""
    asked = stems(question)
    return [s for s in window_sentences(paragraphs) if asked & stems(s)]


def not_quoted(sentences: list[str], info: dict[str, Any]) -> list[str]:
    """The ``sentences`` not among the quotes collected so far."""
    quoted = {textmatch.normalize(q["text"]) for q in info.get("quotes") or []}
    return [s for s in sentences if textmatch.normalize(s) not in quoted]


def at_page_end(info: dict[str, Any]) -> bool:
    """Whether the window shows the page's last line."""
    _, last, total = info.get("scrollbar") or (0, 0, 0)
    return last >= total - 1


def short_of_actions(info: dict[str, Any]) -> bool:
    """No more than ``SKIM_RESERVE`` actions left: time to quote what was read."""
    left = info.get("actions_left")
    return left is not None and left <= SKIM_RESERVE


@dataclass
class PageReading:
    """One page as read so far: each sentence weighed, and the paragraph the window's edge cut."""

    read: dict[str, float] = field(default_factory=dict)  # each sentence read, its score
    title: str = ""  # the page's title, as the scorer saw it
    scrolls: int = 0
    finished: bool = False  # read to the end
    carry: str | None = None  # the last paragraph of the window before, if cut mid-sentence

    def read_window(self, question: str, scorer: RelevanceScorer, info: dict[str, Any]) -> None:
        """Weigh the window's sentences that share a word with ``question`` and were neither read nor
        quoted before; a sentence the window before cut in two is read again whole."""
        paragraphs = list(info.get("window_paragraphs") or [])
        if self.carry and paragraphs and paragraphs[0][:1].islower():
            paragraphs[0] = f"{self.carry} {paragraphs[0]}"
        self.carry = paragraphs[-1] if paragraphs and not _ENDS_SENTENCE.search(paragraphs[-1]) else None
        new = [s for s in not_quoted(question_sentences(paragraphs, question), info) if s not in self.read]
        for cut in [k for k in self.read if any(s.startswith(k) for s in new)]:
            del self.read[cut]
        if new:
            self.title = info.get("title") or ""
            self.read.update(zip(new, scorer.score(question, [(self.title, s) for s in new]), strict=True))


@dataclass(frozen=True)
class ReadSentence:
    """A sentence a browse weighed, on the page at ``url``, with the scorer's score."""

    url: str
    sentence: str
    score: float


def sentences_by_score(pages: Mapping[str, PageReading]) -> list[ReadSentence]:
    """Every sentence weighed on ``pages``, best first (ties: the page read first, then the sentence
    read first)."""
    read = [ReadSentence(url, s, score) for url, page in pages.items() for s, score in page.read.items()]
    return sorted(read, key=lambda r: -r.score)


@dataclass(frozen=True)
class SecondSay:
    """Another scorer's say on the best sentences before one is quoted: the ``best`` best-scored options
    (all when None) get ``weight`` times its score added to theirs."""

    scorer: RelevanceScorer
    weight: float
    best: int | None = None

    def weigh(self, question: str, passages: list[tuple[str, str]], scores: list[float]) -> list[float]:
        """``scores`` of ``passages`` ((title, sentence) each), with the second say added to the best."""
        if len(passages) < 2:
            return list(scores)
        order = sorted(range(len(scores)), key=lambda k: -scores[k])[: self.best]
        again = self.scorer.score(question, [passages[k] for k in order])
        weighed = list(scores)
        for k, value in zip(order, again, strict=True):
            weighed[k] += self.weight * value
        return weighed
