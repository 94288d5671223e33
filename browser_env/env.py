"""The text browser environment, with Gymnasium's ``reset``/``step``/``close`` contract.

    with BrowserEnv(corpus.search, corpus.fetcher) as env:
        observation, info = env.reset(seed=0, options={"question": "Who designed the Eiffel Tower?"})
        observation, reward, terminated, truncated, info = env.step("Search eiffel tower")

``info`` carries the state as data (the search results, the links in the window, the window's
paragraphs, the commands that are valid now, the quotes), so no policy, demonstrator or UI needs to read
the rendered observation back. Run one by hand with ``webgpt browse --corpus NAME --question "..."``.
"""

from __future__ import annotations

import random
import re
from bisect import bisect_left
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote_plus

from browser_env import textmatch
from browser_env.actions import (
    AnyAction,
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
    parse_action,
    render_action,
    syntax_of,
)
from browser_env.config import MAX_COMMAND_CHARS, EnvConfig
from browser_env.page import Link, Page, domain_of
from browser_env.protocol import (
    LINK_MARKUP,
    LINK_SPAN,
    EndReason,
    Observation,
    ObservedQuote,
    format_link,
    link_text,
    unlink,
)
from browser_env.web import Fetcher, FetchError, SearchBackend, SearchResult

SEARCH_URL_PREFIX = "search:"
START_TITLE = "No page open"
START_TEXT = "Nothing to read yet. Begin with: Search <query>"

__all__ = ["SEARCH_URL_PREFIX", "BrowserEnv", "CollectedQuote", "EnvConfig", "is_search_url", "wrap_lines"]


def is_search_url(url: str | None) -> bool:
    """Whether ``url`` is a search results page of this environment."""
    return bool(url) and url.startswith(SEARCH_URL_PREFIX)  # type: ignore[union-attr]


@dataclass(frozen=True)
class CollectedQuote:
    """A quote as collected: the extract, where it is (offsets into the page text) and the SHA-256 of
    that page text, so that it can be checked against the very page it came from."""

    url: str
    title: str
    domain: str
    text: str
    start: int
    end: int
    page_sha256: str = ""

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def quote_on_page(page: Page, text: str) -> CollectedQuote | None:
    """``text`` as ``Quote`` collects it from ``page``: the verbatim extract where it stands, its offsets
    and the page's hash; None when it is not on the page."""
    span = textmatch.locate_quote(page.text, text)
    if span is None:
        return None
    extract = textmatch.extract(page.text, span)
    return CollectedQuote(page.url, page.title, page.domain, extract, *span, page.text_sha256)


@dataclass(frozen=True)
class SearchResultView:
    """A result as listed on a results page: ``id`` is its link id there, ``rank`` its position (0 first)."""

    rank: int
    id: int
    title: str
    url: str
    domain: str
    snippet: str


@dataclass
class _View:
    """A page in the tab history, with its display lines and scroll position."""

    page: Page
    lines: list[tuple[int, int]]
    results: list[SearchResultView] = field(default_factory=list)
    top: int = 0
    find_text: str | None = None
    find_offset: int = -1


@dataclass
class _EpisodeState:
    question: str = ""
    actions_taken: int = 0
    invalid_actions: int = 0
    history: list[_View] = field(default_factory=list)
    quotes: list[CollectedQuote] = field(default_factory=list)
    past_actions: list[str] = field(default_factory=list)
    last_action: str | None = None
    error: str | None = None
    end_reason: EndReason | None = None


class AllowedSearch:
    """A search without the results ``config`` blocks: what the browser lists, and what a policy's own
    scorer may read (``BrowserEnv.allowed_search``), so a blocked site helps no more there."""

    def __init__(self, inner: SearchBackend, config: EnvConfig) -> None:
        self.inner, self.config = inner, config

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        return [r for r in self.inner.search(query, k=k) if not self.config.is_blocked(r.url)]


