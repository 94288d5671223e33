"""Where the project keeps its data: ``$WEBGPT_HOME``, or a per-user cache folder."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


class HomeError(Exception):
    """The data folder cannot be used (``$WEBGPT_HOME`` is a file, or cannot be created)."""


def webgpt_home() -> Path:
    """The data folder: corpora, converted models, the demonstrations store."""
    configured = os.environ.get("WEBGPT_HOME")
    home = Path(configured or user_cache_dir("webgpt"))
    return _folder(home, "WEBGPT_HOME" if configured else "the data folder")


def corpora_dir() -> Path:
    return _folder(webgpt_home() / "corpora", "the corpora folder")


def _folder(path: Path, name: str) -> Path:
    """``path``, created if missing; ``HomeError`` saying what to do if it is a file or not writable."""
    fix = "set WEBGPT_HOME to a folder you can write to"
    if path.exists() and not path.is_dir():
        raise HomeError(f"{name} ({path}) is a file, not a folder; move the file away or {fix}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HomeError(f"{name} ({path}) cannot be created: {error.strerror or error}; {fix}") from None
    return path
