"""Writing the answer from the collected quotes, and the answer as shown to people.

``ModelAnswerer`` samples answers with the language model (``n`` at once, in one batch);
``ExtractiveAnswerer`` stitches the quotes together (no model: tests, demos). ``compose_answer`` turns
an episode's end into an ``Answer``: declined (``End: Nonsense|Controversial``), "could not find" (no
quotes), or the text with its checked citations and numbered references.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from agent.citations import QuoteSource, Reference, SentenceSupport, attribute_citations, check_citations
from agent.config import AGENT_DEFAULTS, SAMPLING_DEFAULTS
from agent.page_named_lead import page_named_lead
from agent.policies.engine import LMEngine
from agent.prompts import PromptFormat, encode_answer_prompt
from agent.span_reader import SpanReader
from browser_env.protocol import CITATION, EndReason, answer_lead, parse_citations
from browser_env.protocol.citations import ATTRIBUTION
from browser_env.protocol.keywords import stems, words
from browser_env.protocol.observation import MARK
from browser_env.web import Fetcher
from demonstrations.formats import QuoteLike, cited_answer, without_footnotes

DECLINED = {
    EndReason.NONSENSE: "I decline to answer: the question does not make sense as asked.",
    EndReason.CONTROVERSIAL: (
        "I decline to answer: the question is controversial, and the sources found do not settle it."
    ),
}
NOT_FOUND = "I could not find a source that answers this question, so I give no answer."
_NUMBER = re.compile(r"^\[\d+\]\s*")  # a quote's number, as in "[2] "
_SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d[\d,\s–-]*\])*[\"”’)]?(?=\s|$)")
_OWN_CLAUSE = re.compile(r"(?:^|(?<=[.!?_”\"]))\s*According to\b.*", re.DOTALL)  # a lead's own clause


@dataclass
class Answer:
    """What ``webgpt ask`` shows: the answer text (or why there is none) and its references."""

    question: str
    text: str
    declined: bool
    end_reason: str | None
    citations: list[int] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reward: float | None = None
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        """Not declined, every sentence cites a quote, and every citation checked out."""
        return (
            not self.declined
            and bool(self.citations)
            and not self.problems
            and all(sentence.cited for sentence in self.sentences)
        )

    @property
    def automatic_citations(self) -> int:
        """Sentences whose citation was added automatically rather than written by the answerer."""
        return sum(sentence.automatic for sentence in self.sentences)


AnswerRequest = tuple[str, Sequence[QuoteLike]]  # a question and the quotes to answer it from


class Answerer(Protocol):
    name: str

    def write(self, question: str, quotes: Sequence[QuoteLike], n: int = 1) -> list[str]: ...


@runtime_checkable
class BatchAnswerer(Protocol):
    """An answerer that writes the answers of several episodes at once (one batch for all)."""

    def write_many(
        self,
        requests: Sequence[AnswerRequest],
        n: int = 1,
        *,
        picking: bool = False,
        greedy_first: bool = False,
    ) -> list[list[str]]: ...


def write_answers(
    answerer: Answerer,
    requests: Sequence[AnswerRequest],
    n: int = 1,
    *,
    picking: bool = False,
    greedy_first: bool = False,
) -> list[list[str]]:
    """``n`` answers to each (question, quotes): in one batch when the answerer can, else one by one.
    ``picking`` and ``greedy_first``: as ``ModelAnswerer.write_many``."""
    if isinstance(answerer, BatchAnswerer):
        return answerer.write_many(requests, n, picking=picking, greedy_first=greedy_first)
    return [answerer.write(question, quotes, n) for question, quotes in requests]


ECHO_RETRIES = 3  # answers sampled for each one that only repeats the question
# The longest short answer a rewritten echo may have: the trained ones are almost all 1-6 words.
SHORT_ANSWER_WORDS = 8
# A candidate for best-of-n (one of several) that has run this many words without citing is cut there:
# a sibling that cites takes its place, so decoding it to the token limit only holds up the batch.
UNCITED_SAMPLE_WORDS = 2 * SHORT_ANSWER_WORDS


@dataclass(frozen=True)
class _Batch:
    """The answer prompts of one ``write_many`` call, with each prompt's quote headers and quotes."""

    prompts: list[list[int]]
    headers: list[frozenset[str]]
    sources: list[Sequence[QuoteLike]]

    def rows(self, which: list[int]) -> _Batch:
        return _Batch(
            [self.prompts[i] for i in which],
            [self.headers[i] for i in which],
            [self.sources[i] for i in which],
        )


