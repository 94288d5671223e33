"""The episode store: round trips, queue order, migrations, corrupt files, concurrent writers."""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from demonstrations.schemas import (
    AnswerRecord,
    ComparedAnswer,
    ComparisonRecord,
    EpisodeRecord,
    QuestionRecord,
    QuoteRecord,
    Ratings,
    StepRecord,
)
from demonstrations.store import EpisodeStore, StoreError, migrations
from webgpt_cli.app import app as cli


@pytest.fixture
def store(tmp_path: Path):
    with EpisodeStore(tmp_path / "demos.sqlite") as opened:
        yield opened


def episode(question: str = "Who wrote Hamlet?", source: str = "human", **fields) -> EpisodeRecord:
    return EpisodeRecord(question=question, source=source, **fields)  # type: ignore[arg-type]


def step(index: int, command: str = "Scrolled down 1") -> StepRecord:
    return StepRecord(index=index, observation=f"observation {index}", command=command)


QUOTE = QuoteRecord(
    url="https://a.org/x", title="X", domain="a.org", text="Shakespeare wrote it.", start=3, end=24
)


def test_default_path_is_under_webgpt_home(webgpt_home: Path) -> None:
    with EpisodeStore() as default:
        assert default.path == webgpt_home / "demonstrations.sqlite"
        assert default.path.exists()


