"""Decode HTML bytes to text the way browsers do (BOM, declared charset, UTF-8, then detection).

from browser_env.decoding import decode_html
text = decode_html(open("page.html", "rb").read())
"""

from __future__ import annotations

import codecs
import logging

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

# Signatures of files that are often misnamed .html: images, archives, compressed and binary files.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "an executable"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_SNIFF_BYTES = 8192

# UnicodeDammit logs a warning for every page with undecodable bytes; U+FFFD in the text says enough.
logging.getLogger("bs4.dammit").setLevel(logging.ERROR)


def decode_html(data: bytes, encoding: str | None = None) -> str:
    """Decode HTML bytes as browsers do: a BOM, then ``encoding`` (an HTTP charset) or the document's
    ``<meta charset>``, then UTF-8, then detection (``UnicodeDammit``); bad bytes become U+FFFD.

    Undeclared pages in a Latin-script single-byte code page read as windows-1252, the web's default
    (detectors often take it for windows-1250 or ISO-8859-2 on short pages).
    """
    from bs4.dammit import EncodingDetector, UnicodeDammit  # only here: bs4 takes 0.07 s to import

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
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace")
    if declared and _codec_name(declared) != "utf-8":
        try:
            return data.decode(declared, errors="replace")
        except LookupError:
            pass
    try:
        dammit = UnicodeDammit(data, is_html=True, exclude_encodings=["utf-8"])
        markup, guessed = dammit.unicode_markup, dammit.original_encoding
    except (LookupError, ValueError, TypeError):
        markup, guessed = None, None
    if markup is None or (guessed and _codec_name(guessed) in _LATIN_CODEPAGES):
        return data.decode("windows-1252", errors="replace")
    return markup


def binary_kind(data: bytes) -> str | None:
    """What ``data`` is if it is binary rather than text (``"a PNG image"``), else None.

    Binary means a known file signature, or NUL bytes near the start of a file that has no UTF-16/32
    byte order mark and does not look like UTF-16 markup.
    """
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(b"BZh") and data[3:4].isdigit():
        return "bzip2-compressed data"
    head = data[:_SNIFF_BYTES]
    if b"\x00" not in head or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    if head.lstrip(b"\x00 \t\r\n")[:1] == b"<" and head.count(b"\x00") >= len(head) // 3:
        return None  # UTF-16 or UTF-32 markup without a byte order mark
    return "binary data"


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few stray bytes: more valid multi-byte characters than undecodable bytes.

    Text in single-byte code pages (Latin-1, windows-1252) or Shift_JIS almost never forms valid
    UTF-8 sequences, so a page passing this test is UTF-8 damaged in places, not another encoding.
    """
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - data.count("\ufffd".encode())
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return non_ascii - invalid > invalid


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding
