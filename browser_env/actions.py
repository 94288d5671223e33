"""The command language: one definition per command drives parsing, rendering and the prompt help.

Each command is a frozen dataclass; ``parse_action`` turns text into one (or into ``InvalidAction``,
never raising) and ``render_action`` turns it back, so ``parse_action(render_action(a)) == a``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from browser_env.config import MAX_COMMAND_CHARS
from browser_env.protocol import QUOTE_SEPARATOR

DECLINE_REASONS = ("Nonsense", "Controversial")


@dataclass(frozen=True)
class Search:
    query: str


@dataclass(frozen=True)
class ClickLink:
    link_id: int


@dataclass(frozen=True)
class FindInPage:
    text: str


@dataclass(frozen=True)
class Quote:
    """``text`` is the extract, or ``start━end`` to quote everything from start text to end text."""

    text: str

    @property
    def bounds(self) -> tuple[str, str] | None:
        if QUOTE_SEPARATOR not in self.text:
            return None
        start, _, end = self.text.partition(QUOTE_SEPARATOR)
        return start.strip(), end.strip()


@dataclass(frozen=True)
class ScrollDown:
    windows: int = 1


@dataclass(frozen=True)
class ScrollUp:
    windows: int = 1


@dataclass(frozen=True)
class Top:
    pass


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class EndAnswer:
    pass


@dataclass(frozen=True)
class EndDecline:
    reason: Literal["Nonsense", "Controversial"]


@dataclass(frozen=True)
class InvalidAction:
    """Text that is not a command. It still costs a step; ``message`` says what was wrong."""

    text: str
    message: str


Action = Search | ClickLink | FindInPage | Quote | ScrollDown | ScrollUp | Top | Back | EndAnswer | EndDecline
AnyAction = Action | InvalidAction


@dataclass(frozen=True)
class CommandSpec:
    """One command: its syntax for people and models, and how to read and write it."""

    kind: type
    syntax: str
    help: str
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], Action | InvalidAction]
    render: Callable[[Action], str]


def _one_line(text: str) -> bool:
    return "\n" not in text and "\r" not in text


# The help's own placeholders, copied as they are (a model imitating "Begin with: Search <query>").
_PLACEHOLDER = re.compile(r"<(query|text)>", re.I)


def _text_argument(
    kind: type,
    label: str,
    *,
    empty: str = "needs some text after the colon",
    fill: str = "write the text itself",
) -> Callable[[re.Match[str]], Action | InvalidAction]:
    def build(match: re.Match[str]) -> Action | InvalidAction:
        value = match.group(1).strip()
        if not value:
            return InvalidAction(match.string, f"{label} {empty}")
        if _PLACEHOLDER.fullmatch(value):
            return InvalidAction(match.string, f"{label}: {fill} in place of {value}")
        return kind(value)

    return build


def _click(match: re.Match[str]) -> Action | InvalidAction:
    value = match.group(1).strip()
    if re.fullmatch(r"[0-9]{1,6}", value):
        return ClickLink(int(value))
    if re.fullmatch(r"[0-9]+", value):
        message = f"no page has a link {_shorten(value)}: link IDs have at most 6 digits"
        return InvalidAction(match.string, message)
    return InvalidAction(
        match.string,
        f"{_shorten(value)!r} is not a link ID: link IDs are whole numbers from 0, "
        "the number in 【<link ID>†text】 on the page",
    )


def _scroll(kind: type) -> Callable[[re.Match[str]], Action | InvalidAction]:
    def build(match: re.Match[str]) -> Action | InvalidAction:
        return kind(int(match.group(1)))

    return build


def _decline(match: re.Match[str]) -> Action | InvalidAction:
    return EndDecline(match.group(1).capitalize())  # type: ignore[arg-type]


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        Search,
        "Search <query>",
        "search the web and show a page of results",
        re.compile(r"Search\s+(.+)", re.S),
        _text_argument(Search, "Search", empty="needs a query", fill="write the words to search for"),
        lambda a: f"Search {a.query}",
    ),
    CommandSpec(
        ClickLink,
        "Clicked on link <link ID>",
        "open the link shown as 【<link ID>†text†domain】",
        re.compile(r"Clicked on link\s+(.+)", re.S),
        _click,
        lambda a: f"Clicked on link {a.link_id}",
    ),
    CommandSpec(
        FindInPage,
        "Find in page: <text>",
        "jump to the next place on the page where <text> occurs",
        re.compile(r"Find in page:(.*)", re.S),
        _text_argument(FindInPage, "Find in page"),
        lambda a: f"Find in page: {a.text}",
    ),
    CommandSpec(
        Quote,
        "Quote: <text>",
        f"save <text>, copied exactly from the page, as a quote (or <start text>{QUOTE_SEPARATOR}<end text>)",
        re.compile(r"Quote:(.*)", re.S),
        _text_argument(Quote, "Quote"),
        lambda a: f"Quote: {a.text}",
    ),
    CommandSpec(
        ScrollDown,
        "Scrolled down <1|2|3>",
        "move down the page by 1, 2 or 3 windows",
        re.compile(r"Scrolled down\s+([123])"),
        _scroll(ScrollDown),
        lambda a: f"Scrolled down {a.windows}",
    ),
    CommandSpec(
        ScrollUp,
        "Scrolled up <1|2|3>",
        "move up the page by 1, 2 or 3 windows",
        re.compile(r"Scrolled up\s+([123])"),
        _scroll(ScrollUp),
        lambda a: f"Scrolled up {a.windows}",
    ),
    CommandSpec(
        Top, "Top", "go to the top of the page", re.compile(r"Top"), lambda m: Top(), lambda a: "Top"
    ),
    CommandSpec(
        Back, "Back", "go back to the previous page", re.compile(r"Back"), lambda m: Back(), lambda a: "Back"
    ),
    CommandSpec(
        EndAnswer,
        "End: Answer",
        "stop browsing and answer from the quotes",
        re.compile(r"End:\s*Answer", re.I),
        lambda m: EndAnswer(),
        lambda a: "End: Answer",
    ),
    CommandSpec(
        EndDecline,
        "End: <Nonsense|Controversial>",
        "stop without answering a nonsensical or controversial question",
        re.compile(r"End:\s*(Nonsense|Controversial)", re.I),
        _decline,
        lambda a: f"End: {a.reason}",
    ),
)

_BY_KIND = {spec.kind: spec for spec in COMMANDS}


def parse_action(text: str) -> AnyAction:
    """Read one command. Surrounding whitespace is ignored; anything else returns ``InvalidAction``.

    A command longer than ``MAX_COMMAND_CHARS`` is invalid, and its ``InvalidAction`` keeps only the
    beginning of the text, so that nothing downstream (past actions, stored steps) carries it whole."""
    if not isinstance(text, str):
        return InvalidAction(_shorten(repr(text)), "a command must be text")
    if len(text) > MAX_COMMAND_CHARS:
        return InvalidAction(
            _shorten(text, 200),
            f"the command is {len(text):,} characters long; the limit is {MAX_COMMAND_CHARS:,}",
        )
    line = text.strip()
    if not line:
        return InvalidAction(text, "empty command")
    for spec in COMMANDS:
        match = spec.pattern.fullmatch(line)
        if match:
            if spec.kind in (Search, FindInPage, Quote) and not _one_line(match.group(1).strip()):
                return InvalidAction(text, "a command must fit on one line")
            return spec.build(match)
    return InvalidAction(text, f"not a command: {_shorten(line)!r}; expected one of: {command_names()}")


def render_action(action: AnyAction) -> str:
    """The command text for ``action``; invalid actions render as the text that was given."""
    if isinstance(action, InvalidAction):
        return action.text
    return _BY_KIND[type(action)].render(action)


def syntax_of(kind: type) -> str:
    """The syntax of a command, as the help and ``info["valid_commands"]`` write it."""
    return _BY_KIND[kind].syntax


def command_names() -> str:
    return ", ".join(spec.syntax for spec in COMMANDS)


def action_help() -> str:
    """The list of commands for prompts and for people, one per line."""
    width = max(len(spec.syntax) for spec in COMMANDS)
    return "\n".join(f"{spec.syntax.ljust(width)}  {spec.help}" for spec in COMMANDS)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