def test_wal_mode_and_schema_version(store: EpisodeStore) -> None:
    other = sqlite3.connect(store.path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = other.execute("PRAGMA user_version").fetchone()[0]
    assert version == migrations.SCHEMA_VERSION == len(migrations.MIGRATIONS) >= 3
    tables = {row[0] for row in other.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"questions", "episodes", "steps", "quotes", "comparisons"} <= tables
    other.close()
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: commits wait for the disk
    with EpisodeStore(store.path, durable=False) as fast:
        assert fast._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: still crash-safe in WAL


def test_episode_round_trip_step_by_step(store: EpisodeStore) -> None:
    record = episode(
        annotator="ann", corpus="tiny", env_config={"max_actions": 5}, gold_answers=["Shakespeare"]
    )
    assert store.start_episode(record) == record.id
    for index in range(3):
        store.append_step(record.id, step(index))
        assert store.step_count(record.id) == index + 1
    unfinished = store.get_episode(record.id)
    assert [s.observation for s in unfinished.steps] == ["observation 0", "observation 1", "observation 2"]
    assert not unfinished.finished and unfinished.finished_at is None
    answer = AnswerRecord(text="Shakespeare [1].", citations=[1])
    store.finish_episode(record.id, quotes=[QUOTE], answer=answer, end_reason="answer", metadata={"k": "v"})
    done = store.get_episode(record.id)
    assert done.end_reason == "answer" and done.answer == answer and done.quotes == [QUOTE]
    assert done.finished_at is not None and done.metadata == {"k": "v"}
    assert done.steps == unfinished.steps
    assert done.model_dump(exclude={"end_reason", "answer", "quotes", "finished_at", "metadata"}) == (
        record.model_copy(update={"steps": unfinished.steps}).model_dump(
            exclude={"end_reason", "answer", "quotes", "finished_at", "metadata"}
        )
    )


def test_step_rules(store: EpisodeStore) -> None:
    record = episode()
    store.start_episode(record)
    with pytest.raises(ValueError, match="index must be 0"):
        store.append_step(record.id, step(1))
    store.append_step(record.id, step(0))
    with pytest.raises(ValueError, match="index must be 1"):
        store.append_step(record.id, step(0))
    with pytest.raises(KeyError):
        store.append_step("missing", step(0))
    store.finish_episode(record.id, quotes=[], answer=None, end_reason="nonsense")
    with pytest.raises(ValueError, match="finished"):
        store.append_step(record.id, step(1))
    with pytest.raises(ValueError, match="already finished"):
        store.finish_episode(record.id, quotes=[], answer=None, end_reason="abandoned")
    with pytest.raises(ValueError, match="already stored"):
        store.start_episode(record)
    assert store.step_count(record.id) == 1  # the failed calls changed nothing


def test_save_episode_whole_and_replace(store: EpisodeStore) -> None:
    record = episode(
        source="model",
        model_id="smollm2",
        steps=[step(0, "Search hamlet"), step(1, "End: Answer")],
        quotes=[QUOTE],
        answer=AnswerRecord(text="It was Shakespeare [1].", citations=[1]),
        end_reason="answer",
    )
    store.save_episode(record)
    assert store.get_episode(record.id) == record
    shorter = record.model_copy(update={"steps": record.steps[:1]})
    store.save_episode(shorter)
    assert store.get_episode(record.id).steps == shorter.steps
    with pytest.raises(KeyError):
        store.get_episode("nope")


def test_iter_episodes_filters_and_summaries(store: EpisodeStore) -> None:
    human = episode(annotator="ann")
    scripted = episode(
        source="scripted", steps=[step(0)], end_reason="answer", answer=AnswerRecord(text="a [1]")
    )
    store.start_episode(human)
    store.save_episode(scripted)
    assert [e.id for e in store.iter_episodes()] == [human.id, scripted.id]
    assert [e.id for e in store.iter_episodes(source="scripted")] == [scripted.id]
    assert [e.id for e in store.iter_episodes(finished=False)] == [human.id]
    assert [e.id for e in store.iter_episodes(finished=True, source="human")] == []
    summary = store.episode_summaries(with_answer=True)
    assert len(summary) == 1 and summary[0]["id"] == scripted.id and summary[0]["steps"] == 1
    assert summary[0]["has_answer"] is True
    assert [s["id"] for s in store.episode_summaries(newest_first=True, limit=1)] == [scripted.id]


def test_questions_queue(store: EpisodeStore) -> None:
    questions = [
        QuestionRecord(id=f"q{i}", question=f"Question {i}?", gold_answers=[str(i)]) for i in range(3)
    ]
    assert store.add_questions(questions) == 3
    assert store.add_questions(questions) == 0  # same ids
    assert store.add_questions([QuestionRecord(question="Question 1?")]) == 0  # same text
    assert store.list_questions() == questions
    assert store.get_question("q2") == questions[2]
    assert store.next_question("ann") == questions[0]
    store.start_episode(episode("Question 0?", annotator="ann", metadata={"question_id": "q0"}))
    # ann has started q0; bob gets q1 first because q0 already has a human episode.
    assert store.next_question("ann") == questions[1]
    assert store.next_question("bob") == questions[1]
    store.start_episode(episode("Question 1?", annotator="ann"))  # matched by text
    store.start_episode(episode("Question 2?", annotator="ann"))
    assert store.next_question("ann") is None
    assert store.next_question("bob") == questions[0]


def _expected_next(questions: list[QuestionRecord], episodes: list[EpisodeRecord], annotator: str):
    """``next_question`` spelled out in Python."""

    def about(e: EpisodeRecord, q: QuestionRecord) -> bool:
        return e.metadata.get("question_id") == q.id or e.question == q.question

    open_questions = [
        q for q in questions if not any(e.annotator == annotator and about(e, q) for e in episodes)
    ]
    if not open_questions:
        return None
    return min(
        open_questions,
        key=lambda q: sum(
            e.source == "human" and e.end_reason != "abandoned" and about(e, q) for e in episodes
        ),
    )


def test_next_question_looks_episodes_up_by_question_through_an_index(store: EpisodeStore) -> None:
    rng = random.Random(7)
    questions = [QuestionRecord(id=f"q{i}", question=f"Question {i}?") for i in range(30)]
    store.add_questions(questions)
    episodes = []
    for n in range(300):
        q = rng.choice(questions)
        source = rng.choice(["human", "human", "model", "scripted"])
        record = episode(
            q.question if rng.random() < 0.5 else f"Reworded {n}?",
            source=source,
            annotator=rng.choice(["ann", "bob", "cy"]) if source == "human" else None,
            end_reason=rng.choice([None, "answer", "abandoned"]),
            metadata={"question_id": q.id} if rng.random() < 0.6 else {},
        )
        store.save_episode(record)
        episodes.append(record)
    store.start_episode(episode("Question 3?", source="model", annotator="dee"))  # an annotator on a model
    episodes.append(episode("Question 3?", source="model", annotator="dee"))
    for annotator in ("ann", "bob", "cy", "dee", "nobody"):
        assert store.next_question(annotator) == _expected_next(questions, episodes, annotator)

    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.next_question("ann")
    store._db.set_trace_callback(None)
    (query,) = [sql for sql in statements if "FROM questions" in sql]
    plan = [row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + query)]
    on_episodes = [line for line in plan if re.match(r"(SCAN|SEARCH) e\b", line)]
    assert on_episodes, plan
    for line in on_episodes:  # each question's own episodes only, found through an index
        assert re.match(r"SEARCH e USING (COVERING )?INDEX \w+ \((question_id|question)=\?", line), plan


