"""Fetching pages: the local corpus store and the live web over a real local HTTP server."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser_env.docstore import Document, DocumentStore
from browser_env.fetch import HttpFetcher, LocalFetcher, needs_javascript, url_variants
from browser_env.render_html import html_to_page
from browser_env.web import FetchError

FIXTURES = Path(__file__).parent / "fixtures"
BIG = 200_000


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def handle(self) -> None:
        # the client may give up first: timeouts and size limits do that on purpose
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def _send(self, status: int, content_type: str, body: bytes, *, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/fixtures/"):
            file = FIXTURES / path.removeprefix("/fixtures/")
            if file.is_file():
                self._send(200, "text/html", file.read_bytes())
            else:
                self._send(404, "text/html", b"<h1>Not found</h1>")
        elif path == "/plain.txt":
            self._send(200, "text/plain; charset=utf-8", b"Title line\n\nFirst para\ngoes on.\n\nSecond.")
        elif path == "/latin1":
            body = "<meta charset='utf-8'><p>café</p>".encode("windows-1252")
            self._send(200, "text/html; charset=windows-1252", body)
        elif path == "/noctype":
            self._send(200, "", b"<html><body><p>sniffed html</p></body></html>")
        elif path == "/doc.pdf":
            self._send(200, "application/pdf", b"%PDF-1.4 fake")
        elif path == "/image":
            self._send(200, "image/png", b"\x89PNG fake")
        elif path == "/error":
            self._send(500, "text/html", b"<p>boom</p>")
        elif path == "/big":
            self._send(200, "text/html", b"<p>" + b"x" * BIG + b"</p>")
        elif path == "/big-streamed":  # no Content-Length: the size is only known by reading
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(BIG // 10_000):
                self.wfile.write(b"y" * 10_000)
        elif path == "/slow":
            time.sleep(3)
            self._send(200, "text/html", b"<p>finally</p>")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/fixtures/article.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, "text/html", b"<h1>Not found</h1>")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def web() -> Iterator[HttpFetcher]:
    with HttpFetcher(timeout=5, max_bytes=100_000, use_browser=False) as fetcher:
        yield fetcher


# --- local corpus -----------------------------------------------------------------------------


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[DocumentStore]:
    docs = DocumentStore(tmp_path / "docs.sqlite")
    docs.put_many(
        [
            Document(
                "https://site.org/tower.html",
                "Stored tower title",
                (FIXTURES / "article.html").read_text(encoding="utf-8"),
                "html",
            ),
            Document("https://site.org/folder/", "Folder", "<p>folder index</p>", "html"),
            Document(
                "wiki://Eiffel_Tower", "Eiffel Tower", "Eiffel Tower\n\nIt is named after Gustave.", "text"
            ),
        ]
    )
    yield docs
    docs.close()


def test_local_fetch_renders_html_and_text(store: DocumentStore) -> None:
    fetcher = LocalFetcher(store)
    page = fetcher.fetch("https://site.org/tower.html")
    assert page.title == "Stored tower title"  # the store's title wins
    assert page.url == "https://site.org/tower.html"
    assert page.text.startswith("# The Tower of Examples")
    assert page.links[0].url == "https://site.org/people/gustave.html"
    text = fetcher.fetch("wiki://Eiffel_Tower")
    assert text.text == "Eiffel Tower\nIt is named after Gustave."
    assert text.links == []


def test_local_fetch_tries_url_variants(store: DocumentStore) -> None:
    fetcher = LocalFetcher(store)
    assert fetcher.fetch("https://site.org/tower.html#history").url == "https://site.org/tower.html"
    assert fetcher.fetch("https://site.org/tower.html/").url == "https://site.org/tower.html"
    assert fetcher.fetch("https://site.org/folder").url == "https://site.org/folder/"
    assert fetcher.fetch("https://site.org/folder#top").url == "https://site.org/folder/"
    assert url_variants("http://a.org/x y/#f")[:3] == [
        "http://a.org/x y/#f",
        "http://a.org/x y/",
        "http://a.org/x y",
    ]


def test_local_fetch_missing_page(store: DocumentStore) -> None:
    with pytest.raises(FetchError, match=r"^page not found in the local corpus: https://site.org/nope$"):
        LocalFetcher(store).fetch("https://site.org/nope")


def test_local_fetch_caches_rendered_pages(store: DocumentStore) -> None:
    fetcher = LocalFetcher(store, cache_size=1)
    first = fetcher.fetch("https://site.org/tower.html")
    assert fetcher.fetch("https://site.org/tower.html#x") is first
    fetcher.fetch("wiki://Eiffel_Tower")  # evicts the tower page
    again = fetcher.fetch("https://site.org/tower.html")
    assert again is not first and again == first


# --- live web over HTTP ----------------------------------------------------------------------


def test_http_fetch_html_page(server: str, web: HttpFetcher) -> None:
    page = web.fetch(f"{server}/fixtures/article.html")
    assert page.title == "The Tower of Examples"
    assert page.url == f"{server}/fixtures/article.html"
    assert page.links[0].url == f"{server}/people/gustave.html"
    assert page.links[0].domain is None
    assert page == html_to_page((FIXTURES / "article.html").read_bytes(), page.url)


def test_http_follows_redirects_and_resolves_against_final_url(server: str, web: HttpFetcher) -> None:
    page = web.fetch(f"{server}/redirect")
    assert page.url == f"{server}/fixtures/article.html"
    assert page.links[0].url == f"{server}/people/gustave.html"
    with pytest.raises(FetchError, match="too many redirects"):
        web.fetch(f"{server}/loop")


def test_http_plain_text_charset_header_and_sniffing(server: str, web: HttpFetcher) -> None:
    text = web.fetch(f"{server}/plain.txt")
    assert text.text == "Title line\nFirst para goes on.\nSecond."
    assert text.title == "plain.txt"
    assert web.fetch(f"{server}/latin1").text == "café"  # the HTTP charset beats a wrong meta
    assert web.fetch(f"{server}/noctype").text == "sniffed html"


def test_http_error_status(server: str, web: HttpFetcher) -> None:
    with pytest.raises(FetchError, match=r"answered HTTP 404 Not Found"):
        web.fetch(f"{server}/missing")
    with pytest.raises(FetchError, match=r"answered HTTP 500"):
        web.fetch(f"{server}/error")


def test_http_non_page_content_types(server: str, web: HttpFetcher) -> None:
    with pytest.raises(FetchError, match=r"is a PDF document \(application/pdf\), not a web page"):
        web.fetch(f"{server}/doc.pdf")
    with pytest.raises(FetchError, match=r"is an image \(image/png\)"):
        web.fetch(f"{server}/image")


@pytest.mark.parametrize("path", ["/big", "/big-streamed"])
def test_http_oversize_body(server: str, web: HttpFetcher, path: str) -> None:
    with pytest.raises(FetchError, match=r"larger than the 100,000-byte page size limit"):
        web.fetch(server + path)


def test_http_slow_server_times_out(server: str) -> None:
    with (
        HttpFetcher(timeout=0.5, use_browser=False) as fetcher,
        pytest.raises(FetchError, match=r"timed out after 0.5 s"),
    ):
        fetcher.fetch(f"{server}/slow")


def test_http_connection_refused(web: HttpFetcher) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match=rf"connection refused by 127.0.0.1:{port}"):
        web.fetch(f"http://127.0.0.1:{port}/")


def test_http_unknown_host(web: HttpFetcher) -> None:
    with pytest.raises(FetchError, match=r"nonexistent-host\.invalid"):
        web.fetch("http://nonexistent-host.invalid/")


def test_http_rejects_other_schemes(web: HttpFetcher) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/", "example.org", ""):
        with pytest.raises(FetchError, match="only http:// and https:// addresses"):
            web.fetch(url)


def test_needs_javascript_heuristic() -> None:
    js_html = (FIXTURES / "js_page.html").read_text(encoding="utf-8")
    assert needs_javascript(js_html, html_to_page(js_html, "http://a.org/"))
    article = (FIXTURES / "article.html").read_text(encoding="utf-8")
    assert not needs_javascript(article, html_to_page(article, "http://a.org/"))
    empty = "<html><body><p>Short page, no scripts.</p></body></html>"
    assert not needs_javascript(empty, html_to_page(empty, "http://a.org/"))


# --- Chromium for pages that need JavaScript ----------------------------------------------------

needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")


@needs_chromium
@pytest.mark.browser
@pytest.mark.slow
def test_javascript_page_rendered_in_chromium(server: str) -> None:
    url = f"{server}/fixtures/js_page.html"
    with HttpFetcher(timeout=20, use_browser=False) as static:
        assert "injected" not in static.fetch(url).text
    with HttpFetcher(timeout=20, use_browser="auto") as fetcher:
        page = fetcher.fetch(url)
        assert page.title == "Injected page"
        assert page.text.split("\n") == [
            "# Rendered by script",
            "This paragraph was injected by JavaScript after load.",
            "【0†A link made by script】",
        ]
        assert page.links[0].url == f"{server}/fixtures/article.html"
        # a page with plenty of text is not sent to the browser, and the browser is reusable
        assert fetcher.fetch(f"{server}/fixtures/article.html").title == "The Tower of Examples"
        assert fetcher.fetch(url).title == "Injected page"


@pytest.mark.browser
@pytest.mark.slow
def test_missing_browser_falls_back_or_fails_clearly(server: str) -> None:
    url = f"{server}/fixtures/js_page.html"
    with HttpFetcher(timeout=10, use_browser="auto", browser_path="/nonexistent/chromium") as fetcher:
        assert fetcher.fetch(url).title == "Loading…"  # the static page
    with (
        HttpFetcher(timeout=10, use_browser=True, browser_path="/nonexistent/chromium") as fetcher,
        pytest.raises(FetchError, match=r"could not start Chromium \(/nonexistent/chromium\)"),
    ):
        fetcher.fetch(url)
