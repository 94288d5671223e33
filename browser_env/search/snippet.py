"""Search-result snippets: the stretch of a passage (about 30-60 words) that holds most query words."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from browser_env.protocol.keywords import fold_accents
from browser_env.render_text import without_dump_residue
from browser_env.search.bm25 import LANGUAGE

SNIPPET_WORDS = 50
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer(LANGUAGE)


def snippet(text: str, query: str, *, words: int = SNIPPET_WORDS) -> str:
    """The ``words``-word window of ``text`` covering the most distinct query words (then most hits),
    with ``…`` where text was cut. What dumps leave behind (``__NOTOC__``, "( ; )"), which corpora built
    before pages dropped it still hold, is left out."""
    tokens = without_dump_residue(text).split()
    if len(tokens) <= words:
        return " ".join(tokens)
    stemmer = _stemmer()
    wanted = set(stemmer.stemWords(_WORD.findall(fold_accents(query.lower()))))
    words_of = [_WORD.findall(fold_accents(token.lower())) for token in tokens]
    stems = iter(stemmer.stemWords([word for found in words_of for word in found]))
    hits = [[stem for stem in (next(stems) for _ in found) if stem in wanted] for found in words_of]
    counts: dict[str, int] = {}
    distinct = hit_total = 0
    best_start, best_score = 0, (-1, -1)
    for end, found in enumerate(hits):
        for stem in found:
            counts[stem] = counts.get(stem, 0) + 1
            distinct += counts[stem] == 1
        hit_total += bool(found)
        start = end - words + 1
        if start < 0:
            continue
        if (distinct, hit_total) > best_score:
            best_start, best_score = start, (distinct, hit_total)
        for stem in hits[start]:
            counts[stem] -= 1
            distinct -= counts[stem] == 0
        hit_total -= bool(hits[start])
    # Begin at a sentence start when one is close before the best window.
    for back in range(best_start, max(-1, best_start - 12), -1):
        if back == 0 or tokens[back - 1].endswith((".", "!", "?", ":")):
            best_start = back
            break
    chosen = " ".join(tokens[best_start : best_start + words])
    prefix = "… " if best_start > 0 else ""
    suffix = " …" if best_start + words < len(tokens) else ""
    return prefix + chosen + suffix