class ModelAnswerer:
    """Answers from a causal LM: greedy for one answer, sampled at ``temperature`` for several. For models
    not trained on answers: ``fallback_prefix`` starts a second try when the first comes out empty (the
    untrained model tends to copy a quote's header instead of answering), and with ``attribute``
    uncited sentences that a quote supports get its ``[n]`` (``agent.citations.attribute_citations``). An
    answer that only repeats the question's words (``echoes_question``) is sampled again, up to
    ``ECHO_RETRIES`` times, and kept when every retry does the same; so is, in the trained format
    (``clause_words``), a short answer whose words are not in the quote it cites
    (``lead_in_cited_quote``). With a ``lead_reader``, an answer
    starts with the span of a quote the reader is confident of (``"<span> [n]."``) and the model writes
    the rest. With ``clause_words``, the model writes only the short answer and its first citation, and
    the rest is copied from the cited quote (``compose_cited``): the clause it quotes is then verbatim,
    and a "who" answer that quotes a page named for a person, one the question does not name, leads with
    that name (``agent.page_named_lead``)."""

    def __init__(
        self,
        engine: LMEngine,
        *,
        few_shot: bool = False,
        temperature: float = SAMPLING_DEFAULTS.temperature,
        top_p: float = SAMPLING_DEFAULTS.top_p,
        max_new_tokens: int = AGENT_DEFAULTS.answer_max_new_tokens,
        seed: int | None = None,
        prompt_format: PromptFormat | None = None,
        attribute: bool = False,
        fallback_prefix: str | None = None,
        repetition_penalty: float = 1.1,
        lead_reader: SpanReader | None = None,
        clause_words: int | None = None,
    ) -> None:
        self.engine = engine
        self.clause_words = clause_words
        self.lead_reader = lead_reader
        self.attribute = attribute
        self.fallback_prefix = fallback_prefix
        self.name = engine.loaded.model_id
        self.few_shot = few_shot
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.repetition_penalty = repetition_penalty
        self.prompt_format = prompt_format
        self.generator = engine.new_generator(seed)

    def prompt_ids(self, question: str, quotes: Sequence[QuoteLike]) -> list[int]:
        """The answering prompt, with the longest quotes shortened until it fits the context window."""
        limit = self.engine.loaded.context_window - self.max_new_tokens
        quotes = [_Quote(q.title, q.domain, q.text) for q in quotes]
        while True:
            ids = encode_answer_prompt(
                self.engine.tokenizer,
                question,
                quotes,
                few_shot=self.few_shot,
                prompt_format=self.prompt_format,
            )
            longest = max(range(len(quotes)), key=lambda i: len(quotes[i].text), default=None)
            if len(ids) <= limit or longest is None or len(quotes[longest].text) < 80:
                return ids
            text = quotes[longest].text
            quotes[longest] = replace(quotes[longest], text=text[: len(text) * 3 // 4].rstrip() + " …")

    def write(self, question: str, quotes: Sequence[QuoteLike], n: int = 1) -> list[str]:
        return self.write_many([(question, quotes)], n)[0]

    def write_many(
        self,
        requests: Sequence[AnswerRequest],
        n: int = 1,
        *,
        picking: bool = False,
        greedy_first: bool = False,
    ) -> list[list[str]]:
        """``n`` answers to each (question, quotes), every row decoded in one batch; the retries of
        empty and echoing answers are batched too. ``picking``: the answers are candidates one will be
        picked from now (best-of-n at answer time), so a rejected sample takes a valid sibling's place
        instead of being sampled again, and a sample running ``UNCITED_SAMPLE_WORDS`` words without
        citing is cut: faster, fewer distinct answers. Otherwise every answer is sampled and rejected
        ones are sampled again (more distinct answers, as reward-model data wants). ``greedy_first``: the
        first answer of each request is decoded greedily, as the one answer of ``n`` = 1 is, so the
        answer a single try gives is always among them."""
        batch = _Batch(
            prompts=[self.prompt_ids(question, quotes) for question, quotes in requests],
            headers=[quote_headers(quotes) for _, quotes in requests],
            sources=[quotes for _, quotes in requests],
        )
        leads = [self._lead(question, quotes) for question, quotes in requests]
        texts = self._sample(batch, leads, n, picking=picking, greedy_first=greedy_first)
        if self.fallback_prefix:
            empty = [(i, j) for i, rows in enumerate(texts) for j, text in enumerate(rows) if not text]
            self._resample(texts, empty, batch, self.fallback_prefix, 1, siblings=picking)
        echoes = [
            (i, j)
            for i, rows in enumerate(texts)
            for j, text in enumerate(rows)
            if echoes_question(text, requests[i][0])
        ]
        # "Eiffel Tower [1]." to "Who designed the Eiffel Tower?" answers nothing: sample again
        self._resample(
            texts,
            echoes,
            batch,
            "",
            ECHO_RETRIES,
            keep=lambda i, t: not echoes_question(t, requests[i][0]),
            siblings=picking,
        )
        self._start_elsewhere(texts, requests, batch)
        if self.clause_words is not None:
            # "Georgia [1]." citing a quote about the Free Software Foundation states what its source does
            # not say: sample again, and keep the first short answer the cited quote holds
            # of several candidates, one citing nothing is stray too: a sibling that cites replaces it
            stray = [
                (i, j)
                for i, rows in enumerate(texts)
                for j, text in enumerate(rows)
                if not lead_in_cited_quote(text, batch.sources[i], requests[i][0])
                or (picking and n > 1 and CITATION.search(text) is None)
            ]
            self._resample(
                texts,
                stray,
                batch,
                "",
                ECHO_RETRIES,
                keep=lambda i, t: (
                    CITATION.search(t) is not None  # a sample citing nothing does not replace one that cites
                    and lead_in_cited_quote(t, batch.sources[i], requests[i][0])
                    and not echoes_question(t, requests[i][0])
                ),
                siblings=picking,
            )
            # still "Finite [1]. According to History of the Comoros, “On 23 November 1996, …” [1].": the
            # quote says what it says, the short answer nothing it holds, so only the quote's clause stays;
            # so too when the "short answer" is the clause itself, copied in front of it
            for i, rows in enumerate(texts):
                question, quotes = requests[i][0], batch.sources[i]
                grounded = [grounded_lead(text, quotes, question) for text in rows]
                rows[:] = [page_named_lead(question, text, quotes, self.clause_words) for text in grounded]
        return texts

    def _start_elsewhere(
        self,
        texts: list[list[str]],
        requests: Sequence[AnswerRequest],
        batch: _Batch,
    ) -> None:
        """Answers that still only repeat the question after their retries are written once more,
        greedily, forbidden to start with the token their echoing leads start with: "Moby-Dick [1]."
        to "Who wrote the novel Moby-Dick?" becomes "Herman Melville [1].", the model's next choice.
        A result that echoes too, cites nothing or leads with more than ``SHORT_ANSWER_WORDS`` words
        leaves the answer as it was."""
        echoing: dict[int, list[int]] = {}
        for i, rows in enumerate(texts):
            for j, text in enumerate(rows):
                if echoes_question(text, requests[i][0]):
                    echoing.setdefault(i, []).append(j)
        if not echoing:
            return
        asked = sorted(echoing)
        starts = [[self.engine.encode(answer_lead(texts[i][j]))[:1] for j in echoing[i]] for i in asked]
        avoid = [{token for start in row for token in start} for row in starts]
        fresh = self._sample(batch.rows(asked), [""] * len(asked), 1, avoid_first=avoid)
        for i, (text,) in zip(asked, fresh, strict=True):
            short = len(answer_lead(text).split()) <= SHORT_ANSWER_WORDS
            if text and CITATION.search(text) and short and not echoes_question(text, requests[i][0]):
                for j in echoing[i]:
                    texts[i][j] = text

    def _lead(self, question: str, quotes: Sequence[QuoteLike]) -> str:
        """``"<span> [n]."`` when the lead reader is confident of a span of quote n, else ""."""
        if self.lead_reader is None or not quotes:
            return ""
        lead = self.lead_reader.lead(question, [(q.title, without_footnotes(q.text)) for q in quotes])
        return f"{lead[0]} [{lead[1]}]." if lead else ""

    def _sample(
        self,
        batch: _Batch,
        prefixes: list[str],
        n: int,
        avoid_first: list[set[int]] | None = None,
        picking: bool = False,
        greedy_first: bool = False,
    ) -> list[list[str]]:
        """``n`` answers to each prompt, each forced to start with its prefix (greedy when ``n`` is 1, or
        the first of each prompt's with ``greedy_first``) and not with a token of its ``avoid_first``;
        with ``clause_words``, each stops at its first citation and is completed from that quote.
        ``picking``: as ``write_many``."""

        def finished(i: int, text: str) -> bool:
            if self.clause_words is not None:
                if CITATION.search(prefixes[i] + text):
                    return True
                if picking and n > 1 and len(text.split()) >= UNCITED_SAMPLE_WORDS:
                    return True
            return _finished(text, batch.headers[i])

        outputs = self.engine.generate_batch(
            [
                prompt + self.engine.encode(prefix)
                for prompt, prefix in zip(batch.prompts, prefixes, strict=True)
            ],
            n=n,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature if n > 1 else 0.0,
            top_p=self.top_p,
            stop_at_newline=False,
            generator=self.generator,
            stop=finished,
            repetition_penalty=self.repetition_penalty,
            avoid_first=avoid_first,
            greedy_first=greedy_first and n > 1,
        )
        return [
            [
                tidy(self._complete(_clean(prefix + self.engine.decode(row), header), quotes)) if row else ""
                for row in rows
            ]
            for rows, prefix, header, quotes in zip(
                outputs, prefixes, batch.headers, batch.sources, strict=True
            )
        ]

    def _complete(self, text: str, quotes: Sequence[QuoteLike]) -> str:
        return text if self.clause_words is None else compose_cited(text, quotes, self.clause_words)

    def _resample(
        self,
        texts: list[list[str]],
        which: list[tuple[int, int]],
        batch: _Batch,
        prefix: str,
        tries: int,
        keep: Callable[[int, str], bool] = lambda _, text: bool(text),
        siblings: bool = False,
    ) -> None:
        """Replace ``texts[i][j]`` for each (i, j) in ``which`` by the first of ``tries`` new samples per
        answer (all in one batch) that ``keep(i, sample)`` accepts; with ``siblings``, by a sibling
        ``keep`` accepts where there is one (``_from_siblings``), sampling only for the rest. An answer
        none is kept for stays, and a sample citing nothing never replaces one that cites ("C." for
        "Cc [1]. According to Email, …")."""
        if siblings:
            which = _from_siblings(texts, which, keep)
        if not which:
            return
        asked = sorted({i for i, _ in which})
        counts = {i: tries * sum(1 for k, _ in which if k == i) for i in asked}
        # One batch: each prompt asked for as many samples as its most-asked prompt needs.
        per_prompt = max(counts.values())
        fresh = self._sample(batch.rows(asked), [prefix] * len(asked), per_prompt)
        pools = {
            i: iter([t for t in rows[: counts[i]] if t and keep(i, t)])
            for i, rows in zip(asked, fresh, strict=True)
        }
        for i, j in which:
            texts[i][j] = next((t for t in pools[i] if _may_replace(texts[i][j], t)), texts[i][j])


def _may_replace(answer: str, other: str) -> bool:
    """Whether ``other`` may take ``answer``'s place: an answer citing nothing never replaces one that
    cites ("C." for "Cc [1]. According to Email, …")."""
    return CITATION.search(answer) is None or CITATION.search(other) is not None


def _from_siblings(
    texts: list[list[str]], which: list[tuple[int, int]], keep: Callable[[int, str], bool]
) -> list[tuple[int, int]]:
    """Replace each ``texts[i][j]`` of ``which`` by a sibling, another answer to prompt ``i`` that is not
    itself in ``which`` and that ``keep(i, sibling)`` accepts (taking them in turn), as a new sample would
    (best-of-n keeps the valid ones of its samples); a sibling citing nothing never replaces one that
    cites. Returns the (i, j) with no sibling to take."""
    replacing = set(which)
    left: list[tuple[int, int]] = []
    for i in sorted({i for i, _ in which}):
        kept = [t for j, t in enumerate(texts[i]) if (i, j) not in replacing and t and keep(i, t)]
        for turn, j in enumerate(j for row, j in which if row == i):
            options = [t for t in kept if _may_replace(texts[i][j], t)]
            if options:
                texts[i][j] = options[turn % len(options)]
            else:
                left.append((i, j))
    return left


def compose_cited(text: str, quotes: Sequence[QuoteLike], clause_words: int) -> str:
    """The answer ``text`` starts, cut at its first citation ``[n]`` and completed in the trained format
    from quote n, verbatim: ``<lead> [n]. According to <title>, “<clause around the lead>” [n].``
    (``demonstrations.formats.cited_answer``). Text without a leading citation of one of ``quotes`` is
    returned as it is."""
    match = CITATION.search(text)
    if match is None:
        return text
    lead = _OWN_CLAUSE.sub("", answer_lead(text))  # the model began the clause itself: it is rebuilt
    lead, number = _without_end_mark(lead), parse_citations(match.group(0))[0]
    if not lead or not 1 <= number <= len(quotes):
        return text
    quote = quotes[number - 1]
    return cited_answer(lead, number, quote.title, without_footnotes(quote.text), clause_words)


def _without_end_mark(lead: str) -> str:
    """The lead without the punctuation that ends it ("Paris." → "Paris"), since the citation's own full
    stop follows; an abbreviation's stop stays ("Washington, D.C.", "John Smith Jr.")."""
    lead = lead.strip().rstrip(",;:").rstrip()
    last = lead.split()[-1] if lead.split() else ""
    if last.endswith(".") and not re.fullmatch(r"(?:[A-Za-z]\.)+|[A-Z][a-z]{0,2}\.", last):
        lead = lead[:-1].rstrip()
    return lead


def grounded_lead(answer: str, quotes: Sequence[QuoteLike], question: str) -> str:
    """``answer`` as it is when its short answer is held by the quote it cites and is not that quote's
    clause copied in front of it; otherwise ``without_lead(answer)``."""
    if lead_in_cited_quote(answer, quotes, question) and not lead_copies_clause(answer):
        return answer
    return without_lead(answer)


def without_lead(answer: str) -> str:
    """The answer without its short answer, when it has the trained format's attributed clause after it:
    "Finite [1]. According to T, “…” [1]." becomes "According to T, “…” [1]."; otherwise unchanged."""
    attribution = ATTRIBUTION.search(answer)
    if attribution is None or not CITATION.search(answer, 0, attribution.start()):
        return answer
    return answer[attribution.start() :]


COPIED_LEAD_WORDS = 8
"""A lead of at least this many words, mostly not names, that runs on in its attributed clause copies it."""


def lead_copies_clause(answer: str) -> bool:
    """Whether the answer's lead is its quoted clause again rather than a short answer: "Regarded as one
    of the greatest composers … [1]. According to Ludwig van Beethoven, “Regarded as one of the greatest
    composers…” [1]." The lead has ``COPIED_LEAD_WORDS`` words or more, at least half of them in lower
    case (a list of names, "Kelli Giddish, Richard Belzer, Stephanie March, …", is a short answer), and its
    first ``COPIED_LEAD_WORDS`` run on in the clause."""
    attribution = ATTRIBUTION.search(answer)
    lead = answer_lead(answer)
    tokens = lead.split()
    if (
        attribution is None
        or len(tokens) < COPIED_LEAD_WORDS
        or 2 * sum(token[:1].islower() for token in tokens) < len(tokens)
    ):
        return False
    head = words(lead)[:COPIED_LEAD_WORDS]
    clause = words(answer[attribution.end() :])
    return any(clause[k : k + len(head)] == head for k in range(len(clause) - len(head) + 1))


def lead_in_cited_quote(answer: str, quotes: Sequence[QuoteLike], question: str = "") -> bool:
    """Whether every word of the answer's lead (what comes before its first citation ``[n]``) is in quote
    n or its title, or is one the question offers as a choice ("public or private"); an answer with no
    lead or citing no quote of ``quotes`` has nothing to check."""
    match = CITATION.search(answer)
    if match is None:
        return True
    numbers = parse_citations(match.group(0))
    if not numbers or not 1 <= numbers[0] <= len(quotes):
        return True
    quote = quotes[numbers[0] - 1]
    lead = {word for word in stems(answer_lead(answer)) if len(word) > 1}  # initials aside
    offered = stems(question) if " or " in f" {question.casefold()} " else set()
    return lead <= stems(quote.title) | stems(without_footnotes(quote.text)) | offered


def echoes_question(answer: str, question: str) -> bool:
    """Whether the answer's lead (what comes before its first citation) only repeats the question's own
    words; never for a question that offers a choice ("batman or spider man")."""
    if " or " in f" {question.casefold()} ":
        return False
    lead = stems(answer_lead(answer))
    return bool(lead) and lead <= stems(question)


@dataclass(frozen=True)
class _Quote:
    title: str
    domain: str
    text: str


class ExtractiveAnswerer:
    """No model: the quotes themselves, each cited (for tests and demos)."""

    name = "extractive"

    def write(self, question: str, quotes: Sequence[QuoteLike], n: int = 1) -> list[str]:
        text = " ".join(f"{q.text.strip().rstrip('.')} [{i}]." for i, q in enumerate(quotes, 1))
        return [text] * n


def quote_headers(quotes: Sequence[QuoteLike]) -> frozenset[str]:
    """The quotes' headers as the answering prompt shows them (``[n] <title> (<domain>)``), normalised as
    ``_is_header`` compares them: what an answer model copies instead of answering. The number may
    differ; without a number a header counts only with its domain (a bare title can be a real answer)."""
    headers = set()
    for quote in quotes:
        source = f"{quote.title} ({quote.domain})" if quote.domain else quote.title
        headers.add(_normalize(f"[#] {source}"))
        if quote.domain:
            headers.add(_normalize(source))
    return frozenset(headers)


def _normalize(line: str) -> str:
    return " ".join(_NUMBER.sub("[#] ", line.strip(), count=1).split()).casefold()


def _is_header(line: str, headers: frozenset[str]) -> bool:
    """Whether ``line`` is a copy of one of the quotes' headers (``quote_headers``)."""
    return bool(headers) and _normalize(line) in headers


def _lines(text: str, headers: frozenset[str]) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip() and not _is_header(line, headers)]


def answer_finished(text: str, quotes: Sequence[QuoteLike] = ()) -> bool:
    """The answer is one paragraph: it is over at a newline after a finished sentence (a copied header
    of one of ``quotes`` does not count), when the model starts another section of the prompt format
    (``♦``), or when it repeats a line."""
    return _finished(text, quote_headers(quotes))


def _finished(text: str, headers: frozenset[str]) -> bool:
    if MARK in text:
        return True
    if "\n" not in text:
        return False
    done, _, _ = text.rpartition("\n")
    lines = [line.strip() for line in done.split("\n") if line.strip()]
    if len(lines) != len(set(lines)):
        return True
    return any(_SENTENCE_END.search(line) for line in _lines(done, headers))


def clean_answer(text: str, quotes: Sequence[QuoteLike] = ()) -> str:
    """The answer paragraph: without a copied header of one of ``quotes`` (``[n] Title (domain)``, with or
    without its number), repeated lines, or anything after ``♦``. Only exact copies of the headers go:
    an answer's own text is kept, parentheses and domains included."""
    return _clean(text, quote_headers(quotes))


def _clean(text: str, headers: frozenset[str]) -> str:
    text = text.split(MARK, 1)[0]
    return " ".join(dict.fromkeys(_lines(text, headers)))


def tidy(text: str) -> str:
    """The generated answer without surrounding space, cut after its last full sentence when it ran out
    of tokens mid-sentence."""
    text = text.strip()
    ends = list(_SENTENCE_END.finditer(text))
    if ends and ends[-1].end() < len(text):
        return text[: ends[-1].end()].strip()
    return text


def compose_answer(
    question: str,
    text: str | None,
    quotes: Sequence[QuoteSource],
    end_reason: str | None,
    fetcher: Fetcher | None = None,
    *,
    attribute: bool = False,
) -> Answer:
    """The ``Answer`` for an episode's end: declined, nothing found, or ``text`` with checked citations.
    With ``attribute``, uncited sentences that a quote supports first get its ``[n]``
    (``attribute_citations``); the answer then counts those sentences apart."""
    if end_reason in DECLINED:
        return Answer(question, DECLINED[end_reason], True, end_reason)
    if not quotes or text is None:
        return Answer(question, NOT_FOUND, True, end_reason)
    automatic: tuple[int, ...] = ()
    if attribute and text.strip():
        attribution = attribute_citations(text, quotes)
        text, automatic = attribution.text, attribution.automatic
    report = check_citations(text, quotes, fetcher, automatic=automatic)
    return Answer(
        question,
        text,
        False,
        end_reason,
        report.citations,
        report.references,
        report.problems,
        sentences=report.sentences,
    )


def answer_json(
    answer: Answer, actions: list[str], candidates: int, timings: dict[str, Any]
) -> dict[str, Any]:
    """The object ``webgpt ask --json`` prints."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "declined": answer.declined,
        "references": [
            {"n": r.n, "title": r.title, "url": r.url, "quote": r.quote} for r in answer.references
        ],
        "actions": actions,
        "candidates": candidates,
        "reward": answer.reward,
        "timings": timings,
        "supported": answer.supported,
        "sentences": [
            {"text": s.text, "citations": list(s.citations), "automatic": s.automatic}
            for s in answer.sentences
        ],
        "automatic_citations": answer.automatic_citations,
        "problems": answer.problems,
    }
