"""`webgpt record` as a real process: SIGKILL in the middle of an episode loses no acknowledged step,
and a restarted recorder resumes the episode by replaying its stored steps."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from recorder_web import Annotator, free_port, wait_for_server

from browser_env.corpus import build_corpus
from demonstrations.store import EpisodeStore

ROOT = Path(__file__).parents[2]
CORPUS = "recorder-kill-test"
PAGES = [
    {
        "title": "Mount Everest",
        "url": "https://en.wikipedia.org/wiki/Mount_Everest",
        "text": "Mount Everest is Earth's highest mountain above sea level.\n\n"
        + "\n\n".join(f"Section {n}: climbers, weather and routes of the year {1950 + n}." for n in range(40))
        + "\n\nIts elevation of 8,848.86 m was established in 2020 by Chinese and Nepali authorities.",
    },
    {
        "title": "K2",
        "url": "https://en.wikipedia.org/wiki/K2",
        "text": "K2 is the second-highest mountain on Earth, in the Karakoram range.",
    },
]
COMMANDS = [
    "Search mount everest elevation",
    "Clicked on link 0",
    "Scrolled down 1",
    "Scrolled down 3",
    "Find in page: elevation",
    "Quote: Its elevation of 8,848.86 m was established in 2020",
    "Scrolled up 1",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    source = tmp_path_factory.mktemp("kill-corpus") / "pages.jsonl"
    source.write_text("".join(json.dumps(page) + "\n" for page in PAGES))
    build_corpus(CORPUS, [str(source)], dense=False, force=True, show_progress=False).close()
    return CORPUS


def start_recorder(db: Path, port: int, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "webgpt_cli.app", "record", "--corpus", CORPUS, "--db", str(db)]
    command += ["--port", str(port), *extra]
    process = subprocess.Popen(
        command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_server(f"http://127.0.0.1:{port}", timeout=120, process=process)
    except RuntimeError:
        process.kill()
        output = process.communicate()[0]
        raise RuntimeError(f"webgpt record did not start:\n{output}") from None
    return process


def step_quietly(annotator: Annotator, episode_id: str, command: str) -> None:
    with contextlib.suppress(httpx.HTTPError, AssertionError):
        annotator.step(episode_id, command)


def test_sigkill_mid_episode_loses_no_acknowledged_step(corpus: str, tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite"
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps({"question": "How high is Mount Everest?", "answer": ["8,848.86 m"]}) + "\n"
    )
    port = free_port()
    process = start_recorder(db, port, "--questions", str(questions))
    try:
        annotator = Annotator(f"http://127.0.0.1:{port}", "dora")
        (queued,) = re.findall(r'name="question_id" value="([^"]+)"', annotator.client.get("/").text)
        episode_id = annotator.start(question_id=queued)
        acknowledged = [annotator.step(episode_id, command) for command in COMMANDS]
        assert [reply["error"] for reply in acknowledged] == [None] * len(COMMANDS)
        # One more step is in flight when the process is killed: it may or may not have been stored.
        in_flight = threading.Thread(target=step_quietly, args=(annotator, episode_id, "Top"))
        in_flight.start()
        time.sleep(0.01)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    in_flight.join()
    annotator.close()
    assert process.returncode == -signal.SIGKILL

    with EpisodeStore(db) as store:
        episode = store.get_episode(episode_id)
        commands = [step.command for step in episode.steps]
        assert commands in (COMMANDS, [*COMMANDS, "Top"])
        assert [step.index for step in episode.steps] == list(range(len(commands)))
        assert [step.index for step in episode.steps[: len(COMMANDS)]] == [r["step"] for r in acknowledged]
        assert not episode.finished and episode.corpus == CORPUS and episode.annotator == "dora"
        assert episode.question == "How high is Mount Everest?" and episode.gold_answers == ["8,848.86 m"]

    # A new recorder process resumes the episode from the store and carries on where it stopped.
    port = free_port()
    process = start_recorder(db, port)
    try:
        annotator = Annotator(f"http://127.0.0.1:{port}", "dora")
        page = annotator.client.get(f"/episodes/{episode_id}")
        assert page.status_code == 200
        assert f"Actions left: <strong>{100 - len(commands)}</strong>" in page.text
        assert annotator.step(episode_id, "End: Answer")["redirect"] == f"/episodes/{episode_id}/answer"
        done = annotator.post_form(f"/episodes/{episode_id}/answer", {"answer": "8,848.86 m [1]."})
        assert done.status_code == 303
        annotator.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    with EpisodeStore(db) as store:
        episode = store.get_episode(episode_id)
        assert [step.command for step in episode.steps] == [*commands, "End: Answer"]
        assert episode.end_reason == "answer"
        assert [quote.text for quote in episode.quotes] == [
            "Its elevation of 8,848.86 m was established in 2020"
        ]
