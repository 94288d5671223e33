"""The durable store for demonstrations and comparisons: one SQLite file in WAL mode.

Every browsing step is its own committed row, written when it happens, so a killed recorder loses at
most the request in flight. Several processes and threads may write at once: each thread has its own
connection, writes take the write lock up front (``BEGIN IMMEDIATE``) and wait up to ``busy_timeout``
for it.

Records are kept as the JSON of their pydantic models next to indexed columns for queries. The schema
version lives in ``PRAGMA user_version``; ``migrations.MIGRATIONS[n]`` upgrades it from version n to n+1.

    store = EpisodeStore()                       # $WEBGPT_HOME/demonstrations.sqlite
    episode_id = store.start_episode(EpisodeRecord(question="...", source="human"))
    store.append_step(episode_id, StepRecord(index=0, observation="...", command="Search x"))
"""

from __future__ import annotations

from demonstrations.store.comparisons import Comparisons
from demonstrations.store.database import BUSY_TIMEOUT_MS, StoreError, default_store_path
from demonstrations.store.episodes import Episodes
from demonstrations.store.migrations import SCHEMA_VERSION
from demonstrations.store.progress import Progress
from demonstrations.store.questions import Questions

__all__ = ["BUSY_TIMEOUT_MS", "SCHEMA_VERSION", "EpisodeStore", "StoreError", "default_store_path"]


class EpisodeStore(Questions, Episodes, Comparisons, Progress):
    """Questions, episodes (with their steps and quotes) and comparisons in one SQLite file."""

    def __enter__(self) -> EpisodeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
