"""Cutting page text into sentences without cutting at a full stop that ends an initial or a common
abbreviation: "John F. Kennedy", "Sgt. Pepper", "No. 1", "St. Louis", nor at one a lower-case word
follows ("the U.S. presidential election", "Smith et al. and"). A dotted acronym before a capital
("U.S. Army", "…in the U.S. The") ends sentences as often as not, so acronyms are not listed.
Skimming's splitter and the demonstrator's both cut through ``sentence_spans``, each with its own idea
of what a sentence end looks like; the citation grammar of answers (``browser_env.protocol.citations``)
asks ``is_abbreviation`` of the same list.
"""

from __future__ import annotations

import re

# Words whose full stop ends no sentence, as they are written: page text matches them in this case
# ("No. 1" but not "said no. Then"); answers, short and typed, in any case (``is_abbreviation``).
_WORDS = (
    "Mr Mrs Ms Dr St Sgt Lt Gen Col Capt Maj Adm Brig Cpl Pvt Gov Sen Rev Prof Hon Jr Sr Inc Co Corp Ltd"
    " vs No Nos Vol Mt Ft Fig ca c approx cf fl"
)
ABBREVIATIONS = frozenset(_WORDS.split())
_LOWER_CASE = frozenset(word.lower() for word in ABBREVIATIONS)
_ABBREVIATION = re.compile(
    r"(?:^|[\s(\"“‘…])(?:[A-Z]|" + "|".join(sorted(ABBREVIATIONS, key=lambda w: (-len(w), w))) + r")\.$"
)
_INITIALS = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")  # "U.S", "e.g", "J"


def is_abbreviation(word: str) -> bool:
    """Whether a full stop after ``word`` (quotes, brackets and an ellipsis before it aside) ends no
    sentence: an abbreviation in any case, or initials ("U.S", "e.g", "J")."""
    word = word.lstrip("(\"'“‘…")
    return word.lower() in _LOWER_CASE or _INITIALS.fullmatch(word) is not None


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
