"""HTML and plain text rendering into text-browser pages (fixtures in tests/browser_env/fixtures)."""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from browser_env.decoding import decode_html
from browser_env.page import Page
from browser_env.render_html import html_to_page
from browser_env.render_text import text_to_page

FIXTURES = Path(__file__).parent / "fixtures"
PAGE_URL = "https://www.example.com/blog/post.html"
TOKEN = re.compile(r"【(\d+)†([^†】]*)(?:†([^】]*))?】")


def render(name: str, url: str = PAGE_URL) -> Page:
    return html_to_page((FIXTURES / name).read_bytes(), url)


@pytest.fixture(scope="module")
def article() -> Page:
    return render("article.html")


def lines(page: Page) -> list[str]:
    return page.text.split("\n")


def assert_tokens_match_links(page: Page) -> None:
    tokens = TOKEN.findall(page.text)
    assert [int(t[0]) for t in tokens] == list(range(len(page.links)))
    for (link_id, text, domain), link in zip(tokens, page.links, strict=True):
        assert link.id == int(link_id)
        assert link.text == text
        assert link.domain == (domain or None)
        assert "\n" not in link.text and not set("【†】") & set(link.text)


def test_links_are_numbered_in_reading_order_with_domains(article: Page) -> None:
    assert_tokens_match_links(article)
    by_text = {link.text: link for link in article.links}
    assert by_text["Gustave Eiffel"].url == "https://www.example.com/people/gustave.html"
    assert by_text["Gustave Eiffel"].domain is None
    assert by_text["World's Fair"].url == "https://www.expo-history.org/1889#paris"
    assert by_text["World's Fair"].domain == "expo-history.org"
    # same site: www. and letter case of the host do not matter, even over http
    assert by_text["other towers"].domain is None
    assert by_text["FAQ page"].domain is None
    assert by_text["the manual"].url == "https://www.example.com/docs/manual.html?x=1&y=2"
    assert "See also 【2†other towers】, the 【3†FAQ page】 and 【4†the manual】." in lines(article)
    assert "【1†World's Fair†expo-history.org】" in article.text
    assert article.link(1) is by_text["World's Fair"]


def test_fragment_and_non_web_links_render_as_plain_text(article: Page) -> None:
    assert (
        "Jump to the history section or the top. Write to our editor, call the office, or open the menu."
        in (lines(article))
    )
    urls = [link.url for link in article.links]
    assert not [u for u in urls if u.startswith(("mailto:", "tel:", "javascript:")) or "#history" in u]
    assert "Skip to main content" not in article.text
    assert "¶" not in article.text


def test_link_text_is_sanitized_and_one_line(article: Page) -> None:
    odd = next(link for link in article.links if link.url.endswith("/odd"))
    assert odd.text == "odd [3 brackets] and daggers inside"
    assert "and text with [weird] brackets." in article.text
    assert article.text.count("【") == article.text.count("】") == len(article.links)


def test_links_made_of_images_use_alt_then_label(article: Page) -> None:
    by_url = {link.url.rsplit("/", 1)[-1]: link for link in article.links}
    assert by_url["gallery"].text == "Gallery thumbnail"
    assert by_url["labelled"].text == "Labelled link"
    assert "icon-only" not in by_url  # no text, no alt, no label: nothing to click on


def test_site_chrome_and_hidden_content_are_removed(article: Page) -> None:
    for marker in (
        "SCRIPT-TEXT",
        "SCRIPT-BODY-TEXT",
        "SITE-LOGO-TEXT",
        "NAV-ABOUT",
        "COOKIE-BANNER-TEXT",
        "Accept all",
        "HIDDEN-ATTR-TEXT",
        "HIDDEN-STYLE-TEXT",
        "ARIA-HIDDEN-TEXT",
        "NOSCRIPT-TEXT",
        "TEMPLATE-TEXT",
        "HIDDEN-INPUT-VALUE",
        "PLACEHOLDER-TEXT",
        "ASIDE-TEXT",
        "ARTICLE-FOOTER-TEXT",
        "SIDEBAR-TEXT",
        "SITE-FOOTER-TEXT",
        "color: red",
    ):
        assert marker not in article.text, marker
    assert "Privacy" not in [link.text for link in article.links]


