"""Decode HTML bytes to text the way browsers do (BOM, declared charset, UTF-8, then detection).

from browser_env.decoding import decode_html
text = decode_html(open("page.html", "rb").read())
"""

from __future__ import annotations

import codecs
import logging

from bs4.dammit import EncodingDetector, UnicodeDammit

_LATIN_CODEPAGES = frozenset(
    (
        *("cp1250", "cp1252", "cp1254", "cp1257", "mac-roman", "mac-latin2", "latin-1"),
        *(f"iso8859-{n}" for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)),
    )
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# Declared charsets that mean something else on the web (WHATWG Encoding).
_HTML_ALIASES = {
    "iso8859-1": "windows-1252",
    "ascii": "windows-1252",
    "utf-16-le": "utf-8",
    "utf-16-be": "utf-8",
    "utf-16": "utf-8",
    "utf-32": "utf-8",
}

# UnicodeDammit logs a warning for every page with undecodable bytes; U+FFFD in the text says enough.
logging.getLogger("bs4.dammit").setLevel(logging.ERROR)


def decode_html(data: bytes, encoding: str | None = None) -> str:
    """Decode HTML bytes as browsers do: a BOM, then ``encoding`` (an HTTP charset) or the document's
    ``<meta charset>``, then UTF-8, then detection (``UnicodeDammit``); bad bytes become U+FFFD.

    Undeclared pages in a Latin-script single-byte code page read as windows-1252, the web's default
    (detectors often take it for windows-1250 or ISO-8859-2 on short pages).
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    declared = encoding or EncodingDetector.find_declared_encoding(data, is_html=True)
    declared = _HTML_ALIASES.get(_codec_name(declared), declared) if declared else None
    for codec in (declared, "utf-8"):
        if codec:
            try:
                return data.decode(codec)
            except (LookupError, UnicodeDecodeError):
                pass
    try:
        dammit = UnicodeDammit(data, is_html=True, exclude_encodings=["utf-8"])
        markup, guessed = dammit.unicode_markup, dammit.original_encoding
    except (LookupError, ValueError, TypeError):
        markup, guessed = None, None
    if markup is None or (guessed and _codec_name(guessed) in _LATIN_CODEPAGES):
        return data.decode("windows-1252", errors="replace")
    return markup


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding
