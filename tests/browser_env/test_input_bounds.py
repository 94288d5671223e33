"""Questions and commands are bounded: too long is refused with a message, never carried along."""

from __future__ import annotations

import pytest

from browser_env.actions import InvalidAction, Search, parse_action
from browser_env.config import MAX_COMMAND_CHARS, EnvConfig
from browser_env.env import BrowserEnv
from browser_env.page import Page
from browser_env.web import SearchResult

PAGE = Page("https://example.org/a", "A page", "Some text about towers.", [])


class OnePage:
    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        return [SearchResult(PAGE.url, PAGE.title, PAGE.text)]

    def fetch(self, url: str) -> Page:
        return PAGE


def make_env(config: EnvConfig | None = None) -> BrowserEnv:
    web = OnePage()
    return BrowserEnv(web, web, config)


def test_an_over_long_command_is_an_invalid_action_that_keeps_only_its_beginning():
    text = "Search " + "x" * 1_000_000
    action = parse_action(text)
    assert isinstance(action, InvalidAction)
    assert action.message == f"the command is 1,000,007 characters long; the limit is {MAX_COMMAND_CHARS:,}"
    assert len(action.text) <= 200
    at_limit = "Search " + "x" * (MAX_COMMAND_CHARS - len("Search "))
    assert parse_action(at_limit) == Search("x" * (MAX_COMMAND_CHARS - len("Search ")))


@pytest.mark.parametrize("action", ["Search " + "tower " * 200_000, Search("tower " * 200_000)])
def test_an_over_long_command_costs_a_step_and_no_observation_carries_it(action):
    env = make_env()
    env.reset(options={"question": "What about towers?"})
    observation, _, terminated, truncated, info = env.step(action)
    assert not terminated and not truncated
    assert info["invalid_actions"] == 1 and info["actions_taken"] == 1
    assert "characters long; the limit is 2,000" in info["error"]
    assert len(info["last_action"]) <= 200
    for _ in range(3):
        observation, *_, info = env.step("Search towers")
    assert len(observation) < 5_000
    assert all(len(past) < 200 for past in env.observation_parts().past_actions)


def test_reset_refuses_an_over_long_question_in_one_sentence():
    env = make_env()
    with pytest.raises(ValueError) as refused:
        env.reset(options={"question": "why " * 5_000})
    assert str(refused.value) == (
        "the question is 19,999 characters long; the limit is 1,000: ask a shorter question"
    )
    assert "\n" not in str(refused.value)
    observation, _ = env.reset(options={"question": "q" * EnvConfig().max_question_chars})
    assert "q" * 1000 in observation
    with pytest.raises(ValueError, match="at least 1"):
        EnvConfig(max_question_chars=0)
    assert make_env(EnvConfig(max_question_chars=10)).reset(options={"question": "short one"})
