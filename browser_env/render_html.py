"""Render HTML into the text browser's ``Page``.

``html_to_page`` keeps the main content only (no scripts, styles, navigation, footers, sidebars,
cookie banners or hidden elements), writes headings as ``# Heading``, list items as ``- item`` or
``1. item``, table rows as ``a | b | c``, images as ``[Image: alt]`` and links inline as
``【id†text†domain】`` (``【id†text】`` for same-site links; the markup of ``browser_env.protocol.links``).
It never raises: malformed HTML, binary junk and odd encodings give the best page that can be made, at
worst an empty page with a title.

The tree is built with lxml's HTML parser (a C parser, about 20 times faster than building a
BeautifulSoup tree); bytes are decoded with BeautifulSoup's ``UnicodeDammit`` (BOM, ``<meta charset>``,
then detection; see ``browser_env.decoding``) and BeautifulSoup's ``html.parser`` is the fallback when
lxml cannot parse a page. Plain text is rendered by ``browser_env.render_text``.

    from browser_env.render_html import html_to_page
    page = html_to_page(open("page.html", "rb").read(), "https://example.org/page.html")
    print(page.title, page.text, page.links[:3], sep="\n")
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree

from browser_env.decoding import decode_html
from browser_env.page import Link, Page, domain_of
from browser_env.protocol.links import LINK_CLOSE, LINK_FIELD, LINK_OPEN
from browser_env.render_text import CONTROL_CHARS, MAX_TEXT_CHARS, OUTPUT_CUT_NOTE, TEXT_TABLE, collapse

MAX_INPUT_BYTES = 10_000_000
INPUT_CUT_NOTE = "[Page cut: the page is over {limit:,} bytes; only its beginning was read.]"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Elements whose content is never part of the page text.
_DROP_TAGS = _words(
    "head title meta link base script style noscript template svg iframe frame frameset object embed "
    "applet canvas video audio map area nav aside footer button input select textarea option optgroup "
    "datalist dialog source track param"
)
_DROP_ROLES = _words("navigation banner contentinfo complementary search menu menubar toolbar tablist")
_BLOCK_TAGS = _words(
    "html body p div section article main header hgroup dl dt dd table thead tbody tfoot tr td th caption "
    "blockquote hr figure figcaption address details summary fieldset legend center form listing "
    "plaintext xmp noframes"
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LISTS = frozenset(("ul", "ol", "menu", "dir"))
_PRE = frozenset(("pre", "listing", "plaintext", "xmp"))
# Site chrome recognised by class or id; removed only when short, so an article is never lost.
_CHROME = re.compile(
    r"cookie|consent|gdpr|onetrust|cookiebot|cc[-_](?:banner|window)|skip[-_]?(?:link|nav|to)|"
    r"navbar|breadcrumb|sidebar|site[-_](?:header|footer|nav)|"
    r"mw-editsection|mw-jump-link|navbox|catlinks|printfooter",
    re.IGNORECASE,
)
_CHROME_MAX_CHARS = 3000
_MULTI_BLOCK_CELL = (
    "boolean(.//*[self::td or self::th][count(p|div|ul|ol|dl|pre|blockquote|h1|h2|h3|h4) > 1])"
)
_NEVER_CHROME = frozenset(("html", "body", "main", "article"))
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_SKIP_LINK_TEXT = re.compile(r"^\s*(?:skip|jump)\s+to\b|^\s*skip\s+(?:nav|navigation|links)\b", re.IGNORECASE)
_PERMALINK_TEXT = frozenset(("¶", "§", "#", "🔗", "link", "permalink"))
_PLAIN_SCHEMES = ("javascript:", "mailto:", "tel:", "sms:", "data:", "vbscript:", "about:", "blob:")
_LINK_SCHEMES = frozenset(("http", "https", "file", "ftp"))
_PIXEL_SRC = re.compile(r"(?:^|[/_.-])(?:pixel|beacon|spacer)(?:[/_.?-]|$)", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
# Rendered lines: page text as in TEXT_TABLE; link tokens are built with U+E000/U+E001 (which
# CONTROL_CHARS removes from the input) and become the protocol's link brackets here.
_OPEN, _CLOSE = "\ue000", "\ue001"
_LINE_TABLE = {**TEXT_TABLE, ord(_OPEN): LINK_OPEN, ord(_CLOSE): LINK_CLOSE}
# A link's text and image alts: no markup character at all (the field separator becomes a space).
_LINK_TEXT_TABLE = {**TEXT_TABLE, ord(LINK_FIELD): " "}

# Flattening pages nested past libxml2's limit: a tokenizer good enough to count open elements.
_MAX_DEPTH = 1000
_TAG = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][^\s/>]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.DOTALL)
_VOID_TAGS = _words("area base br col embed hr img input link meta param source track wbr keygen")
_RAW_TEXT_TAGS = _words("script style textarea title xmp noembed noframes plaintext")
_SELF_CLOSING_SIBLINGS = _words("p li dt dd tr td th option")

# Actions pushed at an element's start and run at its end.
_SKIP, _INLINE, _BLOCK, _ARTICLE, _HEADING, _PRE_BLOCK, _LIST, _ITEM, _TABLE, _ROW, _CELL, _LINK = range(12)

logger = logging.getLogger(__name__)
_local = threading.local()


def _parser() -> etree.HTMLParser:
    """One parser per thread (lxml parsers must not be shared between threads)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.HTMLParser(
            encoding="utf-8",
            remove_comments=True,
            remove_pis=True,
            no_network=True,
            default_doctype=False,
            huge_tree=True,  # nesting up to 2,048 levels; deeper pages are flattened first (_flatten)
        )
        _local.parser = parser
    return parser


