"""The observation as HTML for the recorder pages, character for character as the model reads it."""

from __future__ import annotations

from collections.abc import Collection

from markupsafe import Markup, escape

from browser_env.protocol import LINK_MARKUP
from browser_env.protocol.observation import TEXT


def observation_html(
    observation: str, window_text: str | None = None, link_ids: set[int] | None = None
) -> Markup:
    """The observation, escaped. The page window is wrapped in ``<span id="window-text">`` (where text
    can be selected to quote) and its links in ``<a class="link" data-link="id">`` (so they can be
    clicked). The window is found by position, after the one ``♦Text`` header (page lines can never
    forge a header: the environment escapes them)."""
    start = end = -1
    marker = observation.find(f"\n{TEXT}\n")
    if window_text is not None and marker >= 0:
        start = observation.find(window_text, marker + len(TEXT) + 2)
        end = start + len(window_text) if start >= 0 else -1
    if start < 0:
        return Markup(escape(observation))
    return Markup(
        escape(observation[:start])
        + Markup('<span id="window-text">')
        + _links_html(observation[start:end], link_ids)
        + Markup("</span>")
        + escape(observation[end:])
    )


def _links_html(text: str, link_ids: Collection[int] | None) -> Markup:
    parts: list[Markup] = []
    position = 0
    for match in LINK_MARKUP.finditer(text):
        link_id = int(match.group(1))
        parts.append(escape(text[position : match.start()]))
        if link_ids is None or link_id in link_ids:
            parts.append(
                Markup('<a class="link" href="#" data-link="{}">{}</a>').format(link_id, match.group(0))
            )
        else:
            parts.append(escape(match.group(0)))
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)
