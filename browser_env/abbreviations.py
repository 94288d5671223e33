"""Cutting page text into sentences without cutting at a full stop that ends an initial or a common
abbreviation: "John F. Kennedy", "Sgt. Pepper", "No. 1", "St. Louis", nor at one a lower-case word
follows ("the U.S. presidential election", "Smith et al. and"). A dotted acronym before a capital
("U.S. Army", "…in the U.S. The") ends sentences as often as not, so acronyms are not listed.
Skimming's splitter and the demonstrator's both cut through ``sentence_spans``, each with its own idea
of what a sentence end looks like.
"""

from __future__ import annotations

import re

_ABBREVIATION = re.compile(
    r"(?:^|[\s(\"“‘])(?:[A-Z]|Mr|Mrs|Ms|Dr|St|Sgt|Lt|Gen|Col|Capt|Maj|Adm|Brig|Cpl|Pvt|Gov|Sen|Rev|Prof|Hon"
    r"|Jr|Sr|Inc|Co|Ltd|vs|No|Nos|Vol|Mt|Ft|ca|c|approx|cf|fl)\.$"
)


def sentence_spans(text: str, ends: re.Pattern[str]) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, cut at every match of ``ends`` (the separator, which
    belongs to neither side) but at none that is only whitespace after an initial or an abbreviation,
    or before a lower-case letter. The last span runs to the end of ``text``."""
    spans, start = [], 0
    for end in ends.finditer(text):
        if end.group().isspace() and (
            _ABBREVIATION.search(text[start : end.start()]) or text[end.end() : end.end() + 1].islower()
        ):
            continue  # "John F." | "Kennedy" and "the U.S." | "presidential election" are one sentence
        spans.append((start, end.start()))
        start = end.end()
    return [*spans, (start, len(text))]
