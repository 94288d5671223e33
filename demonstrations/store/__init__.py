"""The durable store for demonstrations and comparisons: one SQLite file in WAL mode.

Every browsing step is its own committed row, written when it happens, so a killed recorder loses at
most the request in flight. Several processes and threads may write at once: each thread has its own
connection, writes take the write lock up front (``BEGIN IMMEDIATE``) and wait up to ``busy_timeout``
for it.

Records are kept as the JSON of their pydantic models next to indexed columns for queries. The schema
version lives in ``PRAGMA user_version``; ``_MIGRATIONS[n]`` upgrades a database from version n to n+1.

    store = EpisodeStore()                       # $WEBGPT_HOME/demonstrations.sqlite
    episode_id = store.start_episode(EpisodeRecord(question="...", source="human"))
    store.append_step(episode_id, StepRecord(index=0, observation="...", command="Search x"))
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from browser_env.home import webgpt_home
from demonstrations.schemas import (
    AnswerRecord,
    ComparisonRecord,
    EndReason,
    EpisodeRecord,
    QuestionRecord,
    QuoteRecord,
    StepRecord,
    now,
)

BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """The database cannot be used (not a database, corrupt, or from a newer version)."""


def default_store_path() -> Path:
    return webgpt_home() / "demonstrations.sqlite"


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run ;-separated statements inside the caller's transaction (``executescript`` would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    _run_script(
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


# _MIGRATIONS[n] takes a database at user_version n to n + 1. Add a migration by appending a function.
_MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1]
SCHEMA_VERSION = len(_MIGRATIONS)


def _episode_header(episode: EpisodeRecord) -> str:
    """The episode's JSON without steps and quotes, which live in their own tables."""
    return episode.model_dump_json(exclude={"steps", "quotes"})


class EpisodeStore:
    """Questions, episodes (with their steps and quotes) and comparisons in one SQLite file."""

    def __init__(self, path: str | Path | None = None, *, durable: bool = True) -> None:
        """``durable`` makes every commit wait for the disk (``synchronous=FULL``, a few ms each), so it
        survives power loss; without it commits still survive a killed process and are faster in bulk."""
        self.path = Path(path) if path is not None else default_store_path()
        self.durable = durable
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        self._migrate()

    # ---------------------------------------------------------------- connections and transactions

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            db.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
            db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as error:
            raise self._unusable(error) from None
        if str(mode).lower() != "wal":
            db.close()
            raise StoreError(f"{self.path}: could not switch the database to WAL mode (got {mode!r})")
        return db

    def _unusable(self, error: Exception) -> StoreError:
        return StoreError(
            f"{self.path} is not a usable demonstrations database ({error}). "
            "Restore it from a backup or move it away to start a new one."
        )

    @property
    def _db(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its start (no lock upgrades, no deadlocks)."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as error:
            raise self._translate(error) from None
        try:
            yield db
        except BaseException as error:
            db.execute("ROLLBACK")
            if isinstance(error, sqlite3.DatabaseError):
                raise self._translate(error) from None
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.DatabaseError as error:
                db.execute("ROLLBACK")
                raise self._translate(error) from None

    def _translate(self, error: sqlite3.DatabaseError) -> Exception:
        """A clear ``StoreError`` for a locked or damaged file; programming errors pass through."""
        if isinstance(error, sqlite3.OperationalError):
            if "locked" in str(error) or "busy" in str(error):
                return StoreError(f"{self.path}: the database stayed locked for too long ({error})")
            return error
        return self._unusable(error)

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as error:
            raise self._translate(error) from None

    def _migrate(self) -> None:
        with self._write() as db:
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} was written by a newer version (schema {version}, this one reads "
                        f"up to {SCHEMA_VERSION}); upgrade the package to open it."
                    )
                for step in range(version, SCHEMA_VERSION):
                    _MIGRATIONS[step](db)
                    db.execute(f"PRAGMA user_version = {step + 1}")
            except sqlite3.DatabaseError as error:
                raise self._translate(error) from None

    @property
    def schema_version(self) -> int:
        return self._read("PRAGMA user_version")[0][0]

    def close(self) -> None:
        """Close every thread's connection. The store cannot be used afterwards."""
        self._closed = True
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> EpisodeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- questions

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
        return [QuestionRecord.model_validate_json(row[0]) for row in rows]

    def get_question(self, question_id: str) -> QuestionRecord:
        rows = self._read("SELECT record FROM questions WHERE id = ?", (question_id,))
        if not rows:
            raise KeyError(question_id)
        return QuestionRecord.model_validate_json(rows[0][0])

    def next_question(self, annotator: str) -> QuestionRecord | None:
        """The next queued question for ``annotator``: one they have not started yet, preferring the
        questions with the fewest human episodes so far, then queue order."""
        rows = self._read(
            """
            SELECT q.record FROM questions q
            WHERE NOT EXISTS (
                SELECT 1 FROM episodes e
                WHERE e.annotator = ? AND (e.question_id = q.id OR e.question = q.question)
            )
            ORDER BY (
                SELECT COUNT(*) FROM episodes e
                WHERE e.source = 'human' AND (e.question_id = q.id OR e.question = q.question)
                AND (e.end_reason IS NULL OR e.end_reason != 'abandoned')
            ), q.position
            LIMIT 1
            """,
            (annotator,),
        )
        return QuestionRecord.model_validate_json(rows[0][0]) if rows else None

    # ---------------------------------------------------------------- episodes

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

    def append_step(self, episode_id: str, step: StepRecord) -> None:
        """Add one step and commit it. Its index must be the next one; finished episodes take no steps."""
        with self._write() as db:
            row = db.execute(
                "SELECT end_reason, (SELECT COUNT(*) FROM steps WHERE episode_id = ?)"
                " FROM episodes WHERE id = ?",
                (episode_id, episode_id),
            ).fetchone()
            if row is None:
                raise KeyError(episode_id)
            end_reason, count = row
            if end_reason is not None:
                raise ValueError(f"episode {episode_id} is finished ({end_reason}); it takes no more steps")
            if step.index != count:
                raise ValueError(
                    f"episode {episode_id} has {count} steps; the next step's index must be {count}"
                )
            self._insert_step(db, episode_id, step)

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
            finished = header.model_copy(update=update)
            finished = EpisodeRecord.model_validate(finished.model_dump())  # validates end_reason and answer
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
        db = self._db
        try:
            # One read transaction so the header, steps and quotes are a consistent snapshot.
            db.execute("BEGIN")
            try:
                return self._load_episode(db, episode_id)
            finally:
                db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise self._translate(error) from None

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

    # ---------------------------------------------------------------- comparisons

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

    # ---------------------------------------------------------------- progress

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
        questions = self._read(
            """SELECT COUNT(*), SUM(EXISTS (SELECT 1 FROM episodes e WHERE e.source = 'human'
               AND e.has_answer = 1 AND (e.question_id = q.id OR e.question = q.question)))
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
