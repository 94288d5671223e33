"""Fixtures only the agent tests use (the shared tiny models and web are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The default model, converted from its GGUF once per test session (~20 s)."""
    from agent.models import DEFAULT_MODEL_ID, resolve_checkpoint

    return Path(resolve_checkpoint(DEFAULT_MODEL_ID))