def html_to_page(
    html: str | bytes,
    url: str,
    *,
    encoding: str | None = None,
    max_input_bytes: int = MAX_INPUT_BYTES,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> Page:
    """Render ``html`` fetched from ``url`` as a text-browser page; never raises.

    ``encoding`` is a charset known from outside the document (an HTTP header); inputs over
    ``max_input_bytes`` and outputs over ``max_text_chars`` are cut, with a note line saying so.
    """
    notes: list[str] = []
    if isinstance(html, bytes | bytearray | memoryview):
        data = bytes(html)
        if len(data) > max_input_bytes:
            data = data[:max_input_bytes]
            notes.append(INPUT_CUT_NOTE.format(limit=max_input_bytes))
        text = decode_html(data, encoding)
    else:
        text = str(html)
        if len(text) > max_input_bytes:
            text = text[:max_input_bytes]
            notes.append(INPUT_CUT_NOTE.format(limit=max_input_bytes))
    root = _parse(text)
    if root is None:
        return Page(url=url, title=url, text="\n".join(notes), links=[])
    title = _title(root) or url
    try:
        renderer = _Renderer(url, _base_url(root, url), max_text_chars)
        renderer.render(_content_root(root))
        lines, links = renderer.lines, renderer.links
        if renderer.full:
            notes.append(OUTPUT_CUT_NOTE.format(limit=max_text_chars))
    except Exception:  # a renderer bug must not take the browser down: fall back to the bare text
        logger.warning("rendering %s failed; showing its bare text", url, exc_info=True)
        lines = [line for line in (collapse(s) for s in root.xpath("string()").split("\n")) if line]
        lines = [line.translate(TEXT_TABLE) for line in lines]
        links = []
    return Page(url=url, title=title, text="\n".join(lines + notes), links=links)


def _parse(text: str) -> etree._Element | None:
    text = CONTROL_CHARS.sub("", _XML_DECL.sub("", text, count=1))
    if not text.strip():
        return None
    data = text.encode("utf-8", errors="replace")
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
        if root is not None and _too_deep(parser):
            root = etree.fromstring(_flatten(text).encode("utf-8", errors="replace"), parser)
    except (etree.LxmlError, ValueError):
        root = None
    if root is not None:
        return root
    try:  # lxml gave up: let BeautifulSoup's pure-Python parser build the tree instead
        from lxml.html import soupparser

        return soupparser.fromstring(text, features="html.parser")
    except Exception:
        return None


def _too_deep(parser: etree.HTMLParser) -> bool:
    """Whether libxml2 stopped at its nesting limit (2,048 even with ``huge_tree``), dropping the rest."""
    return any("Excessive depth" in error.message for error in parser.error_log)


def _flatten(text: str, max_depth: int = _MAX_DEPTH) -> str:
    """``text`` with the tags of elements nested deeper than ``max_depth`` removed (their text kept).

    Removed block tags become ``<br>`` so paragraphs stay on lines of their own; scripts and styles
    past the limit go with their content.
    """
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # open elements: (tag, kept)
    position = 0
    while match := _TAG.search(text, position):
        out.append(text[position : match.start()])
        position = match.end()
        token, closing, name = match.group(0), match.group(1), (match.group(2) or "").lower()
        if not name or name in _VOID_TAGS:
            out.append(token)
            continue
        if closing:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index][0] == name:
                    kept = stack[index][1]
                    del stack[index:]
                    out.append(token if kept else _stand_in(name))
                    break
            else:
                out.append(token)
            continue
        if name in _RAW_TEXT_TAGS:
            end = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(text, position)
            stop = end.end() if end else len(text)
            if len(stack) < max_depth:
                out.append(token + text[position:stop])
            position = stop
            continue
        if name in _SELF_CLOSING_SIBLINGS and stack and stack[-1][0] == name:
            kept = stack.pop()[1]
            out.append(f"</{name}>" if kept else _stand_in(name))
        kept = len(stack) < max_depth or name == "a"  # links cannot nest, so they add one level at most
        stack.append((name, kept))
        out.append(token if kept else _stand_in(name))
    out.append(text[position:])
    return "".join(out)


