"""Corpus sources: JSONL (plain and compressed), HTML folders, the Python docs, wiki-vital and ZIM."""

from __future__ import annotations

import lzma
from urllib.parse import urldefrag

import pytest
from corpus_fixtures import ARTICLES, BAD_LINES, write_html_folder, write_jsonl, write_zim

from browser_env.render_html import html_to_page
from browser_env.sources import (
    HtmlFolderSource,
    JsonlSource,
    SourceError,
    WikiVitalSource,
    open_source,
    python_docs_dir,
    title_url,
)
from browser_env.sources.zim import ZimSource


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.xz"])
def test_jsonl_reads_every_good_row_and_counts_bad_lines(tmp_path, suffix, caplog):
    source = open_source(str(write_jsonl(tmp_path, suffix)))
    assert isinstance(source, JsonlSource)
    documents = list(source.documents())
    assert [d.title for d in documents] == [a["title"] for a in ARTICLES]
    assert source.stats.documents == len(ARTICLES)
    assert source.stats.skipped == len(BAD_LINES)
    assert "line 3" in source.stats.problems[0] and "not JSON" in source.stats.problems[0]
    assert any("skipped" in record.message for record in caplog.records)
    by_title = {d.title: d for d in documents}
    assert by_title["Eiffel Tower"].url == "https://en.wikipedia.org/wiki/Eiffel_Tower"
    assert by_title["Photosynthesis"].url == "https://example.org/biology/photosynthesis"
    assert by_title["Cat"].content.startswith("The cat is") and by_title["Cat"].content_type == "text"


def test_jsonl_base_url_and_limit(tmp_path):
    source = JsonlSource(write_jsonl(tmp_path), base_url="https://wiki.example/w/", limit=2)
    assert [d.url for d in source.documents()] == [
        "https://wiki.example/w/Eiffel_Tower",
        "https://wiki.example/w/Cat",
    ]


def test_truncated_xz_keeps_what_was_read(tmp_path):
    data = lzma.compress(
        ("\n".join(f'{{"title": "T{i}", "text": "text {i}"}}' for i in range(2000))).encode()
    )
    path = tmp_path / "cut.jsonl.xz"
    path.write_bytes(data[: len(data) // 2])
    source = JsonlSource(path)
    documents = list(source.documents())
    assert 0 < len(documents) < 2000
    assert source.stats.skipped == 1 and "stopped reading" in source.stats.problems[0]


def test_title_url_encodes_like_wikipedia():
    assert title_url("AC/DC") == "https://en.wikipedia.org/wiki/AC/DC"
    assert title_url("C++ (programming)") == "https://en.wikipedia.org/wiki/C%2B%2B_(programming)".replace(
        "%2B", "+"
    )
    assert title_url("Zürich?") == "https://en.wikipedia.org/wiki/Z%C3%BCrich%3F"


def test_html_folder_stores_raw_html_and_links_resolve_to_stored_pages(tmp_path):
    site = write_html_folder(tmp_path)
    source = open_source(str(site))
    assert isinstance(source, HtmlFolderSource)
    documents = {d.url: d for d in source.documents()}
    base = "https://my-site.local/"
    assert sorted(documents) == [base + "guide/tomatoes.html", base + "herbs.htm", base + "index.html"]
    assert all(d.content_type == "html" for d in documents.values())
    assert documents[base + "herbs.htm"].title == "Herbs & spices"
    assert "Crème fraîche" in documents[base + "herbs.htm"].content
    for document in documents.values():
        page = html_to_page(document.content, document.url)
        assert page.links, document.url
        for link in page.links:
            assert urldefrag(link.url).url in documents, link.url


def test_html_folder_base_url_option(tmp_path):
    source = HtmlFolderSource(write_html_folder(tmp_path), base_url="https://garden.example/docs")
    assert next(iter(source.documents())).url == "https://garden.example/docs/guide/tomatoes.html"


def test_python_docs_are_found_with_real_links():
    folder = python_docs_dir()
    source = open_source("python-docs", limit=3)
    assert source.kind == "python-docs" and source.location == str(folder)
    documents = list(source.documents())
    assert len(documents) == 3 and all(d.url.startswith("https://docs.python.org/3/") for d in documents)
    genindex = next(d for d in open_source("python-docs").documents() if d.url.endswith("/genindex-A.html"))
    assert not source.searchable(genindex)
    assert source.searchable(documents[0])


def test_wiki_vital_summaries():
    source = WikiVitalSource(limit=25)
    assert source.total == 25
    documents = list(source.documents())
    assert len(documents) == 25
    assert all(d.url.startswith("https://en.wikipedia.org/wiki/") and d.content for d in documents)
    assert WikiVitalSource().total > 9000


def test_zim_archive_yields_html_articles_only(tmp_path):
    source = open_source(str(write_zim(tmp_path / "garden.zim")))
    assert isinstance(source, ZimSource)
    documents = {d.url: d for d in source.documents()}
    assert set(documents) == {"https://garden-en-all.local/Compost", "https://garden-en-all.local/Earthworm"}
    compost = documents["https://garden-en-all.local/Compost"]
    assert compost.title == "Compost" and compost.content_type == "html"
    link = html_to_page(compost.content, compost.url).links[0]
    assert link.url in documents


def test_zim_of_wikipedia_gets_wikipedia_urls(tmp_path):
    source = ZimSource(write_zim(tmp_path / "w.zim", name="wikipedia_en_top"))
    assert {d.url for d in source.documents()} == {
        "https://en.wikipedia.org/wiki/Compost",
        "https://en.wikipedia.org/wiki/Earthworm",
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-such-thing", "unknown source"),
        ("notes.txt", "cannot tell what"),
        ("broken.zim", "not a readable ZIM"),
    ],
)
def test_bad_sources_say_what_is_wrong(tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.zim").write_bytes(b"not a zim file at all")
    with pytest.raises(SourceError, match=message):
        open_source(spec)


def test_title_linker_prefers_the_longest_title_and_links_each_once():
    from browser_env.sources.links import TitleLinker

    linker = TitleLinker(
        [
            ("Paris", "u/paris"),
            ("Paris Hilton", "u/hilton"),
            ("1990 FIFA World Cup", "u/1990"),
            ("iPod", "u/ipod"),
        ]
    )
    text = "Paris Hilton saw the 1990 FIFA World Cup in Paris; Paris again. paris and iPod are not linked."
    found = [(text[start:end], url) for start, end, url in linker.mentions(text, {"u/self"})]
    assert found == [("Paris Hilton", "u/hilton"), ("1990 FIFA World Cup", "u/1990"), ("Paris", "u/paris")]
    markup = linker.to_html("A <b> title", ["Paris & Paris Hilton"], self_url="u/hilton")
    assert "<title>A &lt;b&gt; title</title>" in markup
    assert '<p><a href="u/paris">Paris</a> &amp; Paris Hilton</p>' in markup