def test_comparisons(store: EpisodeStore) -> None:
    comparison = ComparisonRecord(
        question="Who wrote Hamlet?",
        answer_a=ComparedAnswer(
            text="Shakespeare [1]", quotes=[QUOTE], episode_id="e1", ratings=Ratings(coherence=6)
        ),
        answer_b=ComparedAnswer(text="Marlowe", episode_id="e2"),
        preference="A",
        strength="much_better",
        justification="A is supported.",
        annotator="ann",
    )
    assert store.add_comparison(comparison) == comparison.id
    with pytest.raises(ValueError):
        store.add_comparison(comparison)
    assert list(store.iter_comparisons()) == [comparison]
    assert store.get_comparison(comparison.id) == comparison
    assert store.compared_pairs("ann") == {frozenset({"e1", "e2"})}
    assert store.compared_pairs("bob") == set()


def test_progress_counts(store: EpisodeStore) -> None:
    store.add_questions([QuestionRecord(question="Who wrote Hamlet?"), QuestionRecord(question="Other?")])
    answered = episode(annotator="ann")
    store.start_episode(answered)
    store.finish_episode(answered.id, quotes=[QUOTE], answer=AnswerRecord(text="S [1]"), end_reason="answer")
    declined = episode(annotator="ann")
    store.start_episode(declined)
    store.finish_episode(declined.id, quotes=[], answer=None, end_reason="controversial")
    store.start_episode(episode(annotator="bob"))
    store.save_episode(episode(source="model", model_id="m1", end_reason="abandoned"))
    store.add_comparison(
        ComparisonRecord(
            question="q",
            answer_a=ComparedAnswer(text="a"),
            answer_b=ComparedAnswer(text="b"),
            preference="tie",
            annotator="carol",
        )
    )
    progress = store.progress()
    assert progress["questions"] == {"total": 2, "with_human_answer": 1}
    assert progress["episodes"] == {
        "total": 4,
        "finished": 3,
        "unfinished": 1,
        "answered": 1,
        "declined": 1,
        "abandoned": 1,
    }
    assert progress["comparisons"] == 1
    assert progress["by_source"]["human"]["episodes"] == 3
    assert progress["by_source"]["model"]["abandoned"] == 1
    assert progress["by_annotator"]["ann"] == {
        "episodes": 2,
        "finished": 2,
        "answered": 1,
        "declined": 1,
        "abandoned": 0,
        "comparisons": 0,
    }
    assert progress["by_annotator"]["bob"]["finished"] == 0
    assert progress["by_annotator"]["carol"]["comparisons"] == 1
    assert progress["by_annotator"]["model:m1"]["abandoned"] == 1


# ---------------------------------------------------------------------- migrations and bad files

BASE = migrations.SCHEMA_VERSION  # the tests below add one more migration on top of the real ones


def test_migrates_an_empty_database_and_runs_a_second_migration(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "old.sqlite"
    sqlite3.connect(path).close()  # an empty database at user_version 0
    with EpisodeStore(path) as opened:
        assert opened.schema_version == BASE
        record = episode()
        opened.start_episode(record)

    def migration_3(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE episodes ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, migration_3])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", BASE + 1)
    with EpisodeStore(path) as upgraded:
        assert upgraded.schema_version == BASE + 1
        assert upgraded.get_episode(record.id) == record
        columns = {row[1] for row in upgraded._db.execute("PRAGMA table_info(episodes)")}
        assert "reviewed" in columns


def test_migration_scripts_keep_semicolons_in_literals_and_triggers(tmp_path: Path, monkeypatch) -> None:
    def migration_3(db: sqlite3.Connection) -> None:
        migrations.run_script(
            db,
            """
            CREATE TABLE notes (text TEXT NOT NULL); -- a comment; with a semicolon
            INSERT INTO notes VALUES ('first; second');
            CREATE TRIGGER notes_twice AFTER INSERT ON notes WHEN NEW.text = 'x' BEGIN
                INSERT INTO notes VALUES ('after x; 1');
                INSERT INTO notes VALUES ('after x; 2');
            END;
            INSERT INTO notes VALUES ('x')
            """,
        )

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, migration_3])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", BASE + 1)
    with EpisodeStore(tmp_path / "notes.sqlite") as opened:
        assert opened.schema_version == BASE + 1
        rows = [row[0] for row in opened._db.execute("SELECT text FROM notes ORDER BY rowid")]
        assert rows == ["first; second", "x", "after x; 1", "after x; 2"]
    with pytest.raises(ValueError, match="incomplete"):
        list(migrations.split_statements("SELECT 1; SELECT 'unterminated"))


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "store.sqlite"
    with EpisodeStore(path) as opened:
        record = episode()
        opened.start_episode(record)

    def migration_3(db: sqlite3.Connection) -> None:
        migrations.run_script(db, "CREATE TABLE extra (x); INSERT INTO no_such_table VALUES (1);")

    with monkeypatch.context() as patched:
        patched.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, migration_3])
        patched.setattr(migrations, "SCHEMA_VERSION", BASE + 1)
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            EpisodeStore(path)
    with EpisodeStore(path) as reopened:
        assert reopened.schema_version == BASE
        tables = {row[0] for row in reopened._db.execute("SELECT name FROM sqlite_master")}
        assert "extra" not in tables
        assert reopened.get_episode(record.id) == record


def test_an_error_sqlite_rolled_back_itself_is_reported_as_it_was(store: EpisodeStore) -> None:
    record = episode()
    store.start_episode(record)
    store._db.execute(
        "CREATE TRIGGER frozen BEFORE INSERT ON steps BEGIN SELECT RAISE(ROLLBACK, 'steps are frozen'); END"
    )
    with pytest.raises(StoreError, match="steps are frozen"):  # not "cannot rollback"
        store.append_step(record.id, step(0))
    assert not store._db.in_transaction
    store._db.execute("DROP TRIGGER frozen")
    store.append_step(record.id, step(0))  # the store still works
    assert store.step_count(record.id) == 1


def test_a_new_store_file_is_private_and_the_umask_is_left_alone(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    previous = os.umask(0o022)
    try:
        monkeypatch.setattr(os, "umask", calls.append)
        with EpisodeStore(tmp_path / "new.sqlite") as opened:
            opened.start_episode(episode())
            assert stat.S_IMODE(opened.path.stat().st_mode) == 0o600
            wal = opened.path.with_name(opened.path.name + "-wal")
            assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        monkeypatch.undo()
        assert calls == []
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(previous)


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer version"):
        EpisodeStore(path)


def test_corrupt_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"this is not a database\n" * 500)
    with pytest.raises(StoreError, match="not a usable demonstrations database"):
        EpisodeStore(path)
    assert path.read_bytes() == b"this is not a database\n" * 500  # left as it was


