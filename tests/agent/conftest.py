"""Tiny real models (random weights, a byte-level BPE tokenizer trained here) and a tiny web."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import PAGES, html

from browser_env.docstore import Document


@pytest.fixture(scope="session")
def html_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    for name, (title, body) in PAGES.items():
        (folder / name).write_text(html(title, body), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def documents() -> list[Document]:
    return [
        Document(f"https://example.org/{name}", title, html(title, body), "html")
        for name, (title, body) in PAGES.items()
    ]


@pytest.fixture(scope="session")
def tiny_corpus(html_folder: Path):
    """A corpus built from the HTML folder, BM25 only."""
    from browser_env.corpus import build_corpus

    return build_corpus("tiny-agent", [str(html_folder)], dense=False, show_progress=False)


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The default model, converted from its GGUF once per test session (~20 s)."""
    from agent.models import DEFAULT_MODEL_ID, resolve_checkpoint

    return Path(resolve_checkpoint(DEFAULT_MODEL_ID))