class BrowserEnv:
    """A text browser over a search backend and a fetcher. Invalid actions never raise out of ``step``;
    their error shows in the next observation. The environment itself is deterministic; ``reset(seed=…)``
    seeds ``rng``, the generator offered to policies that want one tied to the episode."""

    def __init__(self, search: SearchBackend, fetcher: Fetcher, config: EnvConfig | None = None) -> None:
        self.search_backend = search
        self.fetcher = fetcher
        self.config = config or EnvConfig()
        self.allowed_search = AllowedSearch(search, self.config)
        self.rng = random.Random()
        self.seed: int | None = None
        self._state = _EpisodeState()
        self._closed = False

    # Gymnasium contract ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        """Start an episode: ``options={"question": "..."}`` (required; a ValueError when it is empty or
        longer than ``config.max_question_chars``)."""
        if self._closed:
            raise RuntimeError("this environment is closed")
        question = str((options or {}).get("question", "")).strip()
        if not question:
            raise ValueError("reset needs options={'question': '...'} with a non-empty question")
        question = self.config.check_question(question)
        if seed is not None:
            self.seed = seed
            self.rng.seed(seed)
        self._state = _EpisodeState(question=question)
        return self.observation, self.info

    def step(self, action: AnyAction | str) -> tuple[str, float, bool, bool, dict]:
        """Apply one command (an action or its text). Returns observation, reward (always 0: quality is
        judged on the answer), terminated (End), truncated (a budget ran out) and info."""
        state = self._state
        if self._closed:
            raise RuntimeError("this environment is closed")
        if not state.question:
            raise RuntimeError("call reset() before step()")
        if state.end_reason is not None:
            state.error = "the episode has ended; call reset() to start another"
            return self.observation, 0.0, self.terminated, self.truncated, self.info
        if not isinstance(action, str) and len(render_action(action)) > MAX_COMMAND_CHARS:
            action = render_action(action)  # built in code rather than parsed: bound it the same way
        if isinstance(action, str):
            action = parse_action(action)
        state.actions_taken += 1
        state.last_action = render_action(action)
        state.error = None
        try:
            summary = self._apply(action)
        except _ActionFailed as failure:
            state.error = str(failure)
            summary = failure.summary
            if summary is not None and not isinstance(action, InvalidAction):
                summary += " (failed)"
        if summary is not None:
            state.past_actions.append(summary)
        if state.end_reason is None:
            if len(state.quotes) >= self.config.max_quotes:
                state.end_reason = EndReason.QUOTE_BUDGET
            elif self.actions_left <= 0:
                state.end_reason = EndReason.ACTION_BUDGET
        return self.observation, 0.0, self.terminated, self.truncated, self.info

    def close(self) -> None:
        """Release the search backend and fetcher (those that have a ``close``). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for part in (self.search_backend, self.fetcher):
            close = getattr(part, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> BrowserEnv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # State the agent and the recorder read ------------------------------------------------------------
    @property
    def question(self) -> str:
        return self._state.question

    @property
    def page(self) -> Page | None:
        return self._state.history[-1].page if self._state.history else None

    @property
    def quotes(self) -> list[CollectedQuote]:
        return list(self._state.quotes)

    @property
    def actions_left(self) -> int:
        return max(0, self.config.max_actions - self._state.actions_taken)

    @property
    def end_reason(self) -> EndReason | None:
        return self._state.end_reason

    @property
    def terminated(self) -> bool:
        return self._state.end_reason is not None and self._state.end_reason.terminated

    @property
    def truncated(self) -> bool:
        return self._state.end_reason is not None and self._state.end_reason.truncated

    @property
    def done(self) -> bool:
        return self._state.end_reason is not None

    @property
    def observation(self) -> str:
        """The text a policy reads (see ``browser_env.protocol.observation``)."""
        return self.observation_parts().render()

    def observation_parts(self) -> Observation:
        state = self._state
        first, last, _ = self._scrollbar()
        return Observation(
            question=state.question,
            quotes=[ObservedQuote(_source(q.title, q.domain), q.text) for q in state.quotes],
            past_actions=list(state.past_actions),
            title=self._title(),
            scrollbar=(first, last),
            text=self._window_text(),
            error=state.error,
            actions_left=self.actions_left,
        )

    @property
    def info(self) -> dict[str, Any]:
        """The state as data. Keys: question, url, title, quotes (records), actions_left,
        actions_taken, invalid_actions, last_action, error, end_reason, scrollbar (first, last, total
        display lines), on_search_page, search_results (rank, id, title, url, domain, snippet), links
        (all links of the page), visible_links (those written in the window), window_text,
        window_paragraphs, can_go_back, valid_commands (command syntaxes that can succeed now)."""
        state = self._state
        page = self.page
        view = state.history[-1] if state.history else None
        window = self._window_text()
        links = [asdict(link) for link in page.links] if page else []
        visible_ids = [int(m.group(1)) for m in LINK_MARKUP.finditer(window)] if page else []
        by_id = {link["id"]: link for link in links}
        visible = [by_id[i] for i in dict.fromkeys(visible_ids) if i in by_id]
        return {
            "question": state.question,
            "url": page.url if page else None,
            "title": self._title(),
            "quotes": [quote.to_record() for quote in state.quotes],
            "actions_left": self.actions_left,
            "actions_taken": state.actions_taken,
            "invalid_actions": state.invalid_actions,
            "last_action": state.last_action,
            "error": state.error,
            "end_reason": state.end_reason.value if state.end_reason else None,
            "scrollbar": self._scrollbar(),
            "on_search_page": bool(page) and is_search_url(page.url),
            "search_results": [asdict(result) for result in view.results] if view else [],
            "links": links,
            "visible_links": visible,
            "window_text": window,
            "window_paragraphs": self._window_paragraphs(),
            "can_go_back": len(state.history) >= 2,
            "valid_commands": self._valid_commands(visible),
        }

    def _valid_commands(self, visible_links: list[dict[str, Any]]) -> list[str]:
        """The syntaxes of the commands that can succeed now (``Search`` always can)."""
        state = self._state
        if state.end_reason is not None:
            return []
        valid = [Search]
        page = self.page
        if page is not None:
            first, last, total = self._scrollbar()
            if visible_links:
                valid.append(ClickLink)
            valid.append(FindInPage)
            if not is_search_url(page.url):
                valid.append(Quote)
            if last < total - 1:
                valid.append(ScrollDown)
            if first > 0:
                valid += [ScrollUp, Top]
            if len(state.history) >= 2:
                valid.append(Back)
        if state.quotes:
            valid.append(EndAnswer)
        valid.append(EndDecline)
        return [syntax_of(kind) for kind in valid]

    # Commands --------------------------------------------------------------------------------------------
    def _apply(self, action: AnyAction) -> str | None:
        state = self._state
        match action:
            case InvalidAction(message=message):
                state.invalid_actions += 1
                raise _ActionFailed(f"invalid action: {message}", "Invalid action")
            case Search(query=query):
                self._open(*self._results_page(query))
                return f"Search {query}"
            case ClickLink(link_id=link_id):
                return self._click(link_id)
            case FindInPage(text=text):
                self._find(text)
                return f"Find in page: {text}"
            case Quote(text=text):
                self._quote(text)
                return "Quote"
            case ScrollDown(windows=n) | ScrollUp(windows=n):
                view = self._current("scroll")
                step = self.config.window_lines * n * (1 if isinstance(action, ScrollDown) else -1)
                view.top = self._clamp_top(view, view.top + step)
                return render_action(action)
            case Top():
                self._current("go to the top").top = 0
                return "Top"
            case Back():
                if len(state.history) < 2:
                    raise _ActionFailed("there is no previous page to go back to", "Back")
                state.history.pop()
                return "Back"
            case EndAnswer():
                if not state.quotes:
                    raise _ActionFailed(
                        "End: Answer needs at least one quote; quote the page first", "End: Answer"
                    )
                state.end_reason = EndReason.ANSWER
                return "End: Answer"
            case EndDecline(reason=reason):
                state.end_reason = EndReason(reason.lower())
                return f"End: {reason}"
        raise AssertionError(f"unhandled action {action!r}")

    def _current(self, verb: str) -> _View:
        if not self._state.history:
            raise _ActionFailed(f"no page is open to {verb}; begin with Search <query>", None)
        return self._state.history[-1]

    def _open(self, page: Page, results: list[SearchResultView] | None = None) -> None:
        lines = wrap_lines(page.text, self.config.line_width)
        self._state.history.append(_View(page=page, lines=lines, results=results or []))

    def _results_page(self, query: str) -> tuple[Page, list[SearchResultView]]:
        try:
            found = self.allowed_search.search(query, k=self.config.search_results * 2)
        except Exception as error:  # a search backend failure must not end the episode
            raise _ActionFailed(f"search failed: {error}", f"Search {query}") from error
        kept = found[: self.config.search_results]
        lines, links, results = [], [], []
        for link_id, result in enumerate(kept):
            title = link_text(result.title) or result.url
            domain = domain_of(result.url)
            snippet = link_text(result.snippet)
            links.append(Link(link_id, result.url, title, domain))
            results.append(SearchResultView(link_id, link_id, title, result.url, domain, snippet))
            lines.append(format_link(link_id, title, domain))
            if snippet:
                lines.append(snippet)
        if not kept:
            lines.append("No results found.")
        page = Page(
            url=SEARCH_URL_PREFIX + quote_plus(query),
            title=f"Search results for: {query}",
            text="\n".join(lines),
            links=links,
        )
        return page, results

    def _click(self, link_id: int) -> str:
        view = self._current("click on")
        link = view.page.link(link_id)
        if link is None:
            raise _ActionFailed(f"there is no link {link_id} on this page", f"Clicked on link {link_id}")
        summary = f"Click {link.text} {link.domain or view.page.domain}".rstrip()
        if self.config.is_blocked(link.url):
            raise _ActionFailed(f"{domain_of(link.url)} is blocked in this environment", summary)
        try:
            page = self.fetcher.fetch(link.url)
        except FetchError as error:
            raise _ActionFailed(f"could not open {link.url}: {error}", summary) from error
        self._open(self._without_blocked_links(page))
        return summary

    def _without_blocked_links(self, page: Page) -> Page:
        blocked = {link.id for link in page.links if self.config.is_blocked(link.url)}
        if not blocked:
            return page
        links = [link for link in page.links if link.id not in blocked]
        return Page(url=page.url, title=page.title, text=unlink(page.text, blocked), links=links)

    def _find(self, text: str) -> None:
        view = self._current("search in")
        normalized = textmatch.normalize(text)
        again = view.find_text is not None and textmatch.normalize(view.find_text) == normalized
        start = view.find_offset + 1 if again else view.lines[view.top][0] if view.lines else 0
        span = textmatch.find_span(view.page.text, text, start)
        if span is None and start > 0:
            span = textmatch.find_span(view.page.text, text, 0)  # wrap around to the top
        if span is None:
            view.find_text, view.find_offset = None, -1
            raise _ActionFailed(f"{text!r} was not found on this page", f"Find in page: {text}")
        view.find_text, view.find_offset = text, span[0]
        ends = [last for _, last in view.lines]
        line = min(bisect_left(ends, span[0] + 1), len(view.lines) - 1)
        view.top = self._clamp_top(view, line)

    def _quote(self, text: str) -> None:
        view = self._current("quote from")
        page = view.page
        if is_search_url(page.url):
            raise _ActionFailed(
                "quotes must come from a page, not from search results: open a result", "Quote"
            )
        quote = quote_on_page(page, text)
        if quote is None:
            raise _ActionFailed("that text is not on the current page; quote it exactly as shown", "Quote")
        if len(quote.text) > self.config.max_quote_chars:
            raise _ActionFailed(
                f"the quote is {len(quote.text)} characters long; the limit is {self.config.max_quote_chars}",
                "Quote",
            )
        if any(q.url == page.url and q.text == quote.text for q in self._state.quotes):
            raise _ActionFailed("that text is already quoted", "Quote")
        self._state.quotes.append(quote)

    # Rendering ---------------------------------------------------------------------------------------------
    def _clamp_top(self, view: _View, top: int) -> int:
        last_top = max(0, len(view.lines) - self.config.window_lines)
        return min(max(0, top), last_top)

    def _title(self) -> str:
        page = self.page
        if page is None:
            return START_TITLE
        if is_search_url(page.url):
            return page.title
        return _source(page.title, page.domain)

    def _scrollbar(self) -> tuple[int, int, int]:
        if not self._state.history:
            return 0, 0, 0
        view = self._state.history[-1]
        total = len(view.lines)
        last = min(total, view.top + self.config.window_lines) - 1
        return view.top, max(view.top, last), total

    def _window_text(self) -> str:
        if not self._state.history:
            return START_TEXT
        view = self._state.history[-1]
        window = view.lines[view.top : view.top + self.config.window_lines]
        return "\n".join(view.page.text[first:last] for first, last in window)

    def _window_paragraphs(self) -> list[str]:
        """The window's text by page paragraph: display lines that wrapping split are joined again."""
        if not self._state.history:
            return []
        view = self._state.history[-1]
        window = view.lines[view.top : view.top + self.config.window_lines]
        groups: list[list[int]] = []
        for first, last in window:
            if groups and "\n" not in view.page.text[groups[-1][1] : first]:
                groups[-1][1] = last
            else:
                groups.append([first, last])
        return [view.page.text[first:last] for first, last in groups]


class _ActionFailed(Exception):
    def __init__(self, message: str, summary: str | None) -> None:
        super().__init__(message)
        self.summary = summary


def _source(title: str, domain: str) -> str:
    return f"{title} ({domain})" if domain else title


_BREAKABLE = re.compile(rf"{LINK_SPAN.pattern}|\s")


def wrap_lines(text: str, width: int) -> list[tuple[int, int]]:
    """Display lines as (start, end) offsets into ``text``: each paragraph wrapped at spaces to ``width``
    characters, never inside link markup."""
    lines: list[tuple[int, int]] = []
    offset = 0
    for paragraph in text.split("\n"):
        start, end = offset, offset + len(paragraph)
        offset = end + 1
        if not paragraph.strip():
            continue
        breaks = [m.start() + start for m in _BREAKABLE.finditer(paragraph) if m.group().isspace()]
        line_start = start
        while end - line_start > width:
            limit = line_start + width
            candidates = [b for b in breaks if line_start < b <= limit]
            later = [b for b in breaks if b > limit]
            cut = candidates[-1] if candidates else later[0] if later else end
            lines.append((line_start, cut))
            line_start = cut + 1 if cut < end else end
            if line_start >= end:
                break
        if line_start < end:
            lines.append((line_start, end))
    return lines
