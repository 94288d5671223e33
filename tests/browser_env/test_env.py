from __future__ import annotations

import pytest

from browser_env.env import BrowserEnv, EnvConfig, wrap_lines
from browser_env.page import Link, Page
from browser_env.web import FetchError, SearchResult

EIFFEL = "https://en.wikipedia.org/wiki/Eiffel_Tower"
PARIS = "https://en.wikipedia.org/wiki/Paris"


class PageWeb:
    """A fixed set of already-rendered pages; a real SearchBackend and Fetcher, just small."""

    def __init__(self, pages: list[Page]) -> None:
        self.pages = {page.url: page for page in pages}

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        words = set(query.lower().split())
        hits = [
            p for p in self.pages.values() if words & set(p.text.lower().split() + p.title.lower().split())
        ]
        return [SearchResult(p.url, p.title, p.text.splitlines()[0]) for p in hits][:k]

    def fetch(self, url: str) -> Page:
        if url not in self.pages:
            raise FetchError("no such page")
        return self.pages[url]


def eiffel_page() -> Page:
    body = [f"Filler line {i} about iron lattice towers." for i in range(60)]
    body[20] = "The tower is named after the engineer 【0†Gustave Eiffel】, whose company built it."
    body[25] = (
        "Gustave Eiffel also worked on the Statue of Liberty. See 【1†Paris】 and 【2†a thread†reddit.com】."
    )
    links = [
        Link(0, "https://en.wikipedia.org/wiki/Gustave_Eiffel", "Gustave Eiffel"),
        Link(1, PARIS, "Paris"),
        Link(2, "https://www.reddit.com/r/paris", "a thread", "reddit.com"),
    ]
    return Page(EIFFEL, "Eiffel Tower", "\n".join(["Eiffel Tower", *body]), links)


@pytest.fixture
def env() -> BrowserEnv:
    web = PageWeb(
        [
            eiffel_page(),
            Page(PARIS, "Paris", "Paris is the capital of France."),
            Page("https://www.reddit.com/r/eiffel", "eiffel tower thread", "eiffel tower discussion"),
        ]
    )
    environment = BrowserEnv(web, web, EnvConfig(max_actions=20, window_lines=12, max_quotes=3))
    environment.reset(options={"question": "Who is the Eiffel Tower named after?"})
    return environment


def test_first_observation_has_every_section_in_order(env):
    obs = env.observation
    headers = [line for line in obs.splitlines() if line.startswith("♦")]
    assert headers == [
        "♦Question",
        "♦Quotes",
        "♦Past actions",
        "♦Title",
        "♦Scrollbar: 0 - 0",
        "♦Text",
        "♦Actions left: 20",
        "♦Next action",
    ]
    assert obs.startswith("♦Question\nWho is the Eiffel Tower named after?\n♦Quotes\n♦Past actions\n♦Title")


def test_search_results_are_a_page_of_links_without_blocked_domains(env):
    obs, reward, terminated, truncated, info = env.step("Search eiffel tower")
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert "♦Title\nSearch results for: eiffel tower\n" in obs
    assert "【0†Eiffel Tower†en.wikipedia.org】" in obs
    assert "reddit" not in obs
    assert "♦Past actions\nSearch eiffel tower\n" in obs
    assert info["actions_left"] == 19


def test_the_walkthrough(env):
    env.step("Search eiffel tower")
    obs, *_ = env.step("Clicked on link 0")
    assert "♦Title\nEiffel Tower (en.wikipedia.org)\n♦Scrollbar: 0 - 11\n" in obs
    assert "Click Eiffel Tower en.wikipedia.org" in obs
    obs, *_, info = env.step("Find in page: Gustave")
    assert info["scrollbar"][0] == 21
    assert "named after the engineer 【0†Gustave Eiffel】" in info["window_text"]
    obs, *_, info = env.step("Quote: named after the engineer Gustave Eiffel")
    assert info["error"] is None
    assert "♦Quotes\nFrom Eiffel Tower (en.wikipedia.org)\n> named after the engineer Gustave Eiffel\n" in obs
    quote = info["quotes"][0]
    assert env.page.text[quote["start"] : quote["end"]].startswith("named after the engineer 【0†Gustave")
    obs, _reward, terminated, truncated, info = env.step("End: Answer")
    assert terminated and not truncated and info["end_reason"] == "answer"


