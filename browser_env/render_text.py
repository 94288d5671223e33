"""Render plain text into the text browser's ``Page``, and the text clean-up every renderer shares.

Paragraphs (separated by blank lines) become one line each; list items keep a line each; indented
blocks and ASCII tables keep their line breaks. Page text never carries link markup of its own.

    from browser_env.render_text import text_to_page
    page = text_to_page(open("notes.txt").read(), "file:///notes.txt", "Notes")
    print(page.title, page.text, sep="\n")
"""

from __future__ import annotations

import re

from browser_env.bold_case import restore_bold_case
from browser_env.page import Page
from browser_env.protocol.links import LINK_CLOSE, LINK_OPEN

MAX_TEXT_CHARS = 2_000_000
OUTPUT_CUT_NOTE = "[Page cut: the page text is over {limit:,} characters; the rest is not shown.]"

_WS = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# Control characters, and the two private-use characters that mark link brackets while rendering HTML.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")
# Text never carries link markup of its own: brackets become plain ones, invisible characters go.
TEXT_TABLE = str.maketrans({LINK_OPEN: "[", LINK_CLOSE: "]", "\u200b": None, "\ufeff": None, "\u00ad": None})
# MediaWiki behaviour switches that dumps leave in article text ("… Parkway.[2] __NOTOC__"): page
# settings, never words a reader sees. C's __FILE__ and such are not among them.
BEHAVIOUR_SWITCHES = re.compile(
    r"__(?:NOTOC|FORCETOC|TOC|NOEDITSECTION|NEWSECTIONLINK|NONEWSECTIONLINK|NOGALLERY|HIDDENCAT"
    r"|EXPECTUNUSEDCATEGORY|NOCONTENTCONVERT|NOCC|NOTITLECONVERT|NOTC|INDEX|NOINDEX|STATICREDIRECT"
    r"|DISAMBIG)__"
)
# What dumps leave of a lead's stripped pronunciations: "AARDVARK ( ; _Orycteropus afer_)", "ADRASTEA ( ; ),",
# "FREUD ( ;[1] ; born …)": separators, spaces and reference marks right after an opening parenthesis,
# but not a C-like loop's "for (;;)" or "for (; i < n; i++)".
_NOT_A_LOOP = r"(?<!\bfor)(?<!\bfor )(?<!\bfor  )"
_SEPARATORS = r"\((?=[ \t]*[;,])(?:[ \t]*(?:[;,]|\[\d+\]))+"
_EMPTY_PARENTHESES = re.compile(rf"{_NOT_A_LOOP}[ \t]*{_SEPARATORS}[ \t]*\)")
_LEADING_SEPARATORS = re.compile(rf"{_NOT_A_LOOP}{_SEPARATORS}[ \t]+")
# Image file names that dumps leave where a picture stood, at the start of a paragraph:
# "102_Eaton_Square_06.jpg 102 EATON SQUARE is a Grade II* listed house", "TV-icon-2.svg The 2017 …".
_LEADING_IMAGE_NAMES = re.compile(r"^(?:[^\s/:]+\.(?:svg|png|jpe?g|gif|tiff?|webp)(?: +|$))+", re.IGNORECASE)
# Italics that dumps write as underscores ("_The Endless Summer_", "_Haliaeetus_"): a pair on one line,
# each mark outside a word, so identifiers ("O_RDONLY", "__init__", "_start and _end") keep theirs.
_ITALIC_MARKS = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![\w_])")
# What dumps leave of pictures' captions at a paragraph's start: "(1978)]] While small test programs…",
# "with a moving strip of LED lights]]", a caption holding a link ".]] with avionics laid out]]" or a
# gallery's "(c. 1635).]] (c. 1697).]]" (no "[" before the brackets, so code such as "a[b[1]]" stays).
_LEADING_CAPTION = re.compile(r"^(?![|+\s])(?:[^\[\]\n]*\]\][ \t]*)+")
# Markup dumps leave inside sentences: the apostrophe template ("_Billboard_{{'}}s chart"), wiki italics
# in two apostrophes ("''Star Wars ''") and the empty parentheses of a stripped pronunciation
# ("ABDALLAH IBN GHANIYA () (died 1203)"; code's "main( )" has no space before its parenthesis).
_APOSTROPHE_TEMPLATE = re.compile(r"\{\{'\}\}")
_WIKI_ITALICS = re.compile(r"(?<!')''(?!')[ \t]*([^'\n]*?[^'\s])[ \t]*''(?!')")
_EMPTY_PRONUNCIATION = re.compile(r"(?<=[^\W\d_]) \(\)(?=[ ,.;:])")
# A gallery's pictures, where a dump wrote them into the text: "File:Inside of JNR Class 153.jpg|Interior of
# a … car File:JNR 153.jpg%7CA 153 series set …", each caption after its file name and a pipe (or "%7C").
_GALLERY_FILE = re.compile(
    r"\b(?:File|Image):[^|\n]*?\.(?:svg|png|jpe?g|gif|tiff?|webp)(?:\||%7C|(?=\s|$))[ \t]*", re.IGNORECASE
)
# The article's category links, which HTML pages drop with the rest of the page's furniture (catlinks):
# "Category:2016 albums Category:Julien Doré albums", after at most one word (a sort key, "1_(number)").
_CATEGORY_LINE = re.compile(r"^(?:\S+[ \t]+)?Category:\S")
_BLANK_SPLIT = re.compile(r"\n[ \t\r\f\v]*\n")
_LIST_LINE = re.compile(r"^(?:[-*+•]|\d+[.)])\s")


