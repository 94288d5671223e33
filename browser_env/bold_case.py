"""Undo the capitals that article dumps write for bold text.

Plain-text Wikipedia dumps render bold as capitals: "MUHAMMAD RAMZAN ALI (born 13 December 1932) is a
Pakistani former athlete", "The ALKALI METALS are a group (column) in the periodic table". Quotes and
answers copied from such text shout. ``restore_bold_case`` writes each such run in the casing the page
itself uses for its words: the commonest form of the word elsewhere in the text ("alkali metals"), or
the title's ("Muhammad Ramzan Ali").

It changes a run only when it can tell how every word is written: each word of two or more letters
must appear in the title or, not in capitals, elsewhere in the text. A short word it cannot place (up
to four letters: "NCAA", "II", "UK") stays as it is; any other unknown word leaves the whole run in
capitals. A single capitalised word changes only when it is a word of the title longer than four
letters ("ABACÁ" on the page "Abacá"), so acronyms stay acronyms. Words with digits or underscores
("O_RDONLY", "MP3") never change.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_TOKEN = re.compile(r"\S+")
# A token's word: letters, with inner hyphens, dashes and apostrophes ("MOBY-DICK", "O'NEILL"), between any
# punctuation ("(", "," or "”").
_WORD = re.compile(r"^([^\w]*)((?:[^\W\d_]+(?:['’\-–][^\W\d_]+)*))([^\w]*)$")
_SPACES = re.compile(r"( +)")
_SENTENCE_END = re.compile(r"[.!?:][\"”’)\]]*$")
SHORT_WORD = 4  # letters: an unknown capitalised word this short may be an acronym, and stays


def _forms(text: str, title: str) -> dict[str, str]:
    """Each word's written form, by its lower case: its commonest form in ``text`` that is not in
    capitals, else the title's (whose first word is capitalised whatever it is)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for token in _TOKEN.findall(text):
        match = _WORD.match(token)
        if match and not match.group(2).isupper():
            counts[match.group(2).lower()][match.group(2)] += 1
    forms = {key: found.most_common(1)[0][0] for key, found in counts.items()}
    for token in _TOKEN.findall(title):
        match = _WORD.match(token)
        if match:
            forms.setdefault(match.group(2).lower(), match.group(2))
    return forms


def _capitals(token: str) -> re.Match[str] | None:
    match = _WORD.match(token)
    if match and len(match.group(2)) >= 2 and match.group(2).isupper():
        return match
    return None


def _rewrite(run: list[re.Match[str]], forms: dict[str, str], title_words: set[str]) -> list[str] | None:
    """The run's tokens in the page's casing, or None when a word's casing cannot be told."""
    if len(run) == 1 and (len(run[0].group(2)) <= SHORT_WORD or run[0].group(2).lower() not in title_words):
        return None
    out = []
    for match in run:
        word = match.group(2)
        form = forms.get(word.lower())
        if form is None:
            if len(word) > SHORT_WORD:
                return None
            form = word
        out.append(match.group(1) + form + match.group(3))
    return out


def restore_line(line: str, forms: dict[str, str], title_words: set[str]) -> str:
    """One line with each run of capitalised words rewritten when its casing can be told."""
    parts = _SPACES.split(line)  # words at even positions, the spaces between them at odd ones
    k = 0
    while k < len(parts):
        match = _capitals(parts[k])
        if match is None:
            k += 2
            continue
        run = [match]
        while k + 2 * len(run) < len(parts) and run[-1].group(3) == "":
            following = _capitals(parts[k + 2 * len(run)])
            if following is None or following.group(1):
                break
            run.append(following)
        rewritten = _rewrite(run, forms, title_words)
        if rewritten is not None:
            if k == 0 or not parts[k - 2] or _SENTENCE_END.search(parts[k - 2]):
                lead, word = run[0].group(1), rewritten[0][len(run[0].group(1)) :]
                rewritten[0] = lead + word[:1].upper() + word[1:]
            parts[k : k + 2 * len(run) : 2] = rewritten
        k += 2 * len(run)
    return "".join(parts)


def restore_bold_case(text: str, title: str) -> str:
    """``text`` (lines of a page) with the capitals dumps write for bold in the page's own casing."""
    if not any(_capitals(token) for token in _TOKEN.findall(text)):
        return text
    forms = _forms(text, title)
    title_words = {m.group(2).lower() for m in map(_WORD.match, _TOKEN.findall(title)) if m}
    return "\n".join(restore_line(line, forms, title_words) for line in text.split("\n"))
