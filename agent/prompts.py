"""Prompts: the browsing prompt (one observation → one command) and the answering prompt.

Browsing: a system instruction with the action help, optionally a short example episode (for models
that were not trained on demonstrations), then the observation as the user turn, in the model's chat
template; the command is the assistant turn. Models without a chat template get the same parts as
plain text. Observations that do not fit are shortened predictably: first the page text window (from
the bottom), then the oldest quotes, then the oldest past actions; the question, the section headers
and ``♦Next action`` always stay.

Answering: ``demonstrations.formats.answer_prompt`` (question + numbered quotes) as the user turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from agent.config import AGENT_DEFAULTS
from browser_env.actions import action_help
from browser_env.page import Link, Page
from browser_env.protocol import parse_observation
from browser_env.protocol.observation import TRUNCATED
from browser_env.web import FetchError, SearchResult
from demonstrations.formats import QuoteLike, answer_prompt

BROWSING_INSTRUCTION = (
    "You answer questions by browsing a text web browser. Each turn shows the question, the quotes "
    "collected so far, your past actions and the current page; reply with exactly one command on one "
    "line. Search, open the most promising result, quote the sentences that answer the question "
    "(copied exactly from the page), then End: Answer.\n\nCommands:\n"
)

ANSWER_INSTRUCTION = (
    "Answer the question in a few sentences using only the numbered quotes. After each claim, cite the "
    "quote that supports it as [n]."
)


def browsing_instruction() -> str:
    return BROWSING_INSTRUCTION + action_help()


# The example episode ------------------------------------------------------------------------------------
_EXAMPLE_QUESTION = "When did the Golden Gate Bridge open?"
_EXAMPLE_URL = "https://en.wikipedia.org/wiki/Golden_Gate_Bridge"
_EXAMPLE_TEXT = (
    "The Golden Gate Bridge is a suspension bridge spanning the Golden Gate, the strait connecting "
    "【0†San Francisco Bay】 to the 【1†Pacific Ocean】.\n"
    "Construction began on January 5, 1933.\n"
    "The bridge opened to traffic on May 28, 1937, after four years of construction.\n"
    "It was designed by engineer 【2†Joseph Strauss】."
)
_EXAMPLE_COMMANDS = (
    f"Search {_EXAMPLE_QUESTION}",
    "Clicked on link 0",
    "Quote: The bridge opened to traffic on May 28, 1937, after four years of construction.",
    "End: Answer",
)


class _ExampleWeb:
    """A two-result web holding one article: enough for the example episode."""

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        return [
            SearchResult(
                _EXAMPLE_URL, "Golden Gate Bridge", "The Golden Gate Bridge is a suspension bridge."
            ),
            SearchResult(
                "https://en.wikipedia.org/wiki/San_Francisco", "San Francisco", "A city in California."
            ),
        ][:k]

    def fetch(self, url: str) -> Page:
        if url != _EXAMPLE_URL:
            raise FetchError(f"page not found: {url}")
        links = [
            Link(0, "https://en.wikipedia.org/wiki/San_Francisco_Bay", "San Francisco Bay"),
            Link(1, "https://en.wikipedia.org/wiki/Pacific_Ocean", "Pacific Ocean"),
            Link(2, "https://en.wikipedia.org/wiki/Joseph_Strauss", "Joseph Strauss"),
        ]
        return Page(_EXAMPLE_URL, "Golden Gate Bridge", _EXAMPLE_TEXT, links)


@lru_cache(maxsize=1)
def example_episode() -> tuple[tuple[str, str], ...]:
    """(observation, command) pairs of a short ideal episode, produced by the real environment."""
    from browser_env.env import BrowserEnv

    web = _ExampleWeb()
    env = BrowserEnv(web, web)
    observation, _ = env.reset(options={"question": _EXAMPLE_QUESTION})
    turns = []
    for command in _EXAMPLE_COMMANDS:
        turns.append((observation, command))
        observation, _, _, _, info = env.step(command)
        if info["error"]:
            raise AssertionError(f"the example episode is broken at {command!r}: {info['error']}")
    return tuple(turns)


# Truncation ---------------------------------------------------------------------------------------------
def fit_observation(observation: str, max_tokens: int, count_tokens: Callable[[str], int]) -> str:
    """``observation`` shortened to at most ``max_tokens`` (as counted by ``count_tokens``): text window
    lines from the bottom first, then the oldest quotes, then the oldest past actions, and as a last
    resort the end of the question. Sections are found by position (``parse_observation``), so page text
    can never make this drop the question. Observations that fit come back unchanged."""
    if count_tokens(observation) <= max_tokens:
        return observation
    parts = parse_observation(observation)
    if parts is None:  # not an observation: keep the end, where the current state is
        ids_budget = max(1, max_tokens)
        while count_tokens(observation) > ids_budget and len(observation) > 1:
            observation = observation[len(observation) // 8 + 1 :]
        return observation

    def over() -> int:
        return count_tokens(parts.render()) - max_tokens

    excess = over()
    lines = parts.text.split("\n") if parts.text else []
    while excess > 0 and lines:
        excess -= max(1, count_tokens(lines.pop()))
        parts.text, parts.text_cut = "\n".join(lines), True
        if excess <= 0:
            excess = over()
    while excess > 0 and parts.quotes:
        dropped = parts.quotes.pop(0)
        excess -= max(1, count_tokens(f"{dropped.source}\n{dropped.text}"))
        parts.quotes_omitted += 1
        if excess <= 0:
            excess = over()
    while excess > 0 and parts.past_actions:
        excess -= max(1, count_tokens(parts.past_actions.pop(0)))
        parts.actions_omitted += 1
        if excess <= 0:
            excess = over()
    while excess > 0 and parts.question.strip():
        question = " ".join(parts.question.split())
        keep = max(0, len(question) - max(8, len(question) // 4))
        parts.question = question[:keep] + TRUNCATED if keep else ""
        excess = over()
    return parts.render()


# Browsing prompts ---------------------------------------------------------------------------------------
@dataclass
class EncodedPrompt:
    ids: list[int]
    prefix_length: int  # tokens shared by every step (instruction and example): cacheable
    observation: str  # the observation as it went into the prompt (possibly shortened)
    truncated: bool = False


PromptFormat = Literal["chat", "plain"]


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def default_format(tokenizer: Any) -> PromptFormat:
    return "chat" if has_chat_template(tokenizer) else "plain"


def browsing_messages(observation: str, *, few_shot: bool = False) -> list[dict[str, str]]:
    """The conversation for one browsing step; the reply (assistant turn) is the command."""
    messages = [{"role": "system", "content": browsing_instruction()}]
    if few_shot:
        for example_observation, command in example_episode():
            messages += [
                {"role": "user", "content": example_observation},
                {"role": "assistant", "content": command},
            ]
    messages.append({"role": "user", "content": observation})
    return messages


def render_messages(
    tokenizer: Any, messages: list[dict[str, str]], prompt_format: PromptFormat, *, generation_prompt: bool
) -> str:
    """The conversation as text. ``plain``: each user turn followed by a newline and the reply; the
    system turn only when there is also an example (a bare observation is what plain models learn)."""
    if prompt_format == "chat":
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation_prompt
        )
    has_example = any(m["role"] == "assistant" for m in messages)
    parts = []
    for message in messages:
        content = message["content"]
        if message["role"] == "system":
            parts.append(content + "\n\n" if has_example else "")
        elif message["role"] == "user":
            parts.append(content if content.endswith("\n") else content + "\n")
        else:
            parts.append(content + "\n\n")
    return "".join(parts)


@dataclass
class BrowsingPrompter:
    """Turns observations into token ids that fit in ``max_prompt_tokens``."""

    tokenizer: Any
    few_shot: bool = False
    max_prompt_tokens: int = AGENT_DEFAULTS.max_prompt_tokens
    prompt_format: PromptFormat | None = None

    def __post_init__(self) -> None:
        if self.prompt_format is None:
            self.prompt_format = default_format(self.tokenizer)
        marker = "\x00OBSERVATION\x00"
        messages = browsing_messages(marker, few_shot=self.few_shot)
        full = render_messages(self.tokenizer, messages, self.prompt_format, generation_prompt=True)
        cut = full.index(marker)
        # The prefix ends where the last user turn's text begins minus its role header, so it is
        # exactly the rendering of the system and example turns.
        prefix = render_messages(self.tokenizer, messages[:-1], self.prompt_format, generation_prompt=False)
        if not full.startswith(prefix):
            prefix = ""
        self._prefix_ids = self._encode(prefix) if prefix else []
        self._before = full[len(prefix) : cut]
        self._after = full[cut + len(marker) :]
        self._overhead = len(self._encode(self._before + self._after))

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def count(self, text: str) -> int:
        return len(self._encode(text))

    @property
    def prefix_ids(self) -> list[int]:
        return list(self._prefix_ids)

    def observation_budget(self, reserve: int = 0) -> int:
        return self.max_prompt_tokens - len(self._prefix_ids) - self._overhead - reserve

    def encode(self, observation: str, reserve: int = 0) -> EncodedPrompt:
        """Token ids for one step; ``reserve`` tokens are left free for the reply."""
        budget = self.observation_budget(reserve)
        if budget < 64:
            raise ValueError(
                f"max_prompt_tokens={self.max_prompt_tokens} leaves {budget} tokens for the observation"
            )
        fitted = fit_observation(observation, budget, self.count)
        ids = self._prefix_ids + self._encode(self._before + fitted + self._after)
        return EncodedPrompt(ids, len(self._prefix_ids), fitted, fitted != observation)


# Answering prompts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _ExampleQuote:
    title: str
    domain: str
    text: str


_ANSWER_EXAMPLE = (
    "When did the Golden Gate Bridge open?",
    [
        _ExampleQuote(
            "Golden Gate Bridge",
            "en.wikipedia.org",
            "The bridge opened to traffic on May 28, 1937, after four years of construction.",
        ),
        _ExampleQuote("Golden Gate Bridge", "en.wikipedia.org", "Construction began on January 5, 1933."),
    ],
    "The Golden Gate Bridge opened to traffic on May 28, 1937 [1], about four years after construction "
    "began in January 1933 [2].",
)


def answer_messages(question: str, quotes: Sequence[QuoteLike], *, few_shot: bool = False) -> list[dict]:
    """The conversation that asks for an answer; the reply is the answer with [n] citations."""
    messages = [{"role": "system", "content": ANSWER_INSTRUCTION}]
    if few_shot:
        example_question, example_quotes, example_answer = _ANSWER_EXAMPLE
        messages += [
            {"role": "user", "content": answer_prompt(example_question, example_quotes)},
            {"role": "assistant", "content": example_answer},
        ]
    messages.append({"role": "user", "content": answer_prompt(question, quotes)})
    return messages


def encode_answer_prompt(
    tokenizer: Any,
    question: str,
    quotes: Sequence[QuoteLike],
    *,
    few_shot: bool = False,
    prompt_format: PromptFormat | None = None,
) -> list[int]:
    """Token ids of the answering prompt, ready for generation."""
    messages = answer_messages(question, quotes, few_shot=few_shot)
    text = render_messages(
        tokenizer, messages, prompt_format or default_format(tokenizer), generation_prompt=True
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])
