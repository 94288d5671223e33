"""Episodes: headers in ``episodes``, one row per browsing step in ``steps``, quotes in ``quotes``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from demonstrations.schemas import AnswerRecord, EndReason, EpisodeRecord, QuoteRecord, StepRecord, now
from demonstrations.store.database import Database


def _episode_header(episode: EpisodeRecord) -> str:
    """The episode's JSON without steps and quotes, which live in their own tables."""
    return episode.model_dump_json(exclude={"steps", "quotes"})


class Episodes(Database):
    """Episodes written step by step (``start_episode``, ``append_step``, ``finish_episode``) or whole."""

    def start_episode(self, episode: EpisodeRecord) -> str:
        """Store an episode's header (and any steps and quotes it already has). Returns its id."""
        with self._write() as db:
            self._insert_episode(db, episode)
        return episode.id

    def save_episode(self, episode: EpisodeRecord) -> str:
        """Store a whole episode at once, replacing any stored episode with the same id."""
        with self._write() as db:
            db.execute("DELETE FROM episodes WHERE id = ?", (episode.id,))
            self._insert_episode(db, episode)
        return episode.id

    def _insert_episode(self, db: sqlite3.Connection, episode: EpisodeRecord) -> None:
        try:
            db.execute(
                """INSERT INTO episodes (id, question, question_id, source, annotator, model_id, corpus,
                   end_reason, has_answer, created_at, finished_at, record)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    episode.id,
                    episode.question,
                    episode.metadata.get("question_id"),
                    episode.source,
                    episode.annotator,
                    episode.model_id,
                    episode.corpus,
                    episode.end_reason,
                    int(episode.answer is not None),
                    episode.created_at.isoformat(),
                    episode.finished_at.isoformat() if episode.finished_at else None,
                    _episode_header(episode),
                ),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"episode {episode.id} is already stored") from None
        for step in episode.steps:
            self._insert_step(db, episode.id, step)
        self._insert_quotes(db, episode.id, episode.quotes)

    def _insert_step(self, db: sqlite3.Connection, episode_id: str, step: StepRecord) -> None:
        db.execute(
            "INSERT INTO steps (episode_id, idx, command, valid, record) VALUES (?, ?, ?, ?, ?)",
            (episode_id, step.index, step.command, int(step.valid), step.model_dump_json()),
        )

    def _insert_quotes(self, db: sqlite3.Connection, episode_id: str, quotes: list[QuoteRecord]) -> None:
        db.executemany(
            "INSERT INTO quotes (episode_id, idx, url, record) VALUES (?, ?, ?, ?)",
            [(episode_id, i, quote.url, quote.model_dump_json()) for i, quote in enumerate(quotes)],
        )

    @staticmethod
    def _open_step_count(db: sqlite3.Connection, episode_id: str, finished_means: str) -> int:
        """How many steps an unfinished episode has; ``KeyError`` if there is no such episode,
        ``ValueError`` (ending with ``finished_means``) if it is finished."""
        row = db.execute(
            "SELECT end_reason, (SELECT COUNT(*) FROM steps WHERE episode_id = ?) FROM episodes WHERE id = ?",
            (episode_id, episode_id),
        ).fetchone()
        if row is None:
            raise KeyError(episode_id)
        end_reason, count = row
        if end_reason is not None:
            raise ValueError(f"episode {episode_id} is finished ({end_reason}); {finished_means}")
        return int(count)

    def append_step(self, episode_id: str, step: StepRecord) -> None:
        """Add one step and commit it. Its index must be the next one; finished episodes take no steps."""
        with self._write() as db:
            count = self._open_step_count(db, episode_id, "it takes no more steps")
            if step.index != count:
                raise ValueError(
                    f"episode {episode_id} has {count} steps; the next step's index must be {count}"
                )
            self._insert_step(db, episode_id, step)

    def remove_last_step(self, episode_id: str, index: int) -> None:
        """Delete the step ``index`` of an unfinished episode if it is the last one (undo): the episode is
        then as if the step had never been taken. ``KeyError`` for no such episode, ``ValueError`` if
        the episode is finished or ``index`` is not its last step."""
        with self._write() as db:
            count = self._open_step_count(db, episode_id, "its steps cannot change")
            if count == 0 or index != count - 1:
                raise ValueError(f"episode {episode_id} has {count} steps; step {index} is not its last")
            db.execute("DELETE FROM steps WHERE episode_id = ? AND idx = ?", (episode_id, index))

    def finish_episode(
        self,
        episode_id: str,
        *,
        quotes: list[QuoteRecord],
        answer: AnswerRecord | None,
        end_reason: EndReason,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Record how an episode ended: its quotes, its answer (if any) and the reason; ``metadata`` is
        merged into the episode's metadata."""
        with self._write() as db:
            row = db.execute("SELECT record, end_reason FROM episodes WHERE id = ?", (episode_id,)).fetchone()
            if row is None:
                raise KeyError(episode_id)
            if row[1] is not None:
                raise ValueError(f"episode {episode_id} is already finished ({row[1]})")
            header = EpisodeRecord.model_validate_json(row[0])
            update: dict[str, Any] = {"answer": answer, "end_reason": end_reason, "finished_at": now()}
            if metadata:
                update["metadata"] = {**header.metadata, **metadata}
            finished = EpisodeRecord.model_validate({**dict(header), **update})  # validates the new fields
            db.execute("DELETE FROM quotes WHERE episode_id = ?", (episode_id,))
            self._insert_quotes(db, episode_id, quotes)
            db.execute(
                "UPDATE episodes SET end_reason = ?, has_answer = ?, finished_at = ?, record = ?"
                " WHERE id = ?",
                (
                    end_reason,
                    int(answer is not None),
                    finished.finished_at.isoformat() if finished.finished_at else None,
                    _episode_header(finished),
                    episode_id,
                ),
            )

    def get_episode(self, episode_id: str) -> EpisodeRecord:
        """The whole episode with its steps and quotes; ``KeyError`` if there is none."""
        with self._snapshot() as db:  # the header, steps and quotes as of one moment
            return self._load_episode(db, episode_id)

    def _load_episode(self, db: sqlite3.Connection, episode_id: str) -> EpisodeRecord:
        row = db.execute("SELECT record FROM episodes WHERE id = ?", (episode_id,)).fetchone()
        if row is None:
            raise KeyError(episode_id)
        data = json.loads(row[0])
        data["steps"] = [
            json.loads(r[0])
            for r in db.execute("SELECT record FROM steps WHERE episode_id = ? ORDER BY idx", (episode_id,))
        ]
        data["quotes"] = [
            json.loads(r[0])
            for r in db.execute("SELECT record FROM quotes WHERE episode_id = ? ORDER BY idx", (episode_id,))
        ]
        return EpisodeRecord.model_validate(data)

    def episode_owner(self, episode_id: str) -> tuple[str, str | None]:
        """``(source, annotator)`` of a stored episode, without loading its steps; ``KeyError`` if none."""
        rows = self._read("SELECT source, annotator FROM episodes WHERE id = ?", (episode_id,))
        if not rows:
            raise KeyError(episode_id)
        return rows[0][0], rows[0][1]

    def step_count(self, episode_id: str) -> int:
        return self._read("SELECT COUNT(*) FROM steps WHERE episode_id = ?", (episode_id,))[0][0]

    def episode_ids(
        self,
        *,
        source: str | None = None,
        finished: bool | None = None,
        annotator: str | None = None,
        question: str | None = None,
        with_answer: bool | None = None,
    ) -> list[str]:
        """Ids of the stored episodes matching every given filter, oldest first."""
        where, params = [], []
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if finished is not None:
            where.append("end_reason IS NOT NULL" if finished else "end_reason IS NULL")
        if annotator is not None:
            where.append("annotator = ?")
            params.append(annotator)
        if question is not None:
            where.append("question = ?")
            params.append(question)
        if with_answer is not None:
            where.append("has_answer = ?")
            params.append(int(with_answer))
        sql = (
            "SELECT id FROM episodes"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY position"
        )
        return [row[0] for row in self._read(sql, params)]

    def episode_summaries(
        self, *, limit: int | None = None, newest_first: bool = False, **filters: Any
    ) -> list[dict[str, Any]]:
        """Header fields of the episodes matching ``filters`` (as in ``episode_ids``), without loading
        their steps: id, question, source, annotator, model_id, corpus, end_reason, has_answer, steps,
        created_at, finished_at."""
        ids = self.episode_ids(**filters)
        if newest_first:
            ids.reverse()
        if limit is not None:
            ids = ids[:limit]
        columns = ("id", "question", "source", "annotator", "model_id", "corpus", "end_reason", "has_answer")
        names = (*columns, "steps", "created_at", "finished_at")
        summaries: list[dict[str, Any]] = []
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            marks = ", ".join("?" * len(chunk))
            rows = self._read(
                f"""SELECT {", ".join(columns)}, (SELECT COUNT(*) FROM steps s WHERE s.episode_id = e.id),
                    created_at, finished_at FROM episodes e WHERE id IN ({marks})""",
                chunk,
            )
            found = {row[0]: dict(zip(names, row, strict=True)) for row in rows}
            summaries += [found[i] for i in chunk if i in found]
        for summary in summaries:
            summary["has_answer"] = bool(summary["has_answer"])
        return summaries

    def iter_episodes(
        self, *, source: str | None = None, finished: bool | None = None
    ) -> Iterator[EpisodeRecord]:
        """Every stored episode (filtered by source and by whether it is finished), oldest first."""
        for episode_id in self.episode_ids(source=source, finished=finished):
            try:
                yield self.get_episode(episode_id)
            except KeyError:  # deleted meanwhile by another writer
                continue

    def delete_episode(self, episode_id: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM episodes WHERE id = ?", (episode_id,)).rowcount == 0:
                raise KeyError(episode_id)
