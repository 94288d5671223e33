"""Comparisons of two answers to one question."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

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
