"""The observation as HTML for the recorder pages, character for character as the model reads it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from browser_env import textmatch
from browser_env.actions import FindInPage, parse_action
from browser_env.protocol import LINK_MARKUP, parse_citations
from browser_env.protocol.citations import CITATION
from browser_env.protocol.observation import PAST_ACTIONS, QUOTES, TEXT, TITLE

RECENT_ACTIONS = 3  # past actions shown before the "earlier actions" toggle
RECENT_QUOTES = 3  # quotes shown before the "earlier quotes" toggle
MAX_FIND_MATCHES = 1000


def observation_html(
    observation: str,
    window_text: str | None = None,
    link_ids: set[int] | None = None,
    marks: Sequence[tuple[int, int]] = (),
) -> Markup:
    """The observation, escaped. The page window is wrapped in ``<span id="window-text">`` (where text
    can be selected to quote) and its links in ``<a class="link" data-link="id">`` (so they can be
    clicked). The window is found by position, after the one ``♦Text`` header (page lines can never
    forge a header: the environment escapes them). ``marks`` are spans of the window text to highlight
    (Find matches, the first one current). The sections before the window (``♦Quotes``, ``♦Past
    actions``) are wrapped so the page can show only their latest lines (see ``_head_html``)."""
    start = end = -1
    marker = observation.find(f"\n{TEXT}\n")
    if window_text is not None and marker >= 0:
        start = observation.find(window_text, marker + len(TEXT) + 2)
        end = start + len(window_text) if start >= 0 else -1
    if start < 0:
        return Markup(escape(observation))
    return Markup(
        _head_html(observation[:start])
        + Markup('<span id="window-text">')
        + _links_html(observation[start:end], link_ids, marks)
        + Markup("</span>")
        + escape(observation[end:])
    )


def _head_html(head: str) -> Markup:
    """The observation up to the page window. The quotes are wrapped in ``<span id="obs-quotes">``
    and the past actions in ``<span id="obs-past-actions">``; all but the latest few of each are in
    ``<span class="older">`` after a toggle line, so a long episode does not push the page text below
    the fold. Every character of ``head`` is still in the HTML, in order."""
    lines = head.split("\n")
    try:
        quotes_at, actions_at, title_at = lines.index(QUOTES), lines.index(PAST_ACTIONS), lines.index(TITLE)
    except ValueError:
        return Markup(escape(head))
    if not quotes_at < actions_at < title_at:
        return Markup(escape(head))

    def section(first: int, last: int, html_id: str, per_item: int, keep: int, noun: str) -> Markup:
        body = lines[first:last]
        items = len(body) // per_item if per_item > 1 else len(body)
        hidden = max(0, items - keep) * per_item
        older, recent = body[:hidden], body[hidden:]
        html = Markup('<span id="{}" class="section">').format(html_id)
        if older:
            count = hidden // per_item
            html += Markup(
                '<button type="button" class="toggle-older" data-toggle-older="{}" aria-expanded="false">'
                "{}</button>"
                '<span class="older">{}\n</span>'
            ).format(
                html_id,
                f"{count} earlier {noun if count == 1 else noun + 's'} (show)",
                "\n".join(older),
            )
        return html + escape("\n".join(recent)) + Markup("</span>")

    parts = [escape("\n".join(lines[: quotes_at + 1]) + "\n")]
    if actions_at > quotes_at + 1:
        parts += [section(quotes_at + 1, actions_at, "obs-quotes", 2, RECENT_QUOTES, "quote"), Markup("\n")]
    parts.append(escape(lines[actions_at] + "\n"))
    if title_at > actions_at + 1:
        parts += [
            section(actions_at + 1, title_at, "obs-past-actions", 1, RECENT_ACTIONS, "action"),
            Markup("\n"),
        ]
    parts.append(escape("\n".join(lines[title_at:])))
    return Markup("").join(parts)


def _links_html(text: str, link_ids: Collection[int] | None, marks: Sequence[tuple[int, int]] = ()) -> Markup:
    parts: list[Markup] = []
    position = 0
    for match in LINK_MARKUP.finditer(text):
        link_id = int(match.group(1))
        parts.append(_marked(text, position, match.start(), marks))
        inner = _marked(text, match.start(), match.end(), marks)
        if link_ids is None or link_id in link_ids:
            parts.append(Markup('<a class="link" href="#" data-link="{}">{}</a>').format(link_id, inner))
        else:
            parts.append(inner)
        position = match.end()
    parts.append(_marked(text, position, len(text), marks))
    return Markup("").join(parts)


def _marked(text: str, start: int, end: int, marks: Sequence[tuple[int, int]]) -> Markup:
    """``text[start:end]`` escaped, with the parts inside ``marks`` in ``<mark>`` (the first mark is the
    current match: ``class="find-match current"``)."""
    parts: list[Markup] = []
    position = start
    for number, (first, last) in enumerate(marks):
        first, last = max(first, position), min(last, end)
        if first >= last:
            continue
        parts.append(escape(text[position:first]))
        kind = "find-match current" if number == 0 else "find-match"
        parts.append(Markup('<mark class="{}">{}</mark>').format(kind, text[first:last]))
        position = last
    parts.append(escape(text[position:end]))
    return Markup("").join(parts)


@dataclass(frozen=True)
class FindState:
    """Where the last ``Find in page`` landed: its text, the match shown (``number`` of ``total`` on the
    page) and the spans of the matches in the window text (the current one first)."""

    text: str
    number: int
    total: int
    marks: tuple[tuple[int, int], ...]


def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    while len(spans) < MAX_FIND_MATCHES:
        span = textmatch.find_span(text, needle, position)
        if span is None:
            break
        spans.append(span)
        position = span[1] if span[1] > span[0] else span[0] + 1
    return spans


def find_state(
    command: str | None, error: str | None, page_text: str | None, window_text: str
) -> FindState | None:
    """The matches of the last step's ``Find in page`` (None if the last step was not a successful
    find). The environment scrolls the match to the top of the window, so the current match is the
    first one in the window; its number counts the page's matches before the window."""
    if not command or error or page_text is None:
        return None
    action = parse_action(command)
    if not isinstance(action, FindInPage):
        return None
    in_window = _spans(window_text, action.text)
    if not in_window:
        return None
    on_page = _spans(page_text, action.text)
    window_at = textmatch.find_span(page_text, window_text)
    before = sum(1 for first, _ in on_page if window_at is not None and first < window_at[0])
    total = max(len(on_page), before + len(in_window))
    return FindState(action.text, min(before + 1, total), total, tuple(in_window))


def live_find(live: Any) -> FindState | None:
    """``find_state`` for a live recorder episode (a ``LiveEpisode``)."""
    last = live.recording.last_step
    page = live.env.page
    return find_state(
        last.command if last else None,
        last.error if last else None,
        page.text if page else None,
        live.info["window_text"],
    )


def cited_html(answer: str, quotes: int, prefix: str) -> Markup:
    """An answer, escaped, with each citation (``[n]``, ``[1, 2]``…, the one citation grammar) that names
    its ``quotes`` linked to ``#{prefix}-quote-{first n}``; ``data-quotes`` lists every number."""
    parts: list[Markup] = []
    position = 0
    for match in CITATION.finditer(answer):
        numbers = [n for n in parse_citations(match.group(0)) if 1 <= n <= quotes]
        if not numbers:
            continue
        parts.append(escape(answer[position : match.start()]))
        parts.append(
            Markup('<a class="cite-link" href="#{}-quote-{}" data-quotes="{}">{}</a>').format(
                prefix, numbers[0], " ".join(map(str, numbers)), match.group(0)
            )
        )
        position = match.end()
    parts.append(escape(answer[position:]))
    return Markup("").join(parts)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 comparison``, ``2 comparisons``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def install(env: Any) -> None:
    """Register the filters the templates use on a Jinja environment."""
    env.filters["observation_html"] = observation_html
    env.filters["cited_html"] = cited_html
    env.filters["plural"] = plural
    env.globals["live_find"] = live_find
