"""Rendering pages nested deeper than the HTML parser's limit."""

from __future__ import annotations

from browser_env.render_html import html_to_page


def test_a_page_nested_5000_deep_renders_to_its_last_paragraph() -> None:
    depth = 5000
    html = (
        "<html><body><p>First paragraph.</p>"
        + "<div><span>level</span>" * depth
        + "<p>Deepest text with <a href='https://other.org/x'>a link</a>.</p>"
        + "<script>var s = '<div>';</script><!-- <div> -->"
        + "</div>" * depth
        + "<p>Last paragraph of the page.</p></body></html>"
    )

    page = html_to_page(html, "https://site.local/deep.html")

    lines = page.text.splitlines()
    assert lines[0] == "First paragraph."
    assert lines.count("level") == depth
    assert lines[-2:] == ["Deepest text with 【0†a link†other.org】.", "Last paragraph of the page."]
    assert [link.url for link in page.links] == ["https://other.org/x"]


def test_unclosed_paragraphs_and_items_on_a_deep_page_keep_their_lines() -> None:
    html = "<body>" + "<div>" * 3000 + "<p>one<p>two<ul><li>a<li>b</ul>" + "</div>" * 3000 + "<p>end"
    assert html_to_page(html, "https://site.local/").text.splitlines() == ["one", "two", "a", "b", "end"]
