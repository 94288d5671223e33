"""Queue and progress queries: which question an annotator gets next, and the counts for the progress page."""

from __future__ import annotations

from typing import Any

from demonstrations.schemas import QuestionRecord
from demonstrations.store.database import Database

# Each question's episodes are found by question id and by question text: two index lookups, where one
# lookup with OR would read every human (or every annotator's) episode per question. The unary + keeps
# SQLite from picking the source index instead.
_HUMAN_NOT_ABANDONED = "+e.source = 'human' AND +e.end_reason IS NOT 'abandoned'"
NEXT_QUESTION_SQL = f"""
    SELECT q.record FROM questions q
    WHERE NOT EXISTS (SELECT 1 FROM episodes e WHERE e.question_id = q.id AND e.annotator = ?1)
    AND NOT EXISTS (SELECT 1 FROM episodes e WHERE e.question = q.question AND e.annotator = ?1)
    ORDER BY (
        SELECT COUNT(*) FROM episodes e WHERE e.question_id = q.id AND {_HUMAN_NOT_ABANDONED}
    ) + (
        SELECT COUNT(*) FROM episodes e
        WHERE e.question = q.question AND +e.question_id IS NOT q.id AND {_HUMAN_NOT_ABANDONED}
    ), q.position
    LIMIT 1
"""


class Progress(Database):
    """Read-only queries over questions, episodes and comparisons together."""

    def next_question(self, annotator: str) -> QuestionRecord | None:
        """The next queued question for ``annotator``: one they have not started yet, preferring the
        questions with the fewest human episodes so far, then queue order."""
        rows = self._read(NEXT_QUESTION_SQL, (annotator,))
        return self._record(QuestionRecord, rows[0][0]) if rows else None

    def progress(self) -> dict[str, Any]:
        """Counts for the progress page.

        ``{"questions": {"total", "with_human_answer"}, "episodes": {"total", "finished", "unfinished",
        "answered", "declined", "abandoned"}, "comparisons": n, "by_source": {source: {...}},
        "by_annotator": {name: {"episodes", "finished", "answered", "declined", "abandoned",
        "comparisons"}}}``; episodes without an annotator count under their source (``model:<model_id>``,
        ``scripted``).
        """
        counts = """COUNT(*), COUNT(end_reason), SUM(has_answer),
                    SUM(end_reason IN ('nonsense', 'controversial')), SUM(end_reason = 'abandoned')"""
        keys = ("episodes", "finished", "answered", "declined", "abandoned")

        def as_dict(values: tuple) -> dict[str, int]:
            return {key: int(value or 0) for key, value in zip(keys, values, strict=True)}

        total = as_dict(self._read(f"SELECT {counts} FROM episodes")[0])
        by_source = {
            row[0]: as_dict(row[1:])
            for row in self._read(f"SELECT source, {counts} FROM episodes GROUP BY source")
        }
        by_annotator: dict[str, dict[str, int]] = {}
        who = "COALESCE(annotator, source || COALESCE(':' || model_id, ''))"
        for row in self._read(f"SELECT {who}, {counts} FROM episodes GROUP BY 1"):
            by_annotator[row[0]] = {**as_dict(row[1:]), "comparisons": 0}
        for name, count in self._read("SELECT annotator, COUNT(*) FROM comparisons GROUP BY annotator"):
            by_annotator.setdefault(name, {**dict.fromkeys(keys, 0), "comparisons": 0})["comparisons"] = count
        answered = "+e.source = 'human' AND +e.has_answer = 1"
        questions = self._read(
            f"""SELECT COUNT(*), SUM(
               EXISTS (SELECT 1 FROM episodes e WHERE e.question_id = q.id AND {answered})
               OR EXISTS (SELECT 1 FROM episodes e WHERE e.question = q.question AND {answered}))
               FROM questions q"""
        )[0]
        return {
            "questions": {"total": questions[0], "with_human_answer": int(questions[1] or 0)},
            "episodes": {
                "total": total["episodes"],
                "finished": total["finished"],
                "unfinished": total["episodes"] - total["finished"],
                "answered": total["answered"],
                "declined": total["declined"],
                "abandoned": total["abandoned"],
            },
            "comparisons": self._read("SELECT COUNT(*) FROM comparisons")[0][0],
            "by_source": by_source,
            "by_annotator": by_annotator,
        }
