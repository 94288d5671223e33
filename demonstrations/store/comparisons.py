"""Comparisons of two answers to one question."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

from demonstrations.schemas import ComparisonRecord
from demonstrations.store.database import Database


class Comparisons(Database):
    """Stored comparisons, oldest first."""

    def add_comparison(self, comparison: ComparisonRecord) -> str:
        with self._write() as db:
            try:
                db.execute(
                    """INSERT INTO comparisons (id, question, episode_a, episode_b, preference, annotator,
                       source, created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        comparison.id,
                        comparison.question,
                        comparison.answer_a.episode_id,
                        comparison.answer_b.episode_id,
                        comparison.preference,
                        comparison.annotator,
                        comparison.source,
                        comparison.created_at.isoformat(),
                        comparison.model_dump_json(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"comparison {comparison.id} is already stored") from None
        return comparison.id

    def get_comparison(self, comparison_id: str) -> ComparisonRecord:
        rows = self._read("SELECT record FROM comparisons WHERE id = ?", (comparison_id,))
        if not rows:
            raise KeyError(comparison_id)
        return ComparisonRecord.model_validate_json(rows[0][0])

    def iter_comparisons(self) -> Iterator[ComparisonRecord]:
        for (record,) in self._read("SELECT record FROM comparisons ORDER BY position"):
            yield ComparisonRecord.model_validate_json(record)

    def compared_pairs(self, annotator: str | None = None) -> set[frozenset[str]]:
        """The pairs of episode ids already compared (by ``annotator``, or by anyone)."""
        sql = (
            "SELECT episode_a, episode_b FROM comparisons"
            " WHERE episode_a IS NOT NULL AND episode_b IS NOT NULL"
        )
        params: tuple = ()
        if annotator is not None:
            sql += " AND annotator = ?"
            params = (annotator,)
        return {frozenset(row) for row in self._read(sql, params)}

    def queue_pair(self, episode_a: str, episode_b: str, source: str = "model") -> bool:
        """Queue two finished, answered episodes of one question for people to compare (the compare
        page offers queued pairs first). False if the pair is already queued."""
        if episode_a == episode_b:
            raise ValueError("a pair needs two different episodes")
        with self._write() as db:
            rows = db.execute(
                "SELECT id, question, has_answer FROM episodes WHERE id IN (?, ?)", (episode_a, episode_b)
            ).fetchall()
            if len(rows) != 2:
                found = {row[0] for row in rows}
                raise KeyError(next(i for i in (episode_a, episode_b) if i not in found))
            if rows[0][1] != rows[1][1]:
                raise ValueError("both episodes must answer the same question")
            if not (rows[0][2] and rows[1][2]):
                raise ValueError("both episodes must have an answer")
            first, second = sorted((episode_a, episode_b))
            cursor = db.execute(
                """INSERT OR IGNORE INTO comparison_queue (question, episode_a, episode_b, source, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (rows[0][1], first, second, source, datetime.now(UTC).isoformat()),
            )
            return cursor.rowcount == 1

    def queued_pairs(self) -> list[tuple[str, str]]:
        """The queued pairs of episode ids, oldest first."""
        return [
            (a, b)
            for a, b in self._read("SELECT episode_a, episode_b FROM comparison_queue ORDER BY position")
        ]

    def comparison_counts(self) -> dict[frozenset[str], int]:
        """How many comparisons each pair of episodes has (pairs with none are absent)."""
        counts: dict[frozenset[str], int] = {}
        for a, b in self._read(
            "SELECT episode_a, episode_b FROM comparisons"
            " WHERE episode_a IS NOT NULL AND episode_b IS NOT NULL"
        ):
            key = frozenset((a, b))
            counts[key] = counts.get(key, 0) + 1
        return counts