def test_chrome_heuristics_without_a_main_element() -> None:
    page = render("no_main.html")
    for marker in (
        "BANNER-TEXT",
        "ROLE-NAV-TEXT",
        "CONSENT-DIALOG-TEXT",
        "GDPR-NOTICE-TEXT",
        "COOKIEBOT-TEXT",
    ):
        assert marker not in page.text, marker
    assert "CONTENTINFO-TEXT" not in page.text
    # the content wrapper's class mentions a sidebar, but it holds the page's h1: it stays
    assert lines(page) == [
        "# Body content",
        "The only paragraph that matters, with a 【0†link†example.org】.",
        "Term",
        "Its definition.",
        "A quoted line.",
    ]


def test_headings_paragraphs_lists_tables_pre_and_images(article: Page) -> None:
    text = lines(article)
    assert text[0] == "# The Tower of Examples"  # the article's own header is content
    assert text[1] == "By A. Writer"
    assert (
        "The tower was built in 1889 by 【0†Gustave Eiffel】 for the 【1†World's Fair†expo-history.org】."
        in text
    )
    start = text.index("## History")
    assert text[start : start + 6] == [
        "## History",
        "First line",
        "second line",
        "third line",
        "[Image: The tower at night]",
        "The tower, lit.",
    ]
    start = text.index("### Facts")
    assert text[start : start + 14] == [
        "### Facts",
        "- Height: 330 m",
        "- Material: wrought iron",
        "  - 7,300 tonnes",
        "  - 18,038 parts",
        "- Visitors per year: about 7 million",
        "3. Third step",
        "4. Fourth step",
        "Tallest structures",
        "Name | Height | Year",
        "Example Tower | 330 m | 1889",
        f"【{len(article.links) - 1}†Other Tower】 | 300 m | 1930",
        "def hello():",
        '    print("hi")',
    ]
    assert text[start + 14] == "    return   42"  # preformatted text keeps its spaces
    assert "tracker" not in article.text  # tracking pixel
    assert article.text.count("[Image:") == 1  # images without alt text are skipped
    assert "" not in text  # no blank lines
    assert article.title == "The Tower of Examples"


def test_base_href_resolves_links() -> None:
    page = render("base_href.html")
    assert [(link.url, link.domain) for link in page.links] == [
        ("https://cdn.example.org/docs/v2/guide.html", "cdn.example.org"),
        ("https://cdn.example.org/root.html", "cdn.example.org"),
        ("https://other.example.net/p", "other.example.net"),
    ]


def test_title_falls_back_to_h1_then_url() -> None:
    assert html_to_page("<h1>Big  heading</h1><p>x</p>", "http://a.org/").title == "Big heading"
    assert html_to_page("<p>only text</p>", "http://a.org/p").title == "http://a.org/p"
    svg_only = html_to_page("<svg><title>icon</title></svg><p>text</p>", "http://a.org/q")
    assert svg_only.title == "http://a.org/q"
    assert svg_only.text == "text"


def test_malformed_html_keeps_its_text_in_order() -> None:
    page = render("malformed.html")
    assert page.title == "Broken <b>page"
    assert lines(page) == [
        "Unclosed paragraph one",
        "Unclosed bold italic text two",
        "Nested 【0†unclosed link】",
        "cell one | cell two",
        "cell three",
        "- item one",
        "- item two",
        "<<<>>> &bogus; & <tag>",
        "Last words",
    ]


def test_undeclared_windows_1252_is_decoded() -> None:
    page = render("windows-1252.html")
    assert page.title == "Café page"
    assert lines(page)[0] == "# Café crème"
    assert "A naïve “smart quote” test — price €5" in page.text


def test_shift_jis_declared_in_meta_is_decoded() -> None:
    page = render("shift_jis.html")
    assert page.title == "日本語のページ"
    assert lines(page) == ["# 東京タワー", "東京タワーは、東京都港区にある電波塔です。"]


def test_boms_and_outside_charsets_win_over_meta() -> None:
    html = "<html><head><meta charset='windows-1252'><title>Ünïcode</title></head><body><p>naïve</p></body>"
    assert html_to_page(html.encode("utf-16"), "http://a.org/").title == "Ünïcode"  # BOM
    assert html_to_page(b"\xef\xbb\xbf" + html.encode("utf-8"), "http://a.org/").text == "naïve"
    mislabelled = html.replace("windows-1252", "utf-8").encode("windows-1252")
    assert html_to_page(mislabelled, "http://a.org/", encoding="windows-1252").text == "naïve"
    assert decode_html(b"<meta charset='iso-8859-1'><p>\x93q\x94</p>").endswith("“q”</p>")