def test_quote_not_on_the_page_is_refused_with_a_message(env):
    env.step("Search eiffel")
    env.step("Clicked on link 0")
    obs, *_, info = env.step("Quote: named after the architect Stephen Sauvestre")
    assert info["quotes"] == []
    assert "♦Error: that text is not on the current page" in obs
    assert "♦Past actions\nSearch eiffel\nClick Eiffel Tower en.wikipedia.org\nQuote (failed)\n" in obs
    obs, *_, info = env.step("Scrolled down 1")
    assert "♦Error" not in obs


def test_quotes_from_search_results_are_refused(env):
    env.step("Search eiffel")
    *_, info = env.step("Quote: Eiffel Tower")
    assert info["quotes"] == [] and "search results" in info["error"]


def test_garbage_is_an_invalid_action_that_costs_a_step(env):
    obs, *_, info = env.step("please find the answer")
    assert info["invalid_actions"] == 1 and info["actions_left"] == 19
    assert "♦Error: invalid action: not a command" in obs
    assert "Invalid action" in obs


def test_find_moves_to_the_next_occurrence_then_wraps(env):
    env.step("Search eiffel")
    env.step("Clicked on link 0")
    tops = []
    for _ in range(4):
        *_, info = env.step("Find in page: gustave eiffel")
        tops.append((info["scrollbar"][0], info["error"]))
    assert [error for _, error in tops] == [None] * 4
    assert [top for top, _ in tops] == [21, 26, 21, 26]
    *_, info = env.step("Find in page: zeppelin")
    assert "was not found" in info["error"]


def test_scrolling_top_and_back(env):
    env.step("Search eiffel")
    env.step("Clicked on link 0")
    *_, info = env.step("Scrolled down 1")
    assert info["scrollbar"][:2] == (12, 23)
    *_, info = env.step("Scrolled down 3")
    assert info["scrollbar"] == (48, 59, 61)
    *_, info = env.step("Scrolled down 1")
    assert info["scrollbar"] == (49, 60, 61)  # clamped: the window stays full at the end
    *_, info = env.step("Scrolled up 1")
    assert info["scrollbar"][:2] == (37, 48)
    *_, info = env.step("Top")
    assert info["scrollbar"][:2] == (0, 11)
    env.step("Clicked on link 1")
    assert env.page.url == PARIS
    *_, info = env.step("Back")
    assert env.page.url == EIFFEL and info["scrollbar"][0] == 0
    env.step("Back")
    *_, info = env.step("Back")
    assert "no previous page" in info["error"]


def test_blocked_and_unknown_links(env):
    env.step("Search eiffel")
    env.step("Clicked on link 0")
    assert "【2†" not in env.page.text and "a thread" in env.page.text
    *_, info = env.step("Clicked on link 2")
    assert "no link 2" in info["error"]
    *_, info = env.step("Clicked on link 0")
    assert "could not open" in info["error"] and env.page.url == EIFFEL


def test_end_answer_needs_a_quote_and_decline_ends(env):
    *_, info = env.step("End: Answer")
    assert info["end_reason"] is None and "at least one quote" in info["error"]
    _obs, _, terminated, _truncated, info = env.step("End: Nonsense")
    assert terminated and info["end_reason"] == "nonsense"
    *_, info = env.step("Search more")
    assert "episode has ended" in info["error"] and info["actions_taken"] == 2


def test_action_budget_truncates(env):
    for _ in range(19):
        *_, terminated, truncated, info = env.step("Top")
        assert not truncated
    *_, terminated, truncated, info = env.step("Top")
    assert truncated and not terminated and info["end_reason"] == "action_budget"


def test_quote_budget_truncates(env):
    env.step("Search eiffel")
    env.step("Clicked on link 0")
    for i, line in enumerate(["Filler line 1 about", "Filler line 2 about", "Filler line 3 about"]):
        *_, truncated, info = env.step(f"Quote: {line}")
        assert info["error"] is None
        assert truncated == (i == 2)
    assert info["end_reason"] == "quote_budget"


def test_duplicate_quote_is_refused(env):
    env.step("Search eiffel")
    env.step("Clicked on link 0")
    env.step("Quote: Filler line 1 about")
    *_, info = env.step("Quote: filler LINE 1 about")
    assert len(info["quotes"]) == 1 and "already quoted" in info["error"]


