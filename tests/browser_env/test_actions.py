from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from browser_env.actions import (
    COMMANDS,
    Back,
    ClickLink,
    EndAnswer,
    EndDecline,
    FindInPage,
    InvalidAction,
    Quote,
    ScrollDown,
    ScrollUp,
    Search,
    Top,
    action_help,
    parse_action,
    render_action,
)

one_line = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1).map(str.strip)
one_line = one_line.filter(lambda text: bool(text) and "\n" not in text and "\x85" not in text)

actions = st.one_of(
    one_line.map(Search),
    st.integers(0, 999_999).map(ClickLink),
    one_line.map(FindInPage),
    one_line.map(Quote),
    st.sampled_from([1, 2, 3]).map(ScrollDown),
    st.sampled_from([1, 2, 3]).map(ScrollUp),
    st.just(Top()),
    st.just(Back()),
    st.just(EndAnswer()),
    st.sampled_from(["Nonsense", "Controversial"]).map(EndDecline),
)


@given(actions)
def test_render_then_parse_is_identity(action):
    assert parse_action(render_action(action)) == action


@given(st.text())
def test_parse_never_raises_and_invalid_text_round_trips(text):
    action = parse_action(text)
    if isinstance(action, InvalidAction):
        assert action.message
        assert render_action(action) == text
    else:
        assert parse_action(render_action(action)) == action


def test_examples_from_the_design():
    assert parse_action("Search eiffel tower") == Search("eiffel tower")
    assert parse_action("  Clicked on link 12 ") == ClickLink(12)
    assert parse_action("Find in page: Gustave") == FindInPage("Gustave")
    assert parse_action("Quote: named after━Eiffel").bounds == ("named after", "Eiffel")
    assert parse_action("Scrolled down 3") == ScrollDown(3)
    assert parse_action("Scrolled up 1") == ScrollUp(1)
    assert parse_action("End: controversial") == EndDecline("Controversial")


def test_near_misses_are_invalid_with_a_message():
    for text in [
        "",
        "Scrolled down 4",
        "Clicked on link x",
        "Search",
        "Quote:",
        "End: Maybe",
        "Search a\nb",
        "top!",
    ]:
        action = parse_action(text)
        assert isinstance(action, InvalidAction), text
        assert action.message


def test_the_helps_placeholders_copied_as_they_are_are_invalid():
    for text, says in [
        ("Search <query>", "in place of <query>"),
        ("Search <Query>", "in place of <Query>"),
        ("Find in page: <text>", "in place of <text>"),
        ("Quote: <text>", "in place of <text>"),
    ]:
        action = parse_action(text)
        assert isinstance(action, InvalidAction), text
        assert says in action.message
    assert parse_action("Search <query> syntax in SQL") == Search("<query> syntax in SQL")
    assert parse_action("Find in page: <text") == FindInPage("<text")


def test_help_lists_every_command_once():
    help_text = action_help()
    for spec in COMMANDS:
        assert help_text.count(spec.syntax) == 1