@pytest.mark.parametrize(
    "junk",
    [
        "",
        b"",
        "   \n\t ",
        "<",
        "<<<>>>",
        "</html></body>",
        "<html><head><title></title></head></html>",
        "\x00\x01\x02 text \x1f",
        "a\ud800b",
        '<?xml version="1.0" encoding="iso-8859-1"?><p>café</p>',
        b'<?xml version="1.0" encoding="utf-16"?><p>ok</p>',
        "<table><td><a href='%'>bad url</a><a href='http://[::1'>bad ipv6</a></td>",
        "<a href='http://x.org/'><a href='http://y.org/'>nested</a></a>",
        "<ol start='-3'><li>a</li></ol><ol start='x'><li>b</li></ol>",
        "<div>" * 3000 + "deep" + "</div>" * 3000,
        "<pre>" + "\t" * 50 + "tabs</pre>",
        "<math alttext='x^2'><mi>x</mi></math>",
    ],
)
def test_junk_never_raises(junk: str | bytes) -> None:
    page = html_to_page(junk, "http://junk.example/")
    assert isinstance(page.text, str) and page.title
    assert "\x00" not in page.text
    assert_tokens_match_links(page)


def test_binary_junk_never_raises() -> None:
    rng = random.Random(7)
    for _ in range(20):
        page = html_to_page(bytes(rng.randrange(256) for _ in range(3000)), "http://junk.example/")
        assert page.title == "http://junk.example/"
        assert_tokens_match_links(page)


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_TAGS = st.sampled_from(
    [
        "p",
        "div",
        "a",
        "li",
        "ul",
        "ol",
        "table",
        "tr",
        "td",
        "th",
        "pre",
        "br",
        "img",
        "h2",
        "span",
        "nav",
        "main",
    ]
)
_PIECE = st.one_of(
    st.text(max_size=12),
    st.builds(lambda t: f"<{t}>", _TAGS),
    st.builds(lambda t: f"</{t}>", _TAGS),
    st.builds(
        lambda h: f"<a href='{h}'>", st.sampled_from(["/x", "#f", "http://o.org/", "mailto:a@b", "", "%zz"])
    ),
    st.builds(lambda a: f"<img alt='{a}'>", st.text(max_size=8)),
    st.sampled_from(["【", "】", "†", "\u00a0", "\u200b", "<br/>", "<td colspan=2>"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECE, max_size=40))
def test_any_markup_renders_without_falling_back(pieces: list[str]) -> None:
    """Random tag soup: never raises, never needs the bare-text fallback, links and markup agree."""
    handler = _Failures()
    logger = logging.getLogger("browser_env.render_html")
    logger.addHandler(handler)
    try:
        page = html_to_page("".join(pieces), "http://fuzz.example/page")
    finally:
        logger.removeHandler(handler)
    assert not handler.records, handler.records[0].getMessage()
    assert_tokens_match_links(page)
    assert "\n\n" not in page.text


def test_huge_output_is_cut_with_a_note() -> None:
    paragraph = "<p>" + "word " * 200 + "</p>"
    html = "<html><body>" + paragraph * 3000 + "</body></html>"  # about 3 MB of text
    page = html_to_page(html, "http://big.example/")
    assert len(page.text) <= 2_000_000 + 200
    assert page.text.endswith("the rest is not shown.]")
    assert page.text.split("\n")[-1].startswith("[Page cut:")


def test_huge_input_is_cut_with_a_note() -> None:
    html = ("<p>" + "x" * 1000 + "</p>") * 300
    page = html_to_page(html.encode(), "http://big.example/", max_input_bytes=100_000)
    assert page.text.count("x" * 1000) <= 100
    assert "[Page cut: the page is over 100,000 bytes; only its beginning was read.]" in page.text


def test_plain_text_to_page() -> None:
    text = (
        "Intro paragraph that was\nwrapped over lines.\r\n\r\n\n"
        "History\n\n"
        "A 【bracketed】 word.\n\n"
        "-   first item\n-   second item\n\n"
        "    code()\n        more_code()\n\n"
        "+-----+----+\n| a   | b  |\n+-----+----+\n"
    )
    page = text_to_page(text, "https://en.wikipedia.org/wiki/X", "  X  ")
    assert page.title == "X"
    assert page.links == []
    assert lines(page) == [
        "Intro paragraph that was wrapped over lines.",
        "History",
        "A [bracketed] word.",
        "- first item",
        "- second item",
        "    code()",
        "        more_code()",
        "+-----+----+",
        "| a   | b  |",
        "+-----+----+",
    ]
    assert text_to_page("", "u", "").text == ""
    assert text_to_page("", "u", "").title == "u"


def _python_docs() -> Path | None:
    for folder in sorted(Path("/usr/share/doc").glob("python3*/html")):
        if (folder / "library" / "json.html").exists():
            return folder.resolve()
    return None


@pytest.mark.skipif(_python_docs() is None, reason="Debian python3-doc is not installed")
def test_real_python_docs_page() -> None:
    folder = _python_docs()
    assert folder is not None
    path = folder / "library" / "json.html"
    page = html_to_page(path.read_bytes(), path.as_uri())
    assert page.title.startswith("json — JSON encoder and decoder")
    assert lines(page)[0] == "# json — JSON encoder and decoder"
    assert "Table of Contents" not in page.text and "Previous topic" not in page.text  # sidebar
    assert "¶" not in page.text
    assert "## Basic Usage" in lines(page)
    assert_tokens_match_links(page)
    local = [link for link in page.links if link.url.startswith("file://")]
    assert len(local) > 20
    for link in local:
        assert link.domain is None
        target = Path(link.url.removeprefix("file://").split("#")[0])
        assert target.is_relative_to(folder) and target.exists(), link
    marshal = next(link for link in page.links if link.text == "marshal")
    assert marshal.url == (folder / "library" / "marshal.html").as_uri() + "#module-marshal"
    assert any(link.domain == "json.org" for link in page.links)


def test_wikipedia_like_page() -> None:
    page = render("wikipedia_like.html", "https://en.wikipedia.org/wiki/Eiffel_Tower")
    assert page.title == "Eiffel Tower - Wikipedia"
    assert lines(page) == [
        "# Eiffel Tower",
        "Eiffel Tower",
        "Height | 330 m",
        "【0†The tower】",
        "The Eiffel Tower is a wrought-iron lattice tower in 【1†Paris】.[1] It is named after the engineer "
        "【2†Gustave Eiffel】.",
        "## History",
        "Built 1887–1889 as the entrance to the 【3†1889 World's Fair†expo1889.example】.",
    ]
    assert page.links[2].url == "https://en.wikipedia.org/wiki/Gustave_Eiffel"


def test_body_level_headers_are_chrome_unless_they_hold_the_heading() -> None:
    html = (
        "<body><header><a href='/'>LOGO</a><ul><li><a href='/a'>MENU</a></li></ul></header>"
        "<header><h1>Post title</h1><p>By someone</p></header><p>Body text.</p></body>"
    )
    assert lines(html_to_page(html, "http://blog.example/")) == ["# Post title", "By someone", "Body text."]


def test_wiki_behaviour_switches_are_dropped_and_code_macros_kept() -> None:
    text = (
        "He heads a restaurant group. __NOTOC__ Bajaj was born in New Delhi.\n\n"
        "References\n\n__STATICREDIRECT__\n\n"
        '    printf("%s", __FILE__);  /* __NOTOC__ */\n'
    )
    page = text_to_page(text, "https://en.wikipedia.org/wiki/Bajaj", "Bajaj")
    assert page.text.splitlines()[:2] == [
        "He heads a restaurant group. Bajaj was born in New Delhi.",
        "References",
    ]
    assert "__FILE__" in page.text
    assert "NOTOC" not in page.text and "STATICREDIRECT" not in page.text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "The AARDVARK ( ; _Orycteropus afer_) is a mammal.",
            "The AARDVARK (_Orycteropus afer_) is a mammal.",
        ),
        (
            'A CAPPELLA ( , ; Italian for "in the manner") is singing.',
            'A CAPPELLA (Italian for "in the manner") is singing.',
        ),
        (
            "ABACÁ ( ; ), binomial name _MUSA TEXTILIS_, is a plant.",
            "ABACÁ, binomial name _MUSA TEXTILIS_, is a plant.",
        ),
        ("ABERDARE ( ;[1] ) is a town.", "ABERDARE is a town."),
        (
            "FREUD ( ;[1] ; born SIGISMUND; 6 May 1856) was a neurologist.",
            "FREUD (born SIGISMUND; 6 May 1856) was a neurologist.",
        ),
        (
            "Call f(a, b), make (1, ), an empty ( ) or (x; y).",
            "Call f(a, b), make (1, ), an empty ( ) or (x; y).",
        ),
        (
            "Loop with for (;;) or for ( ; ; ) or for (; i < n; i++).",
            "Loop with for (;;) or for ( ; ; ) or for (; i < n; i++).",
        ),
    ],
)
def test_what_dumps_leave_of_stripped_pronunciations_is_dropped(text: str, shown: str) -> None:
    from browser_env.search.snippet import snippet

    assert text_to_page(text, "https://en.wikipedia.org/wiki/X", "X").text == shown
    assert snippet(text, "x") == shown  # passages indexed before pages dropped it