def test_step_before_reset_and_reset_without_question():
    web = PageWeb([])
    env = BrowserEnv(web, web)
    with pytest.raises(RuntimeError):
        env.step("Top")
    with pytest.raises(ValueError):
        env.reset(options={})


def test_config_round_trips_through_a_dict():
    config = EnvConfig(max_actions=7, blocklist=("example.com",))
    assert EnvConfig.from_dict(config.to_dict()) == config
    assert config.is_blocked("https://www.sub.example.com/x") and not config.is_blocked(
        "https://notexample.com"
    )


def test_wrap_lines_never_breaks_inside_link_markup():
    text = "word " * 30 + "【7†a link with many words in it†example.org】 " + "tail " * 30
    lines = wrap_lines(text, 40)
    pieces = [text[a:b] for a, b in lines]
    assert any("【7†a link with many words in it†example.org】" in piece for piece in pieces)
    assert " ".join(pieces).split() == text.split()


def test_window_paragraphs_rejoin_wrapped_lines():
    long = "A first paragraph that is long. " * 20
    page = Page("https://x.org/a", "A", f"{long.strip()}\nSecond short one.\n{long.strip()}")
    web = PageWeb([page])
    env = BrowserEnv(web, web, EnvConfig(line_width=80, window_lines=12))
    env.reset(options={"question": "q"})
    env.step("Search paragraph")
    *_, info = env.step("Clicked on link 0")
    assert len(info["window_text"].splitlines()) == 12
    assert info["window_paragraphs"][:2] == [long.strip(), "Second short one."]
    assert long.strip().startswith(info["window_paragraphs"][2])


def test_info_carries_the_state_as_data(env):
    _, *_, info = env.step("Search eiffel tower")
    assert info["on_search_page"] and info["search_results"][0] == {
        "rank": 0,
        "id": 0,
        "title": "Eiffel Tower",
        "url": EIFFEL,
        "domain": "en.wikipedia.org",
        "snippet": "Eiffel Tower",
    }
    assert "Quote: <text>" not in info["valid_commands"] and "Back" not in info["valid_commands"]
    _, *_, info = env.step("Clicked on link 0")
    assert not info["on_search_page"] and info["search_results"] == []
    assert info["visible_links"] == [] and "Clicked on link <link ID>" not in info["valid_commands"]
    assert {"Quote: <text>", "Back", "Scrolled down <1|2|3>"} <= set(info["valid_commands"])
    assert "Top" not in info["valid_commands"] and "End: Answer" not in info["valid_commands"]
    _, *_, info = env.step("Find in page: Gustave")
    assert [link["id"] for link in info["visible_links"]] == [0, 1]  # the reddit link is unlinked
    assert info["visible_links"][0]["url"] == "https://en.wikipedia.org/wiki/Gustave_Eiffel"
    _, *_, info = env.step("Quote: named after the engineer Gustave Eiffel")
    assert info["quotes"][0]["page_sha256"] == env.page.text_sha256  # the page as shown
    assert "End: Answer" in info["valid_commands"] and "Top" in info["valid_commands"]
    _, *_, info = env.step("End: Answer")
    assert info["valid_commands"] == [] and info["end_reason"] == "answer"


def test_reset_seeds_the_episode_generator_and_close_releases_the_web():
    class ClosingWeb(PageWeb):
        closed = 0

        def close(self) -> None:
            ClosingWeb.closed += 1

    web = ClosingWeb([eiffel_page()])
    with BrowserEnv(web, web) as environment:
        environment.reset(seed=7, options={"question": "q?"})
        first = [environment.rng.random() for _ in range(3)]
        environment.reset(seed=7, options={"question": "q?"})
        assert [environment.rng.random() for _ in range(3)] == first and environment.seed == 7
    assert ClosingWeb.closed == 2  # search backend and fetcher (here the same object) each closed once
    environment.close()  # closing twice is harmless
    assert ClosingWeb.closed == 2
    with pytest.raises(RuntimeError, match="closed"):
        environment.reset(options={"question": "q?"})


@pytest.mark.parametrize("field", ["max_actions", "max_quotes", "window_lines", "search_results"])
def test_config_refuses_budgets_below_one(field):
    with pytest.raises(ValueError, match=field):
        EnvConfig(**{field: 0})