def test_corrupt_file_through_the_cli_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"\x00garbage" * 1000)
    result = CliRunner().invoke(cli, ["record", "--db", str(path)])
    assert result.exit_code == 1
    assert "not a usable demonstrations database" in result.output
    assert "Traceback" not in result.output


def test_damaged_pages_give_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite"
    with EpisodeStore(path) as opened:
        for _ in range(50):
            opened.save_episode(episode(steps=[step(i) for i in range(20)]))
        db = sqlite3.connect(path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):  # keep the header page, scramble the rest
        data[offset : offset + page] = b"\xff" * page
    path.write_bytes(bytes(data))
    with (
        pytest.raises(StoreError, match="not a usable demonstrations database"),
        EpisodeStore(path) as damaged,
    ):
        list(damaged.iter_episodes())


# ---------------------------------------------------------------------- concurrent writers

STEPS_PER_WRITER = 40


def _write_episode(path: str, writer: int) -> str:
    with EpisodeStore(path) as own:
        record = episode(f"Question from writer {writer}?", annotator=f"writer-{writer}")
        own.start_episode(record)
        own.add_questions([QuestionRecord(question=f"Queued by {writer}?")])
        for index in range(STEPS_PER_WRITER):
            own.append_step(record.id, step(index, f"Search {writer} {index}"))
        own.finish_episode(record.id, quotes=[QUOTE], answer=AnswerRecord(text="x [1]"), end_reason="answer")
        own.add_comparison(
            ComparisonRecord(
                question=record.question,
                answer_a=ComparedAnswer(text="a"),
                answer_b=ComparedAnswer(text="b"),
                preference="A",
                annotator=f"writer-{writer}",
            )
        )
        return record.id


def _check_writers(path: Path, ids: list[str], writers: int) -> None:
    with EpisodeStore(path) as check:
        assert sorted(e.id for e in check.iter_episodes()) == sorted(ids)
        for episode_id in ids:
            stored = check.get_episode(episode_id)
            assert [s.index for s in stored.steps] == list(range(STEPS_PER_WRITER))
            assert stored.end_reason == "answer"
        assert len(check.list_questions()) == writers
        assert len(list(check.iter_comparisons())) == writers


def test_many_threads_share_one_store_without_lost_writes(tmp_path: Path) -> None:
    path = tmp_path / "threads.sqlite"
    shared = EpisodeStore(path)
    ids: list[str] = []
    errors: list[BaseException] = []
    records = [episode(f"Thread question {n}?", annotator=f"t{n}") for n in range(8)]

    def work(record: EpisodeRecord) -> None:
        try:
            shared.start_episode(record)
            shared.add_questions([QuestionRecord(question=f"Queued by {record.id}?")])
            for index in range(STEPS_PER_WRITER):
                shared.append_step(record.id, step(index))
            shared.finish_episode(
                record.id, quotes=[QUOTE], answer=AnswerRecord(text="x [1]"), end_reason="answer"
            )
            shared.add_comparison(
                ComparisonRecord(
                    question="q",
                    answer_a=ComparedAnswer(text="a"),
                    answer_b=ComparedAnswer(text="b"),
                    preference="B",
                )
            )
            ids.append(record.id)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(record,)) for record in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shared.close()
    assert errors == []
    _check_writers(path, ids, len(records))


@pytest.mark.slow
def test_many_processes_write_at_once_without_lost_writes(tmp_path: Path) -> None:
    path = tmp_path / "processes.sqlite"  # not created yet: the processes also race to create it
    writers = 4
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        ids = pool.starmap(_write_episode, [(str(path), n) for n in range(writers)])
    _check_writers(path, ids, writers)
