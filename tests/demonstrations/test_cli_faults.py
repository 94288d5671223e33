"""``webgpt demos`` and ``webgpt browse`` on bad input and damaged files: one sentence, never a traceback."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from browser_env.actions import InvalidAction, parse_action
from demonstrations.store import EpisodeStore, StoreError
from webgpt_cli.app import app

runner = CliRunner()
RESTORE = "Restore it from a backup or move it away to start a new one."


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBGPT_HOME", str(tmp_path / "home"))


def webgpt(*args: str, stdin: str = ""):
    result = runner.invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def flat(text: str) -> str:
    """Output with rich's panel borders and line wrapping removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def questions_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text('{"question": "Who designed the tower?", "answers": ["Eiffel"]}\n')
    return path


# ------------------------------------------------------------------------------ budgets and link IDs


@pytest.mark.parametrize("option", ["--max-actions", "--max-quotes", "--window-lines"])
def test_browse_refuses_zero_budgets(option: str) -> None:
    result = webgpt("browse", "-q", "Who designed the tower?", option, "0")
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': Input should be greater than or equal to 1" in flat(result.output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "-1"], "--offset must be 0 or more and --limit 1 or more\n"),
        (["--offset", "-5"], "--offset must be 0 or more and --limit 1 or more\n"),
    ],
)
def test_generate_refuses_negative_limit_and_offset(tmp_path: Path, args: list[str], message: str) -> None:
    result = webgpt("demos", "generate", "-q", str(questions_file(tmp_path)), *args)
    assert result.exit_code == 1 and result.output == message


def test_a_negative_link_id_is_explained() -> None:
    action = parse_action("Clicked on link -1")
    assert isinstance(action, InvalidAction)
    assert action.message == (
        "'-1' is not a link ID: link IDs are whole numbers from 0, "
        "the number in 【<link ID>†text】 on the page"
    )
    assert parse_action("Clicked on link 12") == parse_action(" Clicked on link  12 ")


# ------------------------------------------------------------------------------ questions


@pytest.mark.parametrize("question", ["", "   ", "\t"])
def test_browse_refuses_an_empty_question_before_opening_anything(question: str) -> None:
    result = webgpt("browse", "-q", question, "--corpus", "no-such-corpus")
    assert result.exit_code == 2
    assert result.output == (
        'Error: the question is empty; give the question to research, e.g. --question "Who designed the '
        'Eiffel Tower?"\n'
    )


# ------------------------------------------------------------------------------ imports


@pytest.mark.parametrize("kind", ["questions", "webgpt-comparisons", "truthfulqa"])
def test_importing_a_missing_file_or_a_folder_says_so(tmp_path: Path, kind: str) -> None:
    missing = tmp_path / "missing.jsonl"
    result = webgpt("demos", "import", kind, str(missing))
    assert result.exit_code == 1 and result.output == f"{missing}: no such file; check the path\n"

    result = webgpt("demos", "import", kind, str(tmp_path))
    assert result.exit_code == 1
    assert result.output == f"{tmp_path}: is a folder; give the path of the file to import\n"


# ------------------------------------------------------------------------------ a damaged store


def damaged_store(tmp_path: Path, junk: bytes) -> Path:
    """A store with questions and comparisons whose pages after the first are overwritten."""
    db = tmp_path / "store.sqlite"
    rows = [{"question": f"question {i} " + "x" * 300, "answers": ["a"]} for i in range(300)]
    many = tmp_path / "many.jsonl"
    many.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    assert webgpt("demos", "import", "questions", str(many), "--db", str(db)).exit_code == 0
    data = bytearray(db.read_bytes())
    data[4096:] = junk * (len(data) - 4096)
    db.write_bytes(bytes(data))
    return db


