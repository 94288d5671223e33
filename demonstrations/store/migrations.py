"""Schema migrations: ``MIGRATIONS[n]`` takes a database at ``PRAGMA user_version`` n to n + 1.

Add a migration by appending a function; each runs inside the caller's write transaction, so a
migration that fails part-way leaves the database as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator


def split_statements(script: str) -> Iterator[str]:
    """The SQL statements of ``script``, each whole: a ``;`` inside a string literal, a comment or a
    trigger body does not end a statement."""
    pending = ""
    pieces = script.split(";")
    for number, piece in enumerate(pieces):
        pending += piece if number == len(pieces) - 1 else piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.rstrip(" \t\r\n;"):
                yield pending
            pending = ""
    if pending.strip():
        if not sqlite3.complete_statement(pending + ";"):
            raise ValueError(f"incomplete SQL statement at the end of a script: {pending.strip()!r}")
        yield pending


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Run every statement of ``script`` inside the caller's transaction (``executescript`` would commit)."""
    for statement in split_statements(script):
        db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE questions (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            question TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL DEFAULT '',
            record TEXT NOT NULL,
            added_at TEXT NOT NULL
        );
        CREATE TABLE episodes (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            question TEXT NOT NULL,
            question_id TEXT,
            source TEXT NOT NULL,
            annotator TEXT,
            model_id TEXT,
            corpus TEXT,
            end_reason TEXT,
            has_answer INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            record TEXT NOT NULL
        );
        CREATE INDEX episodes_question ON episodes (question);
        CREATE INDEX episodes_question_id ON episodes (question_id);
        CREATE INDEX episodes_source ON episodes (source, end_reason);
        CREATE INDEX episodes_annotator ON episodes (annotator);
        CREATE TABLE steps (
            episode_id TEXT NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            command TEXT NOT NULL,
            valid INTEGER NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (episode_id, idx)
        ) WITHOUT ROWID;
        CREATE TABLE quotes (
            episode_id TEXT NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            url TEXT NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (episode_id, idx)
        ) WITHOUT ROWID;
        CREATE TABLE comparisons (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            question TEXT NOT NULL,
            episode_a TEXT,
            episode_b TEXT,
            preference TEXT NOT NULL,
            annotator TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            record TEXT NOT NULL
        );
        CREATE INDEX comparisons_question ON comparisons (question);
        CREATE INDEX comparisons_annotator ON comparisons (annotator);
        """,
    )


def _migration_2(db: sqlite3.Connection) -> None:
    """Per-question lookups for the queue (``next_question``): by question (id or text), then annotator.
    The new indexes start with the old single-column ones, which they replace."""
    run_script(
        db,
        """
        CREATE INDEX episodes_question_id_annotator ON episodes (question_id, annotator);
        CREATE INDEX episodes_question_annotator ON episodes (question, annotator);
        DROP INDEX episodes_question_id;
        DROP INDEX episodes_question;
        """,
    )


def _migration_3(db: sqlite3.Connection) -> None:
    """Pairs of answers queued for people to compare (``webgpt demos queue-comparisons``), offered
    before any other pair."""
    run_script(
        db,
        """
        CREATE TABLE comparison_queue (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            question TEXT NOT NULL,
            episode_a TEXT NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            episode_b TEXT NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (episode_a, episode_b)
        );
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1, _migration_2, _migration_3]
SCHEMA_VERSION = len(MIGRATIONS)
