"""The question queue's contents: adding, listing and reading queued questions."""

from __future__ import annotations

from collections.abc import Iterable

from demonstrations.schemas import QuestionRecord, now
from demonstrations.store.database import Database


class Questions(Database):
    """Queued questions, in queue order."""

    def add_questions(self, questions: Iterable[QuestionRecord]) -> int:
        """Queue questions; ones already queued (same id or text) are skipped. Returns how many were added."""
        added = 0
        stamp = now().isoformat()
        with self._write() as db:
            for question in questions:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO questions (id, question, source, record, added_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (question.id, question.question, question.source, question.model_dump_json(), stamp),
                )
                added += cursor.rowcount
        return added

    def list_questions(self) -> list[QuestionRecord]:
        rows = self._read("SELECT record FROM questions ORDER BY position")
        return [self._record(QuestionRecord, row[0]) for row in rows]

    def get_question(self, question_id: str) -> QuestionRecord:
        rows = self._read("SELECT record FROM questions WHERE id = ?", (question_id,))
        if not rows:
            raise KeyError(question_id)
        return self._record(QuestionRecord, rows[0][0])
