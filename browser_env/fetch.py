"""Fetchers: pages from the offline local web (``LocalFetcher``) or the live web (``HttpFetcher``).

    from browser_env.fetch import HttpFetcher, LocalFetcher
    page = LocalFetcher(store).fetch("file:///usr/share/doc/python3/html/library/json.html")
    with HttpFetcher(timeout=10) as web:
        page = web.fetch("https://example.org/")

``HttpFetcher`` reads HTML and plain text with httpx; a page that needs JavaScript (almost no text
but scripts, or a noscript "enable JavaScript" message) is rendered in Chromium through Playwright
when ``use_browser`` allows it. Every failure is a ``FetchError`` whose message the agent can read.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from browser_env.decoding import decode_html
from browser_env.docstore import Document, DocumentStore
from browser_env.page import Page
from browser_env.render_html import html_to_page
from browser_env.render_text import text_to_page
from browser_env.web import FetchError

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) webgpt-text-browser/0.1 (+https://pypi.org/project/webgpt/)"
)

_HTML_TYPES = frozenset(("text/html", "application/xhtml+xml"))
_TEXT_TYPES = frozenset(("text/plain", "text/markdown", "text/x-markdown"))
_TYPE_NAMES = {
    "application/pdf": "a PDF document",
    "application/zip": "a ZIP archive",
    "application/json": "JSON data",
    "application/octet-stream": "a binary file",
    "application/msword": "a Word document",
    "image": "an image",
    "video": "a video",
    "audio": "an audio file",
    "font": "a font",
}
_DNS_ERRORS = re.compile(
    r"name or service not known|nodename nor servname|getaddrinfo failed|name resolution|"
    r"no address associated",
    re.IGNORECASE,
)
_NOSCRIPT_JS = re.compile(
    r"<noscript[^>]*>(?:(?!</noscript).){0,2000}?\b(?:enable|turn on|requires?|need)\b[^<]{0,80}javascript",
    re.IGNORECASE | re.DOTALL,
)


class LocalFetcher:
    """Pages from a ``DocumentStore``, rendered on demand and kept in an LRU cache of ``cache_size``."""

    def __init__(self, store: DocumentStore, cache_size: int = 256) -> None:
        self.store = store
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Page] = OrderedDict()
        self._lock = threading.Lock()

    def fetch(self, url: str) -> Page:
        document = self.lookup(url)
        if document is None:
            raise FetchError(f"page not found in the local corpus: {url}")
        with self._lock:
            page = self._cache.get(document.url)
            if page is not None:
                self._cache.move_to_end(document.url)
                return page
        page = render_document(document)
        with self._lock:
            self._cache[document.url] = page
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return page

    def lookup(self, url: str) -> Document | None:
        """The stored document for ``url``, also trying it without its #fragment, with or without a
        trailing slash, with ``index.html`` and percent-decoded."""
        for candidate in url_variants(url):
            document = self.store.get(candidate)
            if document is not None:
                return document
        return None


def url_variants(url: str) -> list[str]:
    """Spellings of ``url`` that address the same stored page, the given one first."""
    variants = [url]
    try:
        base = urlunsplit(urlsplit(url)._replace(fragment=""))
    except ValueError:
        base = url.split("#", 1)[0]
    for candidate in (base, unquote(base)):
        variants.append(candidate)
        if candidate.endswith("/"):
            variants += [candidate.rstrip("/"), candidate + "index.html"]
        else:
            variants.append(candidate + "/")
    return list(dict.fromkeys(variants))


def render_document(document: Document) -> Page:
    """A stored document as a page, the one way every reader of stored documents renders them (the
    browser, passages for search, title links): the stored title wins over the one found in the HTML,
    and text is read as an article from a dump (``render_text.article_lines``)."""
    if document.content_type == "html":
        page = html_to_page(document.content, document.url)
        if document.title.strip():
            page.title = document.title.strip()
        return page
    return text_to_page(document.content, document.url, document.title, article=True)


def needs_javascript(html: str, page: Page) -> bool:
    """Whether a page is probably built by JavaScript: almost no text but scripts, or a short page
    asking the reader to enable JavaScript."""
    text_chars = len(page.text)
    if text_chars < 200 and re.search(r"<script\b", html, re.IGNORECASE):
        return True
    return text_chars < 1000 and _NOSCRIPT_JS.search(html) is not None


class HttpFetcher:
    """Pages from the live web over HTTP(S), with clear errors; use as a context manager or ``close()``.

    ``use_browser``: ``"auto"`` renders pages that need JavaScript in Chromium, ``True`` renders every
    HTML page there, ``False`` never starts a browser.
    """

    def __init__(
        self,
        timeout: float = 10.0,
        max_bytes: int = 5_000_000,
        user_agent: str = DEFAULT_USER_AGENT,
        use_browser: bool | Literal["auto"] = "auto",
        browser_path: str = CHROMIUM_PATH,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.use_browser = use_browser
        import httpx  # only here: only live fetching needs it

        self._client = httpx.Client(
            follow_redirects=True,
            max_redirects=10,
            timeout=timeout,
            headers={
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
            },
        )
        self._browser = _Browser(browser_path, user_agent, timeout) if use_browser else None

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        if self._browser is not None:
            self._browser.close()

    def fetch(self, url: str) -> Page:
        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
        if scheme not in ("http", "https"):
            raise FetchError(f"only http:// and https:// addresses can be fetched, not {url!r}")
        final_url, kind, body, charset = self._download(url)
        if kind == "text":
            text = decode_html(body, charset)
            return text_to_page(text, final_url, final_url.rsplit("/", 1)[-1] or final_url)
        page = html_to_page(body, final_url, encoding=charset)
        if self._browser is not None and (
            self.use_browser is True or needs_javascript(decode_html(body), page)
        ):
            try:
                html, browser_url = self._browser.render(final_url)
            except FetchError:
                if self.use_browser is True:
                    raise
                return page  # the static page is still better than nothing
            return html_to_page(html, browser_url)
        return page

    def _download(self, url: str) -> tuple[str, str, bytes, str | None]:
        """(final URL, "html" or "text", body, charset) or a FetchError saying what went wrong."""
        import httpx

        host = urlsplit(url).netloc or url
        deadline = time.monotonic() + 3 * self.timeout
        try:
            with self._client.stream("GET", url) as response:
                final_url = str(response.url)
                if response.status_code >= 400:
                    reason = response.reason_phrase or "error"
                    raise FetchError(f"{final_url} answered HTTP {response.status_code} {reason}")
                kind = _content_kind(response.headers.get("content-type", ""), final_url)
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > self.max_bytes:
                    raise FetchError(_too_large(final_url, self.max_bytes))
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(_too_large(final_url, self.max_bytes))
                    if time.monotonic() > deadline:
                        raise FetchError(
                            f"{final_url} took longer than {3 * self.timeout:g} s to send the page"
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                charset = response.charset_encoding
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {self.timeout:g} s waiting for {host}") from exc
        except httpx.ConnectError as exc:
            message = str(exc)
            if _DNS_ERRORS.search(message):
                raise FetchError(f"could not resolve the host name {urlsplit(url).hostname!r}") from exc
            if "refused" in message.lower():
                raise FetchError(f"connection refused by {host}: nothing is listening there") from exc
            raise FetchError(f"could not connect to {host}: {message}") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchError(f"too many redirects while loading {url}") from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise FetchError(f"not a valid web address: {url!r} ({exc})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"loading {url} failed: {type(exc).__name__}: {exc}") from exc
        if kind == "sniff":
            kind = "html" if body[:1000].lstrip().startswith(b"<") else "text"
        return final_url, kind, body, charset


def _content_kind(content_type: str, url: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if not media:
        return "sniff"
    if media in _HTML_TYPES:
        return "html"
    if media in _TEXT_TYPES:
        return "text"
    name = _TYPE_NAMES.get(media) or _TYPE_NAMES.get(media.split("/", 1)[0]) or f"{media} content"
    raise FetchError(f"{url} is {name} ({media}), not a web page: only HTML and plain-text pages can be read")


def _too_large(url: str, limit: int) -> str:
    return f"{url} is larger than the {limit:,}-byte page size limit"


class _Browser:
    """Chromium through Playwright, started on first use, all calls in one worker thread (the sync API
    is bound to the thread that started it, and refuses to run inside an asyncio loop)."""

    def __init__(self, executable: str, user_agent: str, timeout: float) -> None:
        self.executable = executable
        self.user_agent = user_agent
        self.timeout_ms = timeout * 1000
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self._chromium: Any = None
        self._closed = False

    def render(self, url: str) -> tuple[str, str]:
        """(the DOM after load as HTML, the final URL)."""
        if self._closed:
            raise FetchError("the browser was closed")
        return self._pool.submit(self._render, url).result()

    def _render(self, url: str) -> tuple[str, str]:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright

        try:
            if self._chromium is None:
                self._playwright = sync_playwright().start()
                self._chromium = self._playwright.chromium.launch(
                    executable_path=self.executable, args=CHROMIUM_ARGS
                )
            context = self._chromium.new_context(user_agent=self.user_agent)
        except PlaywrightError as exc:
            raise FetchError(f"could not start Chromium ({self.executable}): {_first_line(exc)}") from exc
        try:
            tab = context.new_page()
            tab.goto(url, wait_until="load", timeout=self.timeout_ms)
            with contextlib.suppress(PlaywrightTimeout):  # let scripts that fetch content finish
                tab.wait_for_load_state("networkidle", timeout=min(self.timeout_ms, 2000))
            return tab.content(), tab.url
        except PlaywrightTimeout as exc:
            raise FetchError(
                f"timed out after {self.timeout_ms / 1000:g} s rendering {url} in Chromium"
            ) from exc
        except PlaywrightError as exc:
            raise FetchError(f"Chromium could not load {url}: {_first_line(exc)}") from exc
        finally:
            context.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.submit(self._stop).result()
        self._pool.shutdown(wait=True)

    def _stop(self) -> None:
        try:
            if self._chromium is not None:
                self._chromium.close()
        finally:
            if self._playwright is not None:
                self._playwright.stop()
            self._chromium = self._playwright = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
