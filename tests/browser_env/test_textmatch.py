from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from browser_env.page import text_sha256
from browser_env.protocol import strip_links
from browser_env.textmatch import extract, find_span, locate_quote, normalize, verify_quote

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


def test_matching_is_unicode_folded() -> None:
    page = "Die Straße ist ﬁnal. Ｆｕｌｌｗｉｄｔｈ text. Cafe\u0301 au lait. ΣΊΣΥΦΟΣ"
    assert extract(page, locate_quote(page, "DIE STRASSE")) == "Die Straße"
    assert locate_quote(page, "ist final.") is not None  # the ﬁ ligature is two letters
    assert extract(page, locate_quote(page, "fullwidth TEXT")) == "Ｆｕｌｌｗｉｄｔｈ text"
    assert locate_quote(page, "Café au lait") is not None  # composed é matches e + combining accent
    assert locate_quote(page, "σίσυφος") is not None
    assert verify_quote(page, "die strasse", *locate_quote(page, "DIE STRASSE")) is None


def test_a_match_never_starts_or_ends_inside_what_one_character_folds_to() -> None:
    page = "【0†ﬁnal】 F "  # "ﬁ" folds to "fi": "f" alone is the word F, not half the ligature
    span = find_span(page, "f")
    assert span is not None and extract(page, span) == "F"
    assert find_span("ﬁnal", "i") is None
    assert extract("ﬁnal", find_span("ﬁnal", "final")) == "ﬁnal"


def test_verification_checks_the_very_page_and_the_recorded_place() -> None:
    page = "one two three. one two three."
    digest = text_sha256(page)
    start, end = find_span(page, "one two", 10)
    assert verify_quote(page, "one two", start, end, digest) is None
    assert verify_quote(page, "two three", start, end, digest) is not None  # text moved off its place
    changed = page + " four."
    assert verify_quote(changed, "one two", start, end, digest) is None  # still on the changed page
    assert "changed" in verify_quote("something else", "one two", start, end, digest)


_UNICODE_WORDS = st.sampled_from(
    ["Straße", "ﬁnal", "Ｔｏｗｅｒ", "Café", "Cafe\u0301", "ΣΊΣΥΦΟΣ", "İstanbul", "naïve", "ÅNGSTRÖM", "x²"]
)
_PLAIN_WORDS = st.text("abcdefghABCDEFGH", min_size=1, max_size=8)
_LINKS = st.builds(
    lambda i, text, domain: f"【{i}†{text}{'†' + domain if domain else ''}】",
    st.integers(0, 99),
    st.lists(st.one_of(_PLAIN_WORDS, _UNICODE_WORDS), min_size=1, max_size=3).map(" ".join),
    st.sampled_from(["", "en.wikipedia.org", "example.com"]),
)
_SEPARATORS = st.sampled_from([" ", "  ", "\n", " \t"])


@given(
    st.lists(
        st.tuples(st.one_of(_PLAIN_WORDS, _UNICODE_WORDS, _LINKS), _SEPARATORS), min_size=1, max_size=25
    ),
    st.integers(0, 100),
    st.integers(1, 6),
    st.booleans(),
)
def test_any_slice_of_the_text_a_reader_sees_is_found_in_any_case(parts, start, length, upper):
    page = "".join(piece + separator for piece, separator in parts)
    tokens = strip_links(page).split()
    start %= len(tokens)
    needle = " ".join(tokens[start : start + length])
    needle = needle.upper() if upper else needle.swapcase()
    span = locate_quote(page, needle)
    assert span is not None, (page, needle)
    assert normalize(extract(page, span)) == normalize(needle)
    assert verify_quote(page, needle, *span, text_sha256(page)) is None
