"""The environment's settings: the one home of its defaults (budgets, window, search, blocklist).

The CLIs (``webgpt browse``, ``record``, ``ask``, ``demos generate``) take their defaults from here, and
every stored episode keeps the settings it was recorded with (``EnvConfig.to_dict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from browser_env.page import domain_of

MAX_COMMAND_CHARS = 2000
"""The longest command ``parse_action`` reads; a longer one is an invalid action (it still costs a step)."""


@dataclass
class EnvConfig:
    max_actions: int = 100
    """Commands per episode (WebGPT's budget); reaching it truncates the episode."""
    max_quotes: int = 10
    """Quotes per episode; collecting the last one truncates the episode."""
    window_lines: int = 12
    """Display lines shown in one window of a page."""
    line_width: int = 120
    """Characters per display line; paragraphs wrap at spaces, never inside link markup."""
    search_results: int = 10
    """Results on a search results page."""
    blocklist: tuple[str, ...] = ("reddit.com", "quora.com")
    """Domains (and their subdomains) that results and links never lead to."""
    max_quote_chars: int = 1500
    """The longest quote accepted, in characters of extracted text."""
    max_question_chars: int = 1000
    """The longest question ``reset`` accepts (longer ones are refused with a ValueError)."""

    def __post_init__(self) -> None:
        for name in (
            "max_actions",
            "max_quotes",
            "window_lines",
            "line_width",
            "search_results",
            "max_question_chars",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        if self.line_width < 20:
            raise ValueError(f"line_width must be at least 20 characters, not {self.line_width}")
        if isinstance(self.blocklist, str):
            raise ValueError("blocklist must be a list of domains, not one string")
        self.blocklist = tuple(str(domain).lower().removeprefix("www.") for domain in self.blocklist)

    def check_question(self, question: str) -> str:
        """``question`` without surrounding whitespace, or a one-line ValueError saying what to fix."""
        question = question.strip()
        if not question:
            raise ValueError("the question is empty: ask a question")
        if len(question) > self.max_question_chars:
            raise ValueError(
                f"the question is {len(question):,} characters long; the limit is "
                f"{self.max_question_chars:,}: ask a shorter question"
            )
        return question

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["blocklist"] = list(self.blocklist)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EnvConfig:
        """Settings from a stored dict; unknown keys (from other versions) are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known}
        if "blocklist" in values:
            values["blocklist"] = tuple(values["blocklist"])
        return cls(**values)

    def is_blocked(self, url: str) -> bool:
        domain = domain_of(url)
        return any(domain == blocked or domain.endswith("." + blocked) for blocked in self.blocklist)
