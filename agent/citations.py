"""Checking an answer's citations: the answer must follow the citation grammar (every sentence cites,
every ``[n]`` names a collected quote; ``browser_env.protocol.citations``), and every quote must still
be the text it was on the very page it came from (re-fetched, checked against the page's SHA-256 and the
quote's offsets). Anything that fails is reported, never shown as supported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from browser_env.protocol import CITATION, citation_problems, parse_citations, sentence_citations
from browser_env.protocol.citations import sentence_spans
from browser_env.protocol.keywords import content_words
from browser_env.textmatch import verify_quote
from browser_env.web import Fetcher


class QuoteSource(Protocol):
    url: str
    title: str
    domain: str
    text: str


@dataclass
class Reference:
    """One numbered quote as shown under the answer."""

    n: int
    title: str
    url: str
    domain: str
    quote: str
    cited: bool = False
    verified: bool | None = None  # None: not checked against its page
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SentenceSupport:
    """One sentence of the answer, the quotes it cites, and whether those citations were added
    automatically (``attribute_citations``) rather than written by the answerer."""

    text: str
    citations: tuple[int, ...]
    automatic: bool = False

    @property
    def cited(self) -> bool:
        return bool(self.citations)


@dataclass
class CitationReport:
    citations: list[int]
    references: list[Reference]
    problems: list[str] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        """True only when every sentence cites, every citation has its quote, and every quote verified."""
        return bool(self.citations) and not self.problems and all(s.cited for s in self.sentences)

    @property
    def automatic_citations(self) -> int:
        """Sentences whose citations were added automatically, not written by the answerer."""
        return sum(s.automatic for s in self.sentences)


def check_citations(
    answer: str,
    quotes: Sequence[QuoteSource],
    fetcher: Fetcher | None = None,
    *,
    automatic: Sequence[int] = (),
) -> CitationReport:
    """Check ``answer`` against ``quotes`` (numbered from 1). With a ``fetcher`` each quote's page is
    loaded again and the quote checked on it. ``automatic``: indexes of the sentences whose citations
    ``attribute_citations`` added."""
    citations = parse_citations(answer)
    references = [
        Reference(n, q.title, q.url, q.domain, q.text, cited=n in citations) for n, q in enumerate(quotes, 1)
    ]
    problems = citation_problems(answer, len(quotes))
    if fetcher is not None:
        pages: dict[str, Any] = {}
        for reference, quote in zip(references, quotes, strict=True):
            reference.problem = _verify(reference, quote, fetcher, pages)
            reference.verified = reference.problem is None
            if reference.problem and reference.cited:
                problems.append(f"[{reference.n}] {reference.problem}")
    sentences = [
        SentenceSupport(s.text, s.citations, automatic=i in automatic)
        for i, s in enumerate(sentence_citations(answer))
    ]
    return CitationReport(citations, references, problems, sentences)


def _verify(reference: Reference, quote: QuoteSource, fetcher: Fetcher, pages: dict[str, Any]) -> str | None:
    if reference.url not in pages:
        try:
            pages[reference.url] = fetcher.fetch(reference.url)
        except Exception as error:  # any failure to load means the quote is unverified
            pages[reference.url] = error
    page = pages[reference.url]
    if isinstance(page, Exception):
        return f"its page could not be loaded again ({reference.url}): {page}"
    start, end = getattr(quote, "start", None), getattr(quote, "end", None)
    problem = verify_quote(page.text, reference.quote, start, end, getattr(quote, "page_sha256", ""))
    return f"{problem} ({reference.url})" if problem else None


@dataclass(frozen=True)
class Attribution:
    """An answer after ``attribute_citations``: the text, and which sentences got a citation added."""

    text: str
    automatic: tuple[int, ...]


def attribute_citations(answer: str, quotes: Sequence[QuoteSource], min_overlap: float = 0.5) -> Attribution:
    """Add ``[n]`` to each sentence that cites nothing when quote n holds at least ``min_overlap`` of the
    sentence's content words (post-hoc attribution for models not trained to cite). Sentences that no
    quote supports stay uncited, and the check flags them. Every other character is kept. The sentences
    given a citation are reported, so that figures can count them apart from the answerer's own."""
    quote_words = [set(content_words(q.text)) for q in quotes]
    pieces: list[str] = []
    automatic: list[int] = []
    position = 0
    for index, (start, end) in enumerate(sentence_spans(answer)):
        sentence = answer[start:end]
        words = set(content_words(sentence))
        if CITATION.search(sentence) or not words or not quote_words:
            continue
        overlaps = [len(words & qw) / len(words) for qw in quote_words]
        best = max(range(len(quotes)), key=lambda i: overlaps[i])
        if overlaps[best] < min_overlap:
            continue
        stop = start + len(sentence.rstrip(".!?"))
        pieces += [answer[position:stop], f" [{best + 1}]"]
        position = stop
        automatic.append(index)
    pieces.append(answer[position:])
    return Attribution("".join(pieces), tuple(automatic))