def without_dump_residue(text: str) -> str:
    """``text`` without what article dumps leave behind: MediaWiki behaviour switches (``__NOTOC__``) and
    the separators of stripped pronunciations ("AARDVARK ( ; _Orycteropus afer_)" reads "AARDVARK
    (_Orycteropus afer_)", "ABACÁ ( ; ), binomial name" reads "ABACÁ, binomial name")."""
    text = BEHAVIOUR_SWITCHES.sub("", text)
    return _LEADING_SEPARATORS.sub("(", _EMPTY_PARENTHESES.sub("", text))


def article_lines(lines: list[str], title: str) -> list[str]:
    """The lines of a stored article without the marks of its dump (``without_article_marks``), and with
    the capitals it wrote for bold in the page's own casing (``bold_case``)."""
    text = without_article_marks("\n".join(lines))
    return restore_bold_case(text, title).split("\n") if text else []


def without_article_marks(text: str) -> str:
    """``text`` of a stored article without the markup its dump left (``_without_markup_residue``, line
    by line) and the underscores it wrote for italics; lines left empty go."""
    cleaned = "\n".join(map(_without_markup_residue, text.split("\n")))
    kept = "\n".join(line for line in cleaned.split("\n") if line.strip())
    return _ITALIC_MARKS.sub(r"\1", kept)


def _without_markup_residue(line: str) -> str:
    """One line of a stored article without the markup its dump left: a line of category links, image
    file names and a caption's end at its start, a gallery's file names (each caption on a line of its
    own), the apostrophe template, italics in apostrophes and empty parentheses."""
    if "Category:" in line and _CATEGORY_LINE.match(line):
        return ""
    line = _LEADING_IMAGE_NAMES.sub("", line)
    if "e:" in line and not line[:1].isspace():  # an indented block (code) keeps its text
        table_row = line.startswith(("|", "+"))  # a picture in a table cell goes, the cell stays
        line, pictures = _GALLERY_FILE.subn("" if table_row else "\n", line)
        if pictures and not table_row:
            line = "\n".join(part.strip() for part in line.split("\n"))
    if "]]" in line:
        line = _LEADING_CAPTION.sub("", line)
    if "''" in line or "{{" in line:
        line = _WIKI_ITALICS.sub(r"\1", _APOSTROPHE_TEMPLATE.sub("'", line))
    return _EMPTY_PRONUNCIATION.sub("", line) if "()" in line else line


def collapse(text: str) -> str:
    """Whitespace runs (including non-breaking and wide spaces) as one space, ends stripped."""
    return _WS.sub(" ", text).strip()


def text_to_page(
    text: str, url: str, title: str, *, max_text_chars: int = MAX_TEXT_CHARS, article: bool = False
) -> Page:
    """Render plain text (paragraphs separated by blank lines, headings alone on a line) as a page.

    Each paragraph becomes one line; list items keep a line each; indented blocks and ASCII tables
    keep their line breaks; what dumps leave behind (``without_dump_residue``) is dropped. The page has
    no links. ``article``: the text is a stored article from a dump (``article_lines``); text fetched
    from elsewhere keeps its capitals.
    """
    text = CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).translate(TEXT_TABLE)
    text = without_dump_residue(text)
    lines: list[str] = []
    size = 0
    for block in _BLANK_SPLIT.split(text):
        raw = [line for line in block.split("\n") if line.strip()]
        if not raw:
            continue
        if any(line[0].isspace() or line.startswith(("|", "+-", "+=")) for line in raw):
            out = [line.rstrip().expandtabs(4) for line in raw]
        else:
            out = []
            for line in raw:
                if out and not _LIST_LINE.match(line.lstrip()):
                    out[-1] += " " + line
                else:
                    out.append(line)
            out = [collapse(line) for line in out]
        for line in out:
            size += len(line) + 1
            if size > max_text_chars:
                return _page(lines, url, title, article, cut=max_text_chars)
            lines.append(line)
    return _page(lines, url, title, article)


def _page(lines: list[str], url: str, title: str, article: bool, cut: int | None = None) -> Page:
    if article:
        lines = article_lines(lines, title)
    if cut is not None:
        lines = [*lines, OUTPUT_CUT_NOTE.format(limit=cut)]
    return Page(url=url, title=collapse(title) or url, text="\n".join(lines), links=[])
