"""Corpora under faults: killed builds, lock files, damaged databases, a damaged default built by the user."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_fixtures import write_jsonl
from typer.testing import CliRunner

from browser_env import corpus as registry
from browser_env.corpus import (
    CorpusError,
    CorpusNotFound,
    build_corpus,
    build_lock,
    ensure_default_corpus,
    open_corpus,
    remove_corpus,
    remove_leftovers,
)
from webgpt_cli.app import app

runner = CliRunner()

SLOW_BUILD = """
import sys, time
from browser_env.corpus_build import build_corpus
from browser_env.sources.jsonl import JsonlSource

class Endless(JsonlSource):
    def _documents(self):
        yield from super()._documents()
        print("indexing", flush=True)
        time.sleep(600)

build_corpus(sys.argv[1], [Endless(sys.argv[2])], dense=False, show_progress=False)
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    """A data folder of this test's own: these tests make and damage the "default" corpus."""
    monkeypatch.setenv("WEBGPT_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "corpora"


def hidden(corpora: Path) -> list[str]:
    return sorted(p.name for p in corpora.iterdir() if p.name.startswith("."))


def test_a_killed_build_leaves_a_folder_that_corpus_remove_cleans(home: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    build = subprocess.Popen(
        [sys.executable, "-c", SLOW_BUILD, "wiki", str(source)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert build.stdout is not None and build.stdout.readline().strip() == "indexing"
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    leftover = home / f".build-wiki-{build.pid}"
    assert leftover.is_dir() and any(leftover.iterdir())
    assert not (home / "wiki").exists()

    result = runner.invoke(app, ["corpus", "remove", "wiki"])
    assert result.exit_code == 0, result.output
    assert "Removed what interrupted builds of 'wiki' left behind (" in result.output
    assert hidden(home) == []
    result = runner.invoke(app, ["corpus", "remove", "wiki"])
    assert result.exit_code == 1 and "no corpus named 'wiki'" in result.output


def test_the_next_build_cleans_leftovers_of_killed_builds_of_any_name(home: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path)
    home.mkdir(parents=True)
    for name in (".build-wiki-999999", ".old-docs-12", ".remove-a-b-7"):
        (home / name).mkdir()
        (home / name / "passages.sqlite").write_bytes(b"x" * 1000)
    (home / ".gone.lock").write_text("")  # a lock file nobody holds any more
    build_corpus("tiny", [str(source)], dense=False, show_progress=False)
    assert hidden(home) == []
    assert sorted(p.name for p in home.iterdir()) == ["tiny"]


def test_leftovers_of_a_build_that_is_running_are_kept(home: Path) -> None:
    home.mkdir(parents=True)
    running = home / ".build-busy-123"
    running.mkdir()
    with build_lock("busy"):  # as a build of "busy" in another process would hold it
        assert remove_leftovers() == 0
        assert running.is_dir() and (home / ".busy.lock").exists()
    assert remove_leftovers() == 0  # an empty folder frees no bytes, but goes
    assert hidden(home) == []


def test_lock_files_do_not_accumulate(home: Path, tmp_path: Path) -> None:
    for name in ("first", "second", "third"):
        result = runner.invoke(app, ["corpus", "build", name, str(tmp_path / "missing.jsonl"), "-q"])
        assert result.exit_code == 1
    build_corpus("tiny", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    remove_corpus("tiny")
    assert hidden(home) == []
    with build_lock("tiny"), build_lock("other"):
        assert hidden(home) == [".other.lock", ".tiny.lock"]
    assert hidden(home) == []


@pytest.fixture
def built(home: Path, tmp_path: Path):
    def build(name: str) -> Path:
        return build_corpus(name, [str(write_jsonl(tmp_path))], dense=False, show_progress=False).path

    return build


@pytest.mark.parametrize(
    ("database", "damage", "problem"),
    [
        ("passages.sqlite", b"\x00garbage" * 600, "passages.sqlite is not an SQLite database"),
        ("documents.sqlite", b"", "documents.sqlite is not an SQLite database"),
        ("documents.sqlite", None, "documents.sqlite has an empty documents table"),
        ("passages.sqlite", "cut", "passages.sqlite cannot be read"),
    ],
)
def test_a_damaged_database_is_a_corpus_error_naming_the_file(built, database, damage, problem, tmp_path):
    path = built("wiki")
    file = path / database
    if damage is None:  # a valid database, emptied
        import sqlite3

        with sqlite3.connect(file) as db:
            db.execute("DELETE FROM documents")
    elif damage == "cut":  # the header survives, the rest is overwritten
        data = file.read_bytes()
        file.write_bytes(data[:100] + b"\xff" * (len(data) - 100))
    else:
        file.write_bytes(damage)
    expected = f"corpus 'wiki' at {path} is incomplete or damaged ({problem}"  # then what to do
    with pytest.raises(
        CorpusError, match=r"rebuild it with `webgpt corpus build wiki SOURCE\.\.\. --force`"
    ) as error:
        open_corpus("wiki")
    assert str(error.value).startswith(expected)
    for command in (
        ["corpus", "search", "wiki", "eiffel"],
        ["ask", "Who designed it?", "--corpus", "wiki", "--policy", "scripted"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code in (1, 2), result.output
        assert f"Error: {expected}" in result.output
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    listed = {info.name: info for info in registry.list_corpora()}
    assert listed["wiki"].problem is not None and problem in listed["wiki"].problem


def damage(path: Path) -> None:
    (path / "passage_doc.npy").unlink()


def test_a_damaged_default_built_from_the_users_sources_is_refused_not_rebuilt(built, monkeypatch):
    path = built("default")
    damage(path)
    before = sorted(p.name for p in path.rglob("*"))
    monkeypatch.setattr("browser_env.corpus_build.build_corpus", _no_build)
    with pytest.raises(CorpusError) as error:
        ensure_default_corpus(show_progress=False)
    message = str(error.value)
    assert (
        "It was built from your own sources (jsonl), so it is not replaced with the embedded corpus"
        in message
    )
    assert "`webgpt corpus remove default`" in message
    assert sorted(p.name for p in path.rglob("*")) == before
    result = runner.invoke(app, ["ask", "Who designed it?", "--policy", "scripted"])
    assert result.exit_code == 2 and "It was built from your own sources (jsonl)" in result.output
    assert "Traceback" not in result.output


def test_a_damaged_default_whose_builder_is_unknown_is_moved_aside_then_rebuilt(
    built, home, monkeypatch, capsys
):
    path = built("default")
    (path / "meta.json").write_text("{ cut sho")
    calls = []

    def fake_build(name, sources, **options):
        calls.append((name, options["force"]))
        raise CorpusError("stop here")

    monkeypatch.setattr("browser_env.corpus_build.build_corpus", fake_build)
    with pytest.raises(CorpusError, match="stop here"):
        ensure_default_corpus(show_progress=False)
    aside = [p for p in home.iterdir() if p.name.startswith("default.damaged-")]
    assert len(aside) == 1 and (aside[0] / "documents.sqlite").is_file() and not path.exists()
    assert calls == [("default", True)]
    assert f"it was moved to {aside[0]}" in capsys.readouterr().err


def test_a_damaged_default_built_from_the_embedded_sources_is_rebuilt(built, monkeypatch):
    path = built("default")
    meta = json.loads((path / "meta.json").read_text())
    meta["sources"] = [{**meta["sources"][0], "kind": "wiki-vital"}]
    (path / "meta.json").write_text(json.dumps(meta))
    damage(path)
    calls = []
    monkeypatch.setattr(
        "browser_env.corpus_build.build_corpus",
        lambda name, sources, **o: calls.append(o["force"]) or "rebuilt",
    )
    assert ensure_default_corpus(show_progress=False) == "rebuilt"
    assert calls == [True]


def _no_build(*args, **kwargs):
    raise AssertionError("the user's default corpus must not be rebuilt")


def test_invalid_names_and_missing_corpora_are_one_line_errors(home: Path) -> None:
    for command, name in (
        (["corpus", "remove", "../x"], "../x"),
        (["corpus", "search", "../x", "q"], "../x"),
        (["corpus", "build", "..", "wiki-vital"], ".."),
        (["ask", "Q?", "--corpus", "../x"], "../x"),
    ):
        result = runner.invoke(app, command)
        assert result.exit_code in (1, 2), (command, result.output)
        assert f"Error: invalid corpus name {name!r}: use letters, digits" in result.output
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    with pytest.raises(CorpusNotFound):
        remove_corpus("never-built")
