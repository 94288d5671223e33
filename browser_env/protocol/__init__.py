"""The text protocol every package speaks: link markup, the quote separator, the observation and its
section headers, the citation grammar, why episodes end, and the keyword utility. The command language
itself is ``browser_env.actions``; matching page text is ``browser_env.textmatch``."""

from browser_env.protocol.citations import (
    CITATION,
    SentenceCitations,
    answer_lead,
    citation_problems,
    parse_citations,
    sentence_citations,
    split_sentences,
    uncited_sentences,
)
from browser_env.protocol.endings import DECLINE_REASONS, EndReason
from browser_env.protocol.links import (
    LINK_MARKUP,
    LINK_SPAN,
    format_link,
    link_ids,
    link_text,
    plain_text,
    strip_links,
    unlink,
)
from browser_env.protocol.observation import Observation, ObservedQuote, escape_text, parse_observation

QUOTE_SEPARATOR = "━"

__all__ = [
    "CITATION",
    "DECLINE_REASONS",
    "LINK_MARKUP",
    "LINK_SPAN",
    "QUOTE_SEPARATOR",
    "EndReason",
    "Observation",
    "ObservedQuote",
    "SentenceCitations",
    "answer_lead",
    "citation_problems",
    "escape_text",
    "format_link",
    "link_ids",
    "link_text",
    "parse_citations",
    "parse_observation",
    "plain_text",
    "sentence_citations",
    "split_sentences",
    "strip_links",
    "uncited_sentences",
    "unlink",
]
