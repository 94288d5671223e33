"""What kind of answer a question asks for, and whether a text holds that kind: a year or month for
"when", a number for "how many", a name the question does not mention for "who" and "where". Shared by
the sentence ranker (which sentence to quote) and the passage ranker (which passages search shows)."""

from __future__ import annotations

import re

YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
MONTH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b"
)
NUMBER = re.compile(
    r"\b(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"hundred|thousand|million|billion|dozen)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]+")


def question_kind(question: str) -> str:
    """What the question asks for: when, number, who, where or other."""
    text = question.lower()
    if re.search(r"\bhow (many|much|long|old|far|tall|big)\b", text):
        return "number"
    if re.search(r"\b(when|what year|which year|what date)\b", text):
        return "when"
    if re.search(r"\b(who|whom|whose)\b", text):
        return "who"
    if re.search(r"\bwhere\b", text):
        return "where"
    return "other"


def has_new_name(text: str, question: str) -> bool:
    """Whether ``text`` holds a capitalised word (not a sentence's first) that the question does not."""
    asked = {w.lower() for w in re.findall(r"[\w']+", question)}
    return any(name.lower().strip("'’") not in asked for name in _CAPITALISED.findall(text))


def holds_wanted_kind(kind: str, text: str, question: str) -> bool:
    """Whether ``text`` holds the kind of answer ``kind`` (``question_kind``) asks for; True for other."""
    if kind == "when":
        return bool(YEAR.search(text) or MONTH.search(text))
    if kind == "number":
        return bool(NUMBER.search(text))
    if kind in ("who", "where"):
        return has_new_name(text, question)
    return True


def wanted_kind_count(kind: str, text: str) -> int:
    """How many years and months (``when``) or numbers (``number``) ``text`` holds; 0 for other kinds."""
    if kind == "when":
        return len(YEAR.findall(text)) + len(MONTH.findall(text))
    if kind == "number":
        return len(NUMBER.findall(text))
    return 0