COMMANDS = [
    ["list"],
    ["export", "bc", "{tmp}/out/bc.jsonl"],
    ["export", "comparisons", "{tmp}/out/pairs", "--format", "hf"],
    ["import", "questions", "{tmp}/questions.jsonl"],
    ["import", "truthfulqa", "{tmp}/tqa.csv"],
    ["import", "webgpt-comparisons", "{tmp}/pairs.jsonl"],
    ["generate", "-q", "{tmp}/questions.jsonl", "--corpus", "store-faults"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("junk", [b"Z", b"\x00"], ids=["text", "zeros"])
def test_every_demos_command_reports_a_store_damaged_mid_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], junk: bytes
) -> None:
    from browser_env.corpus_build import build_corpus

    site = tmp_path / "site"
    site.mkdir()
    (site / "tower.html").write_text("<title>Tower</title><p>The tower was designed by Eiffel.</p>")
    build_corpus("store-faults", [str(site)], dense=False, show_progress=False)
    questions_file(tmp_path)
    (tmp_path / "tqa.csv").write_text(
        "Question,Best Answer,Correct Answers,Incorrect Answers\nq?,yes,yes,no\n"
    )
    pair = {
        "question": "q",
        **{f"quotes_{i}": {"title": [], "extract": []} for i in (0, 1)},
        **{"answer_0": "a", "answer_1": "b", "score_0": 1, "score_1": -1},
    }
    (tmp_path / "pairs.jsonl").write_text(json.dumps(pair) + "\n")
    db = damaged_store(tmp_path, junk)

    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    result = webgpt("demos", *args, "--db", str(db))

    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"{db} is not a usable demonstrations database (")
    assert result.output.endswith(f"). {RESTORE}\n")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_damaged_record_is_named_as_such(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    store = EpisodeStore(db)
    store.close()
    assert (
        webgpt("demos", "import", "questions", str(questions_file(tmp_path)), "--db", str(db)).exit_code == 0
    )
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE questions SET record = substr(record, 1, 20)")
    raw.close()
    store = EpisodeStore(db)
    with pytest.raises(StoreError) as caught:
        store.list_questions()
    store.close()
    assert str(caught.value).startswith(
        f"{db} is not a usable demonstrations database (a stored record is damaged: "
    )


# ------------------------------------------------------------------------------ unwritable outputs


def test_export_to_a_path_that_cannot_be_created_fails_before_reading_the_store(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "sub" / "bc.jsonl"
    result = webgpt("demos", "export", "bc", str(target), "--db", str(tmp_path / "s.sqlite"))
    assert result.exit_code == 1
    assert (
        result.output == f"cannot write {target}: {blocker} is a file, not a folder; give OUT another path\n"
    )
    assert not (tmp_path / "s.sqlite").exists()


def test_a_report_path_that_cannot_be_created_fails_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    report = blocker / "report.json"
    result = webgpt("demos", "generate", "-q", str(questions_file(tmp_path)), "--report", str(report))
    assert result.exit_code == 1
    assert result.output == (
        f"cannot write {report}: {blocker} is a file, not a folder; give --report another path\n"
    )


# ------------------------------------------------------------------------------ WEBGPT_HOME


@pytest.mark.parametrize(
    "args",
    [["corpus", "list"], ["demos", "list"], ["browse", "-q", "Who?"], ["corpus", "search", "x", "y"]],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_webgpt_home_that_is_a_file_is_one_sentence(tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "home-file"
    home.write_text("")
    done = subprocess.run(
        [sys.executable, "-c", "from webgpt_cli.app import app; app()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "WEBGPT_HOME": str(home)},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"Error: WEBGPT_HOME ({home}) is a file, not a folder; move the file away or set WEBGPT_HOME to a "
        "folder you can write to\n"
    )


# ------------------------------------------------------------------------------ logs


def test_generate_logged_to_a_file_has_no_progress_bar_codes(tmp_path: Path) -> None:
    from browser_env.corpus_build import build_corpus

    site = tmp_path / "site"
    site.mkdir()
    (site / "tower.html").write_text("<title>Tower</title><p>The tower was designed by Eiffel.</p>")
    build_corpus("logged", [str(site)], dense=False, show_progress=False)
    webgpt = [sys.executable, "-c", "from webgpt_cli.app import app; app()"]
    generate = ["demos", "generate", "-q", str(questions_file(tmp_path)), "--corpus", "logged"]
    done = subprocess.run(
        [*webgpt, *generate, "--db", str(tmp_path / "s.db")],
        capture_output=True,  # bytes: text mode would turn the \r of a progress bar into \n
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert b"\r" not in done.stderr + done.stdout and b"\x1b" not in done.stderr + done.stdout
    assert done.stdout.startswith(b"1 episodes on corpus 'logged'")
