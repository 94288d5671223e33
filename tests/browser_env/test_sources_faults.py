"""Corpus sources on damaged, misnamed, deep and huge pages: decoded right, skipped or reported."""

from __future__ import annotations

import gzip
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from browser_env.corpus_build import build_corpus
from browser_env.render_html import html_to_page
from browser_env.sources import HtmlFolderSource
from browser_env.textmatch import locate_quote
from webgpt_cli.app import app

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBGPT_HOME", str(tmp_path / "home"))


def pages(folder: Path) -> dict[str, str]:
    source = HtmlFolderSource(folder, base_url="https://site.local/")
    return {d.url.removeprefix("https://site.local/"): d.content for d in source.documents()}


def test_html_folder_decodes_stray_bytes_and_latin1_like_the_browser(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    cities = "<html><body><p>Zürich, Genève and Köln are cities.</p></body></html>"
    (site / "cities.html").write_bytes(cities.encode().replace(b"</p>", b"\xff</p>"))
    dessert = "<html><body><p>La crème brûlée est un dessert français, très apprécié.</p></body></html>"
    (site / "dessert.html").write_bytes(dessert.encode("latin-1"))

    found = pages(site)
    assert "Zürich, Genève and Köln are cities.\ufffd" in found["cities.html"]
    assert "La crème brûlée est un dessert français, très apprécié." in found["dessert.html"]
    page = html_to_page(found["dessert.html"], "https://site.local/dessert.html")
    assert locate_quote(page.text, "crème brûlée est un dessert") is not None


def test_binary_files_named_html_are_skipped_and_counted_in_the_build_output(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "logo.html").write_bytes(PNG)
    (site / "page.html").write_bytes(gzip.compress(b"<html><body><p>compressed</p></body></html>"))
    (site / "real.html").write_text("<title>Real</title><p>A real page about gardens.</p>")

    result = runner.invoke(app, ["corpus", "build", "site", str(site), "--no-dense", "-q"])

    assert result.exit_code == 0, result.output
    assert f"  html: {site.resolve()}: 1 documents, 2 skipped\n" in result.output
    assert f"    skipped: {site / 'logo.html'}: not an HTML page but a PNG image\n" in result.output
    assert f"    skipped: {site / 'page.html'}: not an HTML page but gzip-compressed data\n" in result.output
    assert "Built corpus 'site': 1 documents" in result.output


def test_utf16_pages_without_a_byte_order_mark_are_not_taken_for_binary(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "wide.html").write_bytes("<html><body><p>wide text</p></body></html>".encode("utf-16-le"))
    assert list(pages(site)) == ["wide.html"]


def test_a_page_cut_at_build_is_named_in_the_build_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    paragraph = "<p>" + "Word after word in a long page about things. " * 20 + "</p>\n"
    big = "<html><body>" + paragraph * (12_000_000 // len(paragraph)) + "</body></html>"
    (site / "big.html").write_text(big)
    (site / "small.html").write_text("<p>small page</p>")

    with caplog.at_level(logging.WARNING, logger="browser_env.sources"):
        corpus = build_corpus("cut", [str(site)], dense=False, show_progress=False)

    expected = (
        f"https://site.local/big.html: page cut: only the first 10,000,000 of its {len(big):,} characters "
        "were read and its text stops at 2,000,000 characters; the rest cannot be searched or read in "
        "the browser (split the page into smaller files to keep all of it)"
    )
    [source] = corpus.meta["sources"]
    assert source["cut"] == 1 and source["cuts"] == [expected]
    assert f"cut: {expected}" in caplog.messages


def test_a_long_text_document_cut_at_build_says_how_long_it_was(tmp_path: Path) -> None:
    rows = tmp_path / "long.jsonl"
    text = "Sentence after sentence in a long text. " * 60_000
    rows.write_text(f'{{"title": "Long", "text": "{text}"}}\n{{"title": "Short", "text": "short"}}\n')

    corpus = build_corpus("long", [str(rows)], dense=False, show_progress=False)

    [source] = corpus.meta["sources"]
    assert source["cuts"] == [
        "https://en.wikipedia.org/wiki/Long: page cut: its text stops at 2,000,000 characters (the page "
        f"has {len(text):,}); the rest cannot be searched or read in the browser (split the page into "
        "smaller files to keep all of it)"
    ]


def test_the_cut_warning_reaches_a_user_running_the_command(tmp_path: Path) -> None:
    rows = tmp_path / "long.jsonl"
    rows.write_text('{"title": "Long", "text": "' + "Many words here. " * 150_000 + '"}\n')
    env = {**os.environ, "WEBGPT_HOME": str(tmp_path / "home")}
    webgpt = [sys.executable, "-c", "from webgpt_cli.app import main; main()"]

    done = subprocess.run(
        [*webgpt, "corpus", "build", "long", str(rows), "--no-dense", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "cut: https://en.wikipedia.org/wiki/Long: page cut: its text stops at 2,000,000" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_build_logged_to_a_file_has_no_progress_bar_codes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for number in range(3):
        (site / f"page{number}.html").write_text(f"<title>Page {number}</title><p>Text {number}.</p>")
    env = {**os.environ, "WEBGPT_HOME": str(tmp_path / "home")}
    webgpt = [sys.executable, "-c", "from webgpt_cli.app import main; main()"]

    done = subprocess.run(  # bytes: text mode would turn the \r of a progress bar into \n
        [*webgpt, "corpus", "build", "logged", str(site), "--no-dense"],
        capture_output=True,
        env=env,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert b"\r" not in done.stderr and b"\x1b" not in done.stderr
    assert b"Built corpus 'logged': 3 documents" in done.stdout
