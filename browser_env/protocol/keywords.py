"""Words, stop words and crude stems: the one keyword utility for search, policies and the demonstrator."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did didn do does doesn doing don down during each few for from
    further get gets got had has have having he her here hers herself him himself his how i if in
    into is isn it its itself just me more most my myself no nor not now of off on once only or
    other our ours out over own s same she should so some such t than that the their theirs them
    themselves then there these they this those through to too under until up very was wasn we were
    weren what when where which while who whom why will with would you your yours yourself
    anyone anybody anything someone somebody something everyone everybody everything ever also may might
    must shall
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
#: Words a searcher drops when reformulating: they say what kind of answer is wanted, not what about.
_GENERIC_TEXT = """
    called episode film first last long many movie much name names new number play played plays sang
    season show sing song sung time times year years
"""
GENERIC = frozenset(_GENERIC_TEXT.split())
_WORD = re.compile(r"(?:[^\W_]|')+")
_QUALIFIER = re.compile(r"\([^)]*\)")


def fold_accents(text: str) -> str:
    """``text`` as people type it without accents or special forms: "Pokémon" is "Pokemon", "Kraków"
    "Krakow", "CO₂" "CO2" (compatibility decomposition, combining marks dropped)."""
    if text.isascii():
        return text
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """Lower-cased words without accents, possessives and stray apostrophes removed; an underscore
    separates words ("_Haliaeetus_" is "haliaeetus", "O_RDONLY" is "o" and "rdonly")."""
    out = []
    for word in _WORD.findall(fold_accents(text.replace("’", "'"))):
        word = word.casefold().removesuffix("'s").strip("'")
        if word:
            out.append(word)
    return out


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not stop words, in order, repeats kept."""
    return [word for word in words(text) if word not in STOPWORDS]


def distinct_content_words(text: str, min_length: int = 1) -> list[str]:
    """Content words in order of first appearance, each once, at least ``min_length`` long."""
    return list(dict.fromkeys(w for w in content_words(text) if len(w) >= min_length))


def stem(word: str) -> str:
    """A crude stem, enough to match ``wins``/``winner`` or ``played``/``plays``."""
    return word[:5] if len(word) > 5 else word.rstrip("s") if len(word) > 3 else word


def title_topic(title: str) -> str:
    """A page title without its parenthesised qualifiers: "James Brown (singer)" → "James Brown"."""
    return " ".join(_QUALIFIER.sub(" ", title).split())


def stems(text: str) -> set[str]:
    """Stems of the content words of ``text``."""
    return {stem(w) for w in content_words(text)}


def keywords(question: str) -> set[str]:
    """Stems of the question's content words, without the generic ones (year, first, many...)."""
    return {stem(w) for w in content_words(question) if w not in GENERIC}


def weighted_keywords(question: str, weight: Callable[[str], float]) -> dict[str, float]:
    """The stems of ``keywords(question)``, each with the largest ``weight`` of its words (a word's
    rarity, say)."""
    weights: dict[str, float] = {}
    for word in content_words(question):
        if word not in GENERIC:
            weights[stem(word)] = max(weights.get(stem(word), 0.0), weight(word))
    return weights
