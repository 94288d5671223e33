"""Undo the capitals that article dumps write for bold text.

Plain-text Wikipedia dumps render bold as capitals: "MUHAMMAD RAMZAN ALI (born 13 December 1932) is a
Pakistani former athlete", "The ALKALI METALS are a group (column) in the periodic table". Quotes and
answers copied from such text shout. ``restore_bold_case`` writes each such run in the casing the page
itself uses for its words: the commonest form of the word elsewhere in the text ("alkali metals"), or
the title's ("Muhammad Ramzan Ali").

It changes a run only when it can tell how every word is written: each word of two or more letters
must appear in the title or, not in capitals, elsewhere in the text. A short word it cannot place (up
to four letters: "NCAA", "II", "UK") stays as it is; any other unknown word leaves the whole run in
capitals; "of", "for", "the" and other function words go to lower case. A single capitalised word
changes only when it is a word of the title longer than four letters ("ABACÁ" on the page "Abacá"), so
acronyms stay acronyms. Words with digits or underscores ("O_RDONLY", "MP3") never change, but an
ordinal's letters do ("147TH" reads "147th").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_TOKEN = re.compile(r"\S+")
# A word: letters, with inner hyphens, dashes and apostrophes ("MOBY-DICK", "O'NEILL").
_LETTERS = r"[^\W\d_]+(?:['’\-–][^\W\d_]+)*"
_WORDS = re.compile(_LETTERS)
# A token that is one word between any punctuation ("(", "," or "”").
_WORD = re.compile(rf"^([^\w]*)({_LETTERS})([^\w]*)$")
_SPACES = re.compile(r"( +)")
_SENTENCE_END = re.compile(r"[.!?:][\"”’)\]]*$")
# Two capitals in a row: a line without them has nothing to restore (a fast test before reading words).
_CAPITALS_QUICK = re.compile(r"[^\W\d_a-z]{2}")
SHORT_WORD = 4  # letters: an unknown capitalised word this short may be an acronym, and stays
# Words that are never acronyms inside a run, written in lower case when the page has no other form.
FUNCTION_WORDS = frozenset(
    ["a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with"]
)
# "147TH PENNSYLVANIA", "1ST GLOBES": an ordinal's letters are never bold capitals of their own.
_ORDINAL = re.compile(r"\b(\d+)(ST|ND|RD|TH)\b")


class _Casing:
    """How the page writes each word of its capitalised runs: the commonest form in ``text`` that is not
    in capitals, else the title's (whose first word is capitalised whatever it is)."""

    def __init__(self, text: str, title: str, wanted: set[str]) -> None:
        self.title_forms: dict[str, str] = {}
        for token in _TOKEN.findall(title):
            match = _WORD.match(token)
            if match:
                self.title_forms.setdefault(match.group(2).lower(), match.group(2))
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for word in _WORDS.findall(text):
            if word.isupper():
                continue
            # "Prague's" tells how "PRAGUE'S" and "PRAGUE" are written
            for form in (word, word[:-2]) if word[-2:].lower() in ("'s", "’s") else (word,):
                if form.lower() in wanted:
                    counts[form.lower()][form] += 1
        self.forms = {lower: found.most_common(1)[0][0] for lower, found in counts.items()}

    def form(self, lower: str) -> str | None:
        found = self.forms.get(lower) or self.title_forms.get(lower)
        return found or (lower if lower in FUNCTION_WORDS else None)


def _capitals(token: str) -> re.Match[str] | None:
    match = _WORD.match(token)
    if match and len(match.group(2)) >= 2 and match.group(2).isupper():
        return match
    return None


def _rewrite(run: list[re.Match[str]], casing: _Casing) -> list[str] | None:
    """The run's tokens in the page's casing, or None when a word's casing cannot be told."""
    if len(run) == 1:
        word = run[0].group(2)
        if len(word) <= SHORT_WORD or word.lower() not in casing.title_forms:
            return None
    out = []
    for match in run:
        word = match.group(2)
        form = casing.form(word.lower())
        if form is None:
            if len(word) > SHORT_WORD:
                return None
            form = word
        out.append(match.group(1) + form + match.group(3))
    return out


def _runs(parts: list[str]) -> list[tuple[int, list[re.Match[str]]]]:
    """Where each run of capitalised words starts in ``parts`` (words at even positions), and its words."""
    found = []
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
        found.append((k, run))
        k += 2 * len(run)
    return found


def _restore(parts: list[str], runs: list[tuple[int, list[re.Match[str]]]], casing: _Casing) -> str:
    for k, run in runs:
        rewritten = _rewrite(run, casing)
        if rewritten is None:
            continue
        if k == 0 or not parts[k - 2] or _SENTENCE_END.search(parts[k - 2]):
            lead, word = run[0].group(1), rewritten[0][len(run[0].group(1)) :]
            rewritten[0] = lead + word[:1].upper() + word[1:]
        parts[k : k + 2 * len(run) : 2] = rewritten
    return "".join(parts)


def restore_bold_case(text: str, title: str) -> str:
    """``text`` (lines of a page) with the capitals dumps write for bold in the page's own casing."""
    lines = _ORDINAL.sub(lambda m: m.group(1) + m.group(2).lower(), text).split("\n")
    found = {}
    for k, line in enumerate(lines):
        if _CAPITALS_QUICK.search(line):
            parts = _SPACES.split(line)  # words at even positions, the spaces between them at odd ones
            runs = _runs(parts)
            if runs:
                found[k] = (parts, runs)
    if not found:
        return "\n".join(lines)
    wanted = {m.group(2).lower() for _, runs in found.values() for _, run in runs for m in run}
    casing = _Casing(text, title, wanted)
    for k, (parts, runs) in found.items():
        lines[k] = _restore(parts, runs, casing)
    return "\n".join(lines)