def _stand_in(tag: str) -> str:
    return "<br>" if tag in _BLOCK_TAGS or tag in _HEADINGS or tag in _LISTS or tag == "li" else ""


def _text_of(el: etree._Element) -> str:
    return collapse(el.xpath("string()")).translate(TEXT_TABLE)


def _title(root: etree._Element) -> str:
    for el in root.iter("title"):
        if el.getparent() is not None and el.getparent().tag != "svg":
            title = _text_of(el)
            if title:
                return title
    for el in root.iter("h1"):
        title = _text_of(el)
        if title:
            return title
    return ""


def _base_url(root: etree._Element, url: str) -> str:
    for el in root.iter("base"):
        href = (el.get("href") or "").strip()
        if href:
            try:
                return urljoin(url, href)
            except ValueError:
                return url
    return url


def _visible(el: etree._Element) -> bool:
    return el.get("hidden") is None and not _HIDDEN_STYLE.search(el.get("style") or "")


def _content_root(root: etree._Element) -> etree._Element:
    """The page's main content: <main> or role=main, else a single <article>, else <body>."""
    body = next(root.iter("body"), None)
    candidates = [el for el in root.iter("main") if _visible(el)]
    candidates += [el for el in root.xpath("//*[@role='main']") if _visible(el)]
    if not candidates:
        articles = [el for el in root.iter("article") if _visible(el)]
        if len(articles) == 1:
            candidates = articles
    for el in candidates:
        if len(_text_of(el)) >= 200 or body is None or len(_text_of(body)) < 400:
            return el
    return body if body is not None else root


@dataclass
class _Capture:
    """Text gathered for a link or a table cell."""

    kind: int
    parts: list[str] = field(default_factory=list)
    alts: list[str] = field(default_factory=list)
    url: str = ""
    domain: str | None = None
    label: str = ""


