from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from browser_env.protocol import strip_links
from browser_env.textmatch import extract, find_span, locate_quote, normalize

PAGE = (
    "The tower is named after the engineer 【3†Gustave Eiffel†en.wikipedia.org】, whose\n"
    "company designed and built it. See 【4†Paris】 for more."
)


def test_quote_ignores_case_whitespace_and_link_markup():
    span = locate_quote(PAGE, "NAMED after the engineer   Gustave Eiffel, whose company")
    assert span is not None
    assert extract(PAGE, span) == "named after the engineer Gustave Eiffel, whose company"


def test_start_end_form_spans_the_text_between():
    span = locate_quote(PAGE, "named after━built it.")
    assert (
        extract(PAGE, span) == "named after the engineer Gustave Eiffel, whose company designed and built it."
    )


def test_text_not_on_the_page_is_not_found():
    assert locate_quote(PAGE, "named after Alexandre Eiffel") is None
    assert locate_quote(PAGE, "━built") is None
    assert find_span(PAGE, "   ") is None


def test_selection_that_includes_markup_still_matches():
    assert extract(PAGE, locate_quote(PAGE, "engineer 【3†Gustave")) == "engineer Gustave"


def test_find_from_an_offset_finds_the_next_occurrence():
    text = "eiffel one. eiffel two."
    first = find_span(text, "Eiffel")
    second = find_span(text, "Eiffel", first[0] + 1)
    assert first == (0, 6) and second == (12, 18)
    assert find_span(text, "Eiffel", second[0] + 1) is None


def test_normalize_and_strip_links():
    assert strip_links("a 【1†b†c.org】 d 【2†e】") == "a b d e"
    assert normalize("  A\n\tB  【0†C†x.org】 ") == "a b c"


words = st.lists(st.text("abcdefgh ", min_size=1, max_size=8), min_size=1, max_size=30)


@given(words, st.integers(0, 29), st.integers(1, 5))
def test_any_slice_of_plain_text_is_found_and_extracted(parts, start, length):
    text = " ".join(parts)
    tokens = text.split()
    if not tokens:
        return
    start %= len(tokens)
    needle = " ".join(tokens[start : start + length])
    span = locate_quote(text, needle.upper())
    assert span is not None
    assert normalize(extract(text, span)) == normalize(needle)
