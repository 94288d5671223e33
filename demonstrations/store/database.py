"""Connections and transactions: one connection per thread, write transactions that take the write lock
up front, and the schema upgrade when a store is opened."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from browser_env.home import webgpt_home
from demonstrations.store import migrations

BUSY_TIMEOUT_MS = 30_000
_Record = TypeVar("_Record", bound=BaseModel)
FILE_MODE = 0o600  # a new database file (and its -wal and -shm files, which copy its mode)


class StoreError(Exception):
    """The database cannot be used (not a database, corrupt, or from a newer version)."""


def default_store_path() -> Path:
    return webgpt_home() / "demonstrations.sqlite"


class Database:
    """The SQLite file behind ``EpisodeStore``: connections, transactions and migrations."""

    def __init__(self, path: str | Path | None = None, *, durable: bool = True) -> None:
        """``durable`` makes every commit wait for the disk (``synchronous=FULL``, a few ms each), so it
        survives power loss; without it commits still survive a killed process and are faster in bulk."""
        self.path = Path(path) if path is not None else default_store_path()
        self.durable = durable
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create_file()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        self._migrate()

    def _create_file(self) -> None:
        """Create a missing database file with ``FILE_MODE`` (SQLite would create it world-readable)."""
        try:
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
        except FileExistsError:
            pass
        except OSError as error:
            raise StoreError(f"{self.path}: cannot create the database ({error})") from None

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

    def _unusable(self, error: Exception | str) -> StoreError:
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

    def _rollback(self, db: sqlite3.Connection) -> None:
        """Roll back what is left of a failed transaction; the caller re-raises the error that failed it.

        SQLite has already rolled back after some errors (a full disk, ``RAISE(ROLLBACK)``); a connection
        that cannot roll back is dropped, so this thread's next call starts on a fresh one."""
        if not db.in_transaction:
            return
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            self._local.db = None
            with self._connections_lock:
                if db in self._connections:
                    self._connections.remove(db)
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its start (no lock upgrades, no deadlocks)."""
        with self._transaction("BEGIN IMMEDIATE") as db:
            yield db

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside it sees the same committed state."""
        with self._transaction("BEGIN") as db:
            yield db

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        db = self._db
        try:
            db.execute(begin)
        except sqlite3.DatabaseError as error:
            raise self._translate(error) from None
        try:
            yield db
        except BaseException as error:
            self._rollback(db)
            if isinstance(error, sqlite3.DatabaseError):
                raise self._translate(error) from None
            if begin == "BEGIN" and isinstance(error, json.JSONDecodeError | ValidationError):
                raise self._damaged_record(error) from None  # a read decodes only what was stored
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            self._rollback(db)
            raise self._translate(error) from None

    def _translate(self, error: sqlite3.DatabaseError) -> Exception:
        """A clear ``StoreError`` for a locked or damaged file; programming errors pass through."""
        if isinstance(error, sqlite3.OperationalError):
            if "locked" in str(error) or "busy" in str(error):
                return StoreError(f"{self.path}: the database stayed locked for too long ({error})")
            if "decode" in str(error):  # text that is not UTF-8: the bytes of a row were damaged
                return self._damaged_record("text that is not UTF-8")
            return error
        return self._unusable(error)

    def _damaged_record(self, error: Exception | str) -> StoreError:
        if isinstance(error, ValidationError) and error.errors():
            detail = f"{error.title}: {error.errors()[0]['msg']}"
        else:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        if len(detail) > 200:
            detail = detail[:199] + "…"
        return self._unusable(f"a stored record is damaged: {detail}")

    def _record(self, model: type[_Record], text: str) -> _Record:
        """A stored record's JSON as ``model``; ``StoreError`` if the stored text is damaged."""
        try:
            return model.model_validate_json(text)
        except ValidationError as error:
            raise self._damaged_record(error) from None

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as error:
            raise self._translate(error) from None

    def _migrate(self) -> None:
        latest = migrations.SCHEMA_VERSION
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > latest:
                raise StoreError(
                    f"{self.path} was written by a newer version (schema {version}, this one reads "
                    f"up to {latest}); upgrade the package to open it."
                )
            for step in range(version, latest):
                migrations.MIGRATIONS[step](db)
                db.execute(f"PRAGMA user_version = {step + 1}")

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
