"""The observation a policy reads each step, as WebGPT laid it out, and its section headers.

Every free-text field is escaped when rendered: a line of a page (or a question, title or quote) that
begins with ``♦`` is written ``\\♦…``, so no content can forge a section. Parsing therefore finds each
section by position: the headers come in a fixed order and only headers begin with ``♦``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = "♦"
ESCAPED_MARK = "\\♦"
QUESTION = "♦Question"
QUOTES = "♦Quotes"
PAST_ACTIONS = "♦Past actions"
TITLE = "♦Title"
SCROLLBAR = "♦Scrollbar:"
TEXT = "♦Text"
ERROR = "♦Error:"
ACTIONS_LEFT = "♦Actions left:"
NEXT_ACTION = "♦Next action"
ANSWER = "♦Answer"
QUOTE_SOURCE = "From "
QUOTE_LINE = "> "
TRUNCATED = "…"

_SCROLLBAR = re.compile(r"♦Scrollbar: (\d+) - (\d+)")
_OMITTED = re.compile(r"\((\d+) earlier (quotes|actions) not shown\)")


def escape_line(line: str) -> str:
    """``line`` safe to place in an observation: a leading ``♦`` (after any spaces) is escaped."""
    stripped = line.lstrip()
    if stripped.startswith(MARK):
        return line[: len(line) - len(stripped)] + ESCAPED_MARK + stripped[len(MARK) :]
    return line


def escape_text(text: str) -> str:
    """Every line of ``text`` escaped (see ``escape_line``)."""
    return "\n".join(escape_line(line) for line in text.split("\n"))


def one_line(text: str) -> str:
    """``text`` with its whitespace runs, newlines included, collapsed to single spaces."""
    return " ".join(text.split())


@dataclass
class ObservedQuote:
    """A quote as the observation shows it: ``From <source>`` then ``> <text>``."""

    source: str
    text: str


@dataclass
class Observation:
    """The parts of one observation. ``render()`` writes the text a policy reads; ``parse_observation``
    reads it back. The ``*_omitted`` counts and ``text_cut`` record what a prompt had to leave out."""

    question: str
    quotes: list[ObservedQuote] = field(default_factory=list)
    past_actions: list[str] = field(default_factory=list)
    title: str = ""
    scrollbar: tuple[int, int] = (0, 0)
    text: str = ""
    error: str | None = None
    actions_left: int = 0
    quotes_omitted: int = 0
    actions_omitted: int = 0
    text_cut: bool = False

    def render(self) -> str:
        lines = [QUESTION, escape_text(self.question), QUOTES]
        if self.quotes_omitted:
            lines.append(f"({self.quotes_omitted} earlier quotes not shown)")
        for quote in self.quotes:
            lines += [QUOTE_SOURCE + one_line(quote.source), QUOTE_LINE + one_line(quote.text)]
        lines.append(PAST_ACTIONS)
        if self.actions_omitted:
            lines.append(f"({self.actions_omitted} earlier actions not shown)")
        lines += [escape_line(one_line(action)) for action in self.past_actions]
        first, last = self.scrollbar
        lines += [TITLE, escape_line(one_line(self.title)), f"{SCROLLBAR} {first} - {last}", TEXT]
        if self.text:
            lines.append(escape_text(self.text))
        if self.text_cut:
            lines.append(TRUNCATED)
        if self.error:
            lines.append(f"{ERROR} {one_line(self.error)}")
        lines += [f"{ACTIONS_LEFT} {self.actions_left}", NEXT_ACTION]
        return "\n".join(lines)


def parse_observation(text: str) -> Observation | None:
    """The parts of a rendered observation, found by position; None if ``text`` is not one. Field text
    stays as rendered (escaped), so ``parse_observation(o.render()).render() == o.render()``."""
    lines = text.split("\n")
    if not lines or lines[0] != QUESTION or len(lines) < 9 or lines[-1] != NEXT_ACTION:
        return None
    if not lines[-2].startswith(ACTIONS_LEFT + " ") or not lines[-2][len(ACTIONS_LEFT) + 1 :].isdigit():
        return None
    end = len(lines) - 2
    error = None
    if lines[end - 1].startswith(ERROR + " "):
        end -= 1
        error = lines[end][len(ERROR) + 1 :]
    try:
        quotes_at = lines.index(QUOTES, 1)
        past_at = lines.index(PAST_ACTIONS, quotes_at + 1)
        title_at = lines.index(TITLE, past_at + 1)
    except ValueError:
        return None
    scrollbar = _SCROLLBAR.fullmatch(lines[title_at + 2]) if title_at + 3 < end else None
    if title_at + 3 > end or scrollbar is None or lines[title_at + 3] != TEXT:
        return None
    body = lines[title_at + 4 : end]
    text_cut = bool(body) and body[-1] == TRUNCATED
    if text_cut:
        body = body[:-1]
    quote_lines = lines[quotes_at + 1 : past_at]
    quotes_omitted = _omitted(quote_lines, "quotes")
    if len(quote_lines) % 2:
        return None
    quotes = []
    for source, extract in zip(quote_lines[::2], quote_lines[1::2], strict=True):
        if not source.startswith(QUOTE_SOURCE) or not extract.startswith(QUOTE_LINE):
            return None
        quotes.append(ObservedQuote(source[len(QUOTE_SOURCE) :], extract[len(QUOTE_LINE) :]))
    actions = lines[past_at + 1 : title_at]
    actions_omitted = _omitted(actions, "actions")
    return Observation(
        question="\n".join(lines[1:quotes_at]),
        quotes=quotes,
        past_actions=actions,
        title=lines[title_at + 1],
        scrollbar=(int(scrollbar.group(1)), int(scrollbar.group(2))),
        text="\n".join(body),
        error=error,
        actions_left=int(lines[-2][len(ACTIONS_LEFT) + 1 :]),
        quotes_omitted=quotes_omitted,
        actions_omitted=actions_omitted,
        text_cut=text_cut,
    )


def _omitted(lines: list[str], kind: str) -> int:
    if lines:
        match = _OMITTED.fullmatch(lines[0])
        if match and match.group(2) == kind:
            del lines[0]
            return int(match.group(1))
    return 0