class _Renderer:
    """Walks the tree once (iteratively, so deep nesting cannot overflow the stack)."""

    def __init__(self, page_url: str, base_url: str, max_chars: int) -> None:
        self.page_url = page_url
        self.base_url = base_url
        self.page_key = _without_fragment(page_url)
        self.page_domain = domain_of(page_url)
        self.max_chars = max_chars
        self.lines: list[str] = []
        self.links: list[Link] = []
        self.parts: list[str] = []
        self.captures: list[_Capture] = []
        self.lists: list[list[int]] = []  # [ordered, next number]
        self.item_indents: list[str] = []
        self.marker: str | None = None
        self.heading = ""
        self.pre = 0
        self.article = 0
        self.tables: list[list[str] | None] = []
        self.targets: dict[
            str, tuple[str | None, str | None]
        ] = {}  # href -> (URL, domain)  # a data table's current row, None for layout tables
        self.size = 0
        self.full = False

    # --- walking -------------------------------------------------------------------------------
    def render(self, root: etree._Element) -> None:
        if root.tag in ("main", "article") or root.get("role") == "main":
            self.article = 1
        walker = etree.iterwalk(root, events=("start", "end"))
        actions: list[int] = []
        for event, el in walker:
            if event == "start":
                action = self._start(el)
                if action == _SKIP:
                    walker.skip_subtree()
                actions.append(action)
            else:
                self._end(el, actions.pop())
                if el is not root and el.tail:
                    self._text(el.tail)
            if self.full:
                return
        self._flush()

    def _start(self, el: etree._Element) -> int:
        tag = el.tag
        if not isinstance(tag, str):
            return _SKIP
        tag = tag.lower()
        if self._hidden(el, tag):
            return _SKIP
        if tag == "a":
            action = self._start_link(el)
        elif tag == "img":
            self._image(el)
            return _INLINE
        elif tag == "br":
            self._break()
            return _INLINE
        elif tag == "math":
            alt = el.get("alttext")
            if alt:
                self._text(f" {alt} ")
            return _SKIP
        elif tag in _HEADINGS:
            self._block()
            if not self.captures:
                self.heading = "#" * _HEADINGS[tag] + " "
            action = _HEADING
        elif tag in _LISTS:
            self._block()
            start = el.get("start", "1").strip()
            self.lists.append([tag == "ol", int(start) if start.isdigit() else 1])
            action = _LIST
        elif tag == "li":
            self._start_item()
            action = _ITEM
        elif tag in _PRE:
            self._block()
            self.pre += 1
            action = _PRE_BLOCK
        elif tag == "table":
            self._block()
            self.tables.append(None if _is_layout_table(el) else [])
            action = _TABLE
        elif tag == "tr" and self.tables and self.tables[-1] is not None:
            self._block()
            self.tables[-1] = []
            action = _ROW
        elif tag in ("td", "th") and self.tables and self.tables[-1] is not None:
            self.captures.append(_Capture(_CELL))
            action = _CELL
        elif tag in ("main", "article"):
            self._block()
            self.article += 1
            action = _ARTICLE
        elif tag in _BLOCK_TAGS:
            self._block()
            action = _BLOCK
        else:
            action = _INLINE
        if action != _SKIP and el.text:
            self._text(el.text)
        return action

    def _end(self, el: etree._Element, action: int) -> None:
        if action in (_SKIP, _INLINE):
            return
        if action == _LINK:
            self._end_link()
        elif action == _CELL:
            capture = self.captures.pop()
            row = self.tables[-1] if self.tables else None
            if row is not None:
                row.append(collapse("".join(capture.parts)))
        elif action == _ROW:
            self._end_row()
        elif action == _TABLE:
            self._end_row()  # cells outside any row
            self.tables.pop()
        elif action == _HEADING:
            self._block()
            self.heading = ""
        elif action == _PRE_BLOCK:
            self._block()
            self.pre -= 1
        elif action == _LIST:
            self._block()
            self.lists.pop()
        elif action == _ITEM:
            self._block()
            self.item_indents.pop()
            self.marker = None
        elif action == _ARTICLE:
            self._block()
            self.article -= 1
        else:
            self._block()

    def _end_row(self) -> None:
        row = self.tables[-1] or []
        while row and not row[-1]:
            row.pop()
        if row:
            self.parts.append(" | ".join(row))
        if self.tables[-1] is not None:
            self.tables[-1] = []
        self._block()

    def _hidden(self, el: etree._Element, tag: str) -> bool:
        if tag in _DROP_TAGS:
            return True
        if tag == "header" and not self.article and _is_site_header(el):
            return True
        keys = el.keys()
        if not keys:
            return False
        if "hidden" in keys:
            return True
        if "style" in keys and _HIDDEN_STYLE.search(el.get("style", "")):
            return True
        role = el.get("role", "").strip().lower() if "role" in keys else ""
        if role in _DROP_ROLES:
            return True
        suspicious = role in ("dialog", "alertdialog") or (
            "aria-hidden" in keys and el.get("aria-hidden", "").strip().lower() == "true"
        )
        if not suspicious and ("class" in keys or "id" in keys) and tag not in _NEVER_CHROME:
            suspicious = _chrome_name(el.get("class", ""), el.get("id", ""))
        # Chrome is short and holds no main content; anything else under a misleading name stays.
        return (
            suspicious
            and len(el.xpath("string()")) < _CHROME_MAX_CHARS
            and el.find(".//h1") is None
            and el.find(".//main") is None
            and el.find(".//article") is None
        )

    # --- text ----------------------------------------------------------------------------------
    def _text(self, text: str) -> None:
        (self.captures[-1].parts if self.captures else self.parts).append(text)

    def _break(self) -> None:
        if self.captures:
            self._text(" ")
        elif self.pre:
            self.parts.append("\n")
        else:
            self._flush()

    def _block(self) -> None:
        if self.captures:
            self._text(" ")
        else:
            self._flush()

    def _flush(self) -> None:
        if not self.parts:
            return
        text = "".join(self.parts)
        self.parts.clear()
        if self.pre:
            for line in text.translate(_LINE_TABLE).split("\n"):
                line = line.rstrip().expandtabs(4)
                if line.strip():
                    self._line(line)
        else:
            line = collapse(text.translate(_LINE_TABLE))
            if line:
                self._line(self.heading + line if self.heading else line)

    def _line(self, line: str) -> None:
        if self.marker is not None:
            line = self.marker + line
            self.marker = None
        elif self.item_indents:
            line = self.item_indents[-1] + line
        self.size += len(line) + 1
        if self.size > self.max_chars:
            keep = self.max_chars - (self.size - len(line) - 1)
            if keep > 0:
                self.lines.append(line[:keep])
            self.full = True
            return
        self.lines.append(line)

    def _start_item(self) -> None:
        self._block()
        depth = max(len(self.lists) - 1, 0)
        indent = "  " * depth
        if self.lists and self.lists[-1][0]:
            bullet = f"{self.lists[-1][1]}. "
            self.lists[-1][1] += 1
        else:
            bullet = "- "
        self.marker = indent + bullet
        self.item_indents.append(indent + " " * len(bullet))

    # --- images and links ----------------------------------------------------------------------
    def _image(self, el: etree._Element) -> None:
        alt = collapse(el.get("alt") or "").translate(_LINK_TEXT_TABLE)
        if not alt or _is_pixel(el):
            return
        if self.captures and self.captures[-1].kind == _LINK:
            self.captures[-1].alts.append(alt)
        else:
            self._text(f" [Image: {alt}] ")

    def _start_link(self, el: etree._Element) -> int:
        href = el.get("href")
        if href is None:
            return _INLINE
        resolved = self.targets.get(href)
        if resolved is None:
            target = self._link_target(href)
            resolved = self.targets[href] = (target, self._link_domain(target) if target else None)
        target, domain = resolved
        if target is None:
            return _SKIP if _is_fragment_chrome(el) else _INLINE
        if self.captures and self.captures[-1].kind == _LINK:  # nested links: keep the outer one
            return _INLINE
        label = collapse(el.get("aria-label") or el.get("title") or "")
        self.captures.append(_Capture(_LINK, url=target, domain=domain, label=label))
        return _LINK

    def _link_domain(self, target: str) -> str | None:
        """The domain shown for a link; None for same-site links."""
        domain = domain_of(target)
        return domain if domain and domain != self.page_domain else None

    def _link_target(self, href: str) -> str | None:
        """The absolute URL a link leads to, or None when it should render as plain text."""
        href = href.strip().replace("\n", "").replace("\t", "").replace("\r", "")
        if not href or href.lower().startswith(_PLAIN_SCHEMES):
            return None
        try:
            target = urljoin(self.base_url, href)
            parts = urlsplit(target)
        except ValueError:
            return None
        if parts.scheme.lower() not in _LINK_SCHEMES:
            return None
        if parts.fragment and _without_fragment(target) == self.page_key:
            return None  # a jump within this page
        if href.startswith("#") and self.base_url == self.page_url:
            return None
        return target

    def _end_link(self) -> None:
        capture = self.captures.pop()
        raw = "".join(capture.parts)
        text = collapse(raw).translate(_LINK_TEXT_TABLE)
        if not text.strip():
            text = " ".join(capture.alts) or capture.label.translate(_LINK_TEXT_TABLE)
        text = collapse(text)
        if not text:
            return
        link = Link(id=len(self.links), url=capture.url, text=text, domain=capture.domain)
        self.links.append(link)
        domain = f"{LINK_FIELD}{link.domain}" if link.domain else ""
        token = f"{_OPEN}{link.id}{LINK_FIELD}{text}{domain}{_CLOSE}"
        lead = " " if raw[:1].isspace() else ""
        trail = " " if raw[-1:].isspace() else ""
        self._text(lead + token + trail)


def _without_fragment(url: str) -> str:
    try:
        return urlunsplit(urlsplit(url)._replace(fragment=""))
    except ValueError:
        return url


def _is_fragment_chrome(el: etree._Element) -> bool:
    """Permalink anchors (¶) and "skip to content" links: page furniture, not text."""
    classes = (el.get("class") or "").lower()
    if "headerlink" in classes or "skip" in classes:
        return True
    text = collapse(el.xpath("string()"))
    return text.lower() in _PERMALINK_TEXT or _SKIP_LINK_TEXT.match(text) is not None


def _is_site_header(el: etree._Element) -> bool:
    """A <header> outside any article: site chrome, unless it holds the page's h1 and no menu."""
    return el.find(".//h1") is None or el.find(".//nav") is not None or el.find(".//ul") is not None


def _is_layout_table(el: etree._Element) -> bool:
    """Tables used for layout (nested tables, cells of several paragraphs) render as blocks, not rows."""
    if el.get("role") in ("presentation", "none") or el.find(".//table") is not None:
        return True
    return bool(el.xpath(_MULTI_BLOCK_CELL))


@functools.lru_cache(maxsize=8192)
def _chrome_name(classes: str, element_id: str) -> bool:
    return _CHROME.search(classes) is not None or _CHROME.search(element_id) is not None


def _is_pixel(el: etree._Element) -> bool:
    for name in ("width", "height"):
        value = (el.get(name) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) <= 2:
            return True
    return _PIXEL_SRC.search(el.get("src") or "") is not None
