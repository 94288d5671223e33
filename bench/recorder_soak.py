"""Benchmark: the recorder soaked by simulated annotators over real HTTP, with a SIGKILL in the middle.

Run:  .venv/bin/python bench/recorder_soak.py [--seconds 300] [--annotators 8] [--out FILE]

Builds a small corpus in a temporary ``$WEBGPT_HOME``, starts a real ``webgpt record`` process on it and
lets ``--annotators`` threads record episodes through its HTTP API the way the browsing page does (a
search, then a bounded mix of clicks, scrolls, finds, quotes, Back and Top, then ``End: Answer`` and an
answer, or abandoning the episode when nothing was quoted). Every step carries the step count it was
chosen at, as the page sends it. Halfway through, the server is killed with SIGKILL and restarted on the
same database; annotators whose request was cut off wait for it and send the same command again: a
409 "another tab" reply then says that the cut-off step had been stored before the kill.

Afterwards it checks, against the database: every step the server acknowledged is stored exactly once,
in order, and nothing else is (except cut-off steps the restarted server confirmed as above, counted
apart); every answer was stored; every episode replays step for step (``replay_episode``); and every
unfinished episode resumes in a freshly started recorder showing as many steps as were stored. Reports
p50/p90/p99 step latency and steps/s; writes ``bench/results/recorder-soak.json`` (see
docs/bench-recorder.md).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CORPUS = "soak"
TOPICS = {
    "Mount Everest": ("mountain", "Nepal", "8,849 metres", "Tenzing Norgay", "1953"),
    "K2": ("mountain", "Pakistan", "8,611 metres", "Lino Lacedelli", "1954"),
    "Kangchenjunga": ("mountain", "India", "8,586 metres", "George Band", "1955"),
    "Nile": ("river", "Egypt", "6,650 kilometres", "John Hanning Speke", "1858"),
    "Amazon River": ("river", "Brazil", "6,400 kilometres", "Francisco de Orellana", "1542"),
    "Danube": ("river", "Austria", "2,850 kilometres", "Sigmund von Birken", "1664"),
    "Eiffel Tower": ("tower", "France", "330 metres", "Gustave Eiffel", "1889"),
    "CN Tower": ("tower", "Canada", "553 metres", "John Andrews", "1976"),
    "Tokyo Skytree": ("tower", "Japan", "634 metres", "Nikken Sekkei", "2012"),
    "Lake Baikal": ("lake", "Russia", "1,642 metres", "Kurbat Ivanov", "1643"),
    "Lake Titicaca": ("lake", "Peru", "281 metres", "Pedro Cieza de Leon", "1553"),
    "Sahara": ("desert", "Algeria", "9.2 million square kilometres", "Heinrich Barth", "1850"),
}
QUESTIONS = [f"How large is {title}?" for title in TOPICS] + [f"Who first reached {t}?" for t in TOPICS]


def corpus_rows() -> list[dict[str, str]]:
    """One page per topic: a lead, long filler (so there is something to scroll), facts to quote, and
    mentions of other topics (linked to their pages when the corpus is built with ``link_titles``)."""
    rows = []
    titles = list(TOPICS)
    for n, (title, (kind, country, size, person, year)) in enumerate(TOPICS.items()):
        others = [titles[(n + k) % len(titles)] for k in (1, 3, 5)]
        paragraphs = [
            f"{title} is a famous {kind} in {country}, often compared with {others[0]} and {others[1]}.",
            *(
                f"Section {k}: travellers, weather and surveys of {title} in the year {1900 + 7 * k}, "
                f"with notes on the {kind}'s history and on visits from {others[k % 3]}."
                for k in range(24)
            ),
            f"The measured size of {title} is {size}, according to the survey of {year}.",
            f"{person} is remembered as the first to reach {title}, in {year}.",
            f"See also {others[2]} for another {kind} of the region.",
        ]
        url = "https://soak.example.org/wiki/" + title.replace(" ", "_")
        rows.append({"title": title, "url": url, "text": "\n\n".join(paragraphs)})
    return rows


def build_home(home: Path) -> None:
    source = home / "soak-pages.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in corpus_rows()), encoding="utf-8")
    questions = home / "soak-questions.jsonl"
    questions.write_text("".join(json.dumps({"question": q}) + "\n" for q in QUESTIONS), encoding="utf-8")
    command = [sys.executable, "-m", "webgpt_cli.app", "corpus", "build", CORPUS, str(source)]
    subprocess.run(
        [*command, "--no-dense", "--link-titles", "--force"],
        cwd=ROOT,
        env=server_env(home),
        check=True,
        capture_output=True,
        timeout=600,
    )


def server_env(home: Path) -> dict[str, str]:
    return {**os.environ, "WEBGPT_HOME": str(home), "HF_HUB_OFFLINE": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A ``webgpt record`` process on one database and port, started again after a kill."""

    def __init__(self, home: Path, db: Path, port: int) -> None:
        self.home, self.db, self.port = home, db, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.log = home / "server.log"

    def start(self, *extra: str) -> float:
        """Start it and wait until it answers; returns the seconds that took."""
        started = time.monotonic()
        command = [sys.executable, "-m", "webgpt_cli.app", "record", "--corpus", CORPUS, "--db", str(self.db)]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), *extra],
                cwd=ROOT,
                env=server_env(self.home),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() - started < 120:
            if self.process.poll() is not None:
                raise RuntimeError(f"webgpt record exited with {self.process.returncode}; see {self.log}")
            if answers(self.url):
                return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError(f"webgpt record did not answer within 120 s; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def answers(url: str) -> bool:
    try:
        return httpx.get(url + "/progress", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class EpisodeLog:
    """What one simulated annotator knows about one of its episodes."""

    confirmed: list[str] = field(default_factory=list)  # commands the server acknowledged, in order
    landed: int = 0  # cut off by the kill, then confirmed as stored by the restarted server
    quotes: int = 0  # quotes the environment accepted
    answer: str | None = None
    abandoned: bool = False


WINDOW = re.compile(r'<span id="window-text">(.*?)</span>', re.S)
LINK_IDS = re.compile(r'data-link="(\d+)"')


def window_text(page: str) -> str:
    match = WINDOW.search(page)
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))) if match else ""


class Annotator(threading.Thread):
    """One person recording episodes until ``deadline``: real HTTP, the page's JSON step protocol."""

    def __init__(self, name: str, url: str, deadline: float, seed: int) -> None:
        super().__init__(name=name, daemon=True)
        self.url, self.deadline, self.rng = url, deadline, random.Random(seed)
        self.client = httpx.Client(base_url=url, timeout=60)
        self.csrf = ""
        self.episodes: dict[str, EpisodeLog] = {}
        self.latencies: list[float] = []
        self.cut_off = 0  # requests the kill cut off
        self.problems: list[str] = []
        self.orphans = 0  # episode starts cut off by the kill (stored without steps, or not at all)

    # ------------------------------------------------------------------ HTTP with waits for a restart

    def send(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, bool]:
        """The reply, and whether the request had to be sent again after the server went away."""
        retried = False
        while True:
            try:
                return self.client.request(method, path, **kwargs), retried
            except httpx.TransportError:
                self.cut_off += 1
                retried = True
                while not answers(self.url):
                    if time.monotonic() > self.deadline + 120:
                        raise RuntimeError("the recorder did not come back within 2 minutes") from None
                    time.sleep(0.1)

    def form(self, path: str, data: dict[str, str]) -> tuple[httpx.Response, bool]:
        return self.send("POST", path, data={**data, "csrf_token": self.csrf})

    # ------------------------------------------------------------------ one annotator's shift

    def run(self) -> None:
        try:
            self.send("GET", "/")
            self.csrf = self.client.cookies["webgpt_csrf"]
            reply, _ = self.form("/annotator", {"name": self.name, "next": "/"})
            if reply.status_code != 303:
                raise RuntimeError(f"setting the name: {reply.status_code} {reply.text[:200]}")
            while time.monotonic() < self.deadline:
                self.episode()
        except Exception as error:  # reported, never silent
            self.problems.append(f"{self.name}: {type(error).__name__}: {error}")
        finally:
            self.client.close()

    def episode(self) -> None:
        question = self.rng.choice(QUESTIONS)
        reply, retried = self.form("/episodes", {"question": question})
        self.orphans += retried
        if reply.status_code != 303:
            raise RuntimeError(f"starting an episode: {reply.status_code} {reply.text[:200]}")
        episode_id = reply.headers["location"].rsplit("/", 1)[1]
        log = self.episodes[episode_id] = EpisodeLog()
        page = self.step(episode_id, log, "Search " + question.split(" ", 3)[-1].rstrip("?"))
        for _ in range(self.rng.randint(4, 14)):
            if page is None or time.monotonic() > self.deadline:
                return
            page = self.step(episode_id, log, self.next_command(page))
        if page is None or time.monotonic() > self.deadline:
            return
        if log.quotes:  # End: Answer needs a quote
            if self.step(episode_id, log, "End: Answer") is not None:
                raise RuntimeError(f"episode {episode_id}: End: Answer did not end browsing")
            log.answer = "It is as the quoted page says [1]."
            reply, retried = self.form(f"/episodes/{episode_id}/answer", {"answer": log.answer})
            expected = (303,) if not retried else (303, 409)
        else:
            log.abandoned = True
            reply, retried = self.form(f"/episodes/{episode_id}/abandon", {})
            expected = (303,) if not retried else (303, 409)
        if reply.status_code not in expected:
            self.problems.append(f"finishing {episode_id}: {reply.status_code} {reply.text[:200]}")

    def next_command(self, page: str) -> str:
        text = window_text(page)
        lines = [line for line in text.splitlines() if len(line) > 40 and "【" not in line]
        links = LINK_IDS.findall(page)
        roll = self.rng.random()
        if links and roll < 0.25:
            return f"Clicked on link {self.rng.choice(links)}"
        if roll < 0.45:
            return f"Scrolled down {self.rng.randint(1, 3)}"
        if roll < 0.52:
            return f"Scrolled up {self.rng.randint(1, 2)}"
        if lines and roll < 0.67:
            return "Quote: " + " ".join(self.rng.choice(lines).split()[:8])
        if lines and roll < 0.8:
            return "Find in page: " + self.rng.choice(self.rng.choice(lines).split())
        if roll < 0.9:
            return "Back"
        return "Top" if roll < 0.95 else "Search " + self.rng.choice(list(TOPICS)).lower()

    def step(self, episode_id: str, log: EpisodeLog, command: str) -> str | None:
        """Send one command at the current step count; the new page's HTML, or None once browsing ended."""
        at = len(log.confirmed)
        started = time.perf_counter()
        reply, retried = self.send(
            "POST",
            f"/episodes/{episode_id}/step",
            json={"command": command, "at": at},
            headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"},
        )
        elapsed = time.perf_counter() - started
        body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
        if reply.status_code == 200:
            if body["step"] != at:
                self.problems.append(f"{episode_id}: step {command!r} stored as {body['step']}, sent at {at}")
            log.confirmed.append(command)
            log.quotes += command.startswith("Quote: ") and body["error"] is None
            if not retried:
                self.latencies.append(elapsed)
            return None if body["redirect"] else body["html"]
        if retried and reply.status_code == 409:
            # The cut-off request had been stored before the kill: the episode has moved past ``at``.
            log.confirmed.append(command)
            log.landed += 1
            if body.get("stale") and body.get("at") != at + 1:
                self.problems.append(f"{episode_id}: after a restart the episode is at {body.get('at')}")
            return body.get("html") if body.get("stale") else None
        raise RuntimeError(f"{episode_id}: {command!r} got {reply.status_code}: {reply.text[:300]}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def verify(home: Path, db: Path, annotators: list[Annotator], server: Server) -> dict[str, Any]:
    """Compare the database with what the annotators were told; replay and resume every episode."""
    os.environ["WEBGPT_HOME"] = str(home)  # for open_corpus in this process
    from browser_env.corpus import open_corpus
    from browser_env.env import EnvConfig
    from demonstrations.replay import replay_episode
    from demonstrations.store import EpisodeStore

    known = {episode_id: log for a in annotators for episode_id, log in a.episodes.items()}
    result: dict[str, Any] = {"problems": []}
    problems = result["problems"]
    lost = duplicated = unacknowledged = replayed = answers_ok = 0
    unfinished: dict[str, int] = {}
    corpus = open_corpus(CORPUS)
    with EpisodeStore(db) as store:
        stored_ids = set(store.episode_ids())
        orphans = stored_ids - set(known)
        for episode_id in sorted(stored_ids):
            episode = store.get_episode(episode_id)
            commands = [step.command for step in episode.steps]
            if [step.index for step in episode.steps] != list(range(len(commands))):
                problems.append(f"{episode_id}: step indexes {[s.index for s in episode.steps]}")
            if episode_id in orphans:
                unacknowledged += len(commands)
                if commands:
                    problems.append(f"{episode_id}: an episode no annotator knows has {len(commands)} steps")
            else:
                log = known[episode_id]
                for stored, sent in zip(commands, log.confirmed, strict=False):
                    if stored != sent:
                        problems.append(f"{episode_id}: stored {stored!r} where {sent!r} was acknowledged")
                        break
                lost += max(0, len(log.confirmed) - len(commands))
                extra = commands[len(log.confirmed) :]
                duplicated += sum(command in log.confirmed[-1:] for command in extra)
                unacknowledged += len(extra)
                if log.answer is not None:
                    if episode.answer is None or episode.answer.text != log.answer:
                        problems.append(f"{episode_id}: the answer was not stored")
                    else:
                        answers_ok += 1
                elif log.abandoned and episode.end_reason != "abandoned":
                    problems.append(f"{episode_id}: abandoned, but stored as {episode.end_reason}")
            env_config = EnvConfig.from_dict(episode.env_config) if episode.env_config else None
            replay = replay_episode(episode, corpus.make_env(env_config))
            if replay.ok:
                replayed += 1
            else:
                problems.append(f"{episode_id} does not replay: {replay.mismatch}")
            if not episode.finished:
                unfinished[episode_id] = len(commands)
    corpus.close()

    # Every unfinished episode resumes in a fresh recorder, at the step count that was stored.
    resumed = 0
    server.start()
    try:
        owners = {episode_id: a.name for a in annotators for episode_id in a.episodes}
        clients: dict[str, httpx.Client] = {}
        for episode_id, count in unfinished.items():
            client = clients.setdefault(
                owners.get(episode_id, ""), httpx.Client(base_url=server.url, timeout=120)
            )
            page = client.get(f"/episodes/{episode_id}")
            if page.status_code == 200 and f'data-at="{count}"' in page.text:
                resumed += 1
            else:
                problems.append(f"{episode_id} does not resume: {page.status_code} {page.text[:200]}")
        for client in clients.values():
            client.close()
    finally:
        server.stop()
    result.update(
        episodes=len(stored_ids),
        episodes_orphaned_by_the_kill=len(orphans),
        steps_stored=sum(len(known[e].confirmed) for e in known if e in stored_ids) - lost,
        steps_lost=lost,
        steps_duplicated=duplicated,
        steps_unacknowledged_in_store=unacknowledged,
        answers_stored=answers_ok,
        episodes_replayed=replayed,
        unfinished_episodes=len(unfinished),
        unfinished_episodes_resumed=resumed,
    )
    return result


def run_soak(
    seconds: float, annotators: int = 8, *, seed: int = 0, workdir: Path | None = None
) -> dict[str, Any]:
    """The whole soak; returns the report (``report["verified"]`` is True when nothing was lost)."""
    with tempfile.TemporaryDirectory(prefix="recorder-soak-", dir=workdir) as folder:
        home = Path(folder)
        started = time.monotonic()
        build_home(home)
        build_seconds = time.monotonic() - started
        server = Server(home, home / "soak.sqlite", free_port())
        first_start = server.start("--questions", str(home / "soak-questions.jsonl"))
        begin = time.monotonic()
        deadline = begin + seconds
        workers = [Annotator(f"annotator-{n}", server.url, deadline, seed + n) for n in range(annotators)]
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, begin + seconds / 2 - time.monotonic()))
        killed_at = time.monotonic() - begin
        server.kill()
        restart = server.start()
        for worker in workers:
            worker.join(timeout=seconds + 300)
        wall = time.monotonic() - begin
        server.stop()
        saved_home = os.environ.get("WEBGPT_HOME")
        try:
            check = verify(home, server.db, workers, server)
        finally:
            if saved_home is None:
                os.environ.pop("WEBGPT_HOME", None)
            else:
                os.environ["WEBGPT_HOME"] = saved_home
        latencies = [value for worker in workers for value in worker.latencies]
        acknowledged = sum(len(log.confirmed) for w in workers for log in w.episodes.values())
        problems = [p for w in workers for p in w.problems] + check.pop("problems")
        report: dict[str, Any] = {
            "command": f"python bench/recorder_soak.py --seconds {seconds:g} --annotators {annotators}",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "annotators": annotators,
            "seconds": round(wall, 1),
            "corpus_build_s": round(build_seconds, 1),
            "server_start_s": round(first_start, 2),
            "kill": {
                "at_s": round(killed_at, 1),
                "restart_s": round(restart, 2),
                "requests_cut_off": sum(w.cut_off for w in workers),
                "cut_off_steps_stored_before_the_kill": sum(
                    log.landed for w in workers for log in w.episodes.values()
                ),
                "episode_starts_cut_off": sum(w.orphans for w in workers),
            },
            "steps_acknowledged": acknowledged,
            "steps_per_s": round(acknowledged / wall, 1),
            "step_latency_ms": {
                "p50": round(1000 * statistics.median(latencies), 1) if latencies else None,
                "p90": round(1000 * percentile(latencies, 0.90), 1) if latencies else None,
                "p99": round(1000 * percentile(latencies, 0.99), 1) if latencies else None,
                "max": round(1000 * max(latencies), 1) if latencies else None,
            },
            "episodes_started": sum(len(w.episodes) for w in workers),
            "episodes_answered": sum(log.answer is not None for w in workers for log in w.episodes.values()),
            **check,
            "problems": problems[:50],
        }
        report["verified"] = (
            not problems
            and check["steps_lost"] == 0
            and check["steps_duplicated"] == 0
            and check["steps_unacknowledged_in_store"] == 0
            and check["episodes_replayed"] == check["episodes"]
            and check["unfinished_episodes_resumed"] == check["unfinished_episodes"]
        )
        return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long the annotators work")
    parser.add_argument("--annotators", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "recorder-soak.json")
    args = parser.parse_args()
    if args.seconds <= 0 or args.annotators < 1:
        parser.error("--seconds must be above 0 and --annotators at least 1")
    report = run_soak(args.seconds, args.annotators, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    latency = report["step_latency_ms"]
    print(
        f"{report['annotators']} annotators, {report['seconds']} s, SIGKILL at {report['kill']['at_s']} s "
        f"(restart {report['kill']['restart_s']} s): {report['steps_acknowledged']} steps acknowledged, "
        f"{report['steps_per_s']} steps/s, latency p50 {latency['p50']} ms / p99 {latency['p99']} ms; "
        f"{report['episodes']} episodes, lost {report['steps_lost']}, "
        f"duplicated {report['steps_duplicated']}, "
        f"unacknowledged {report['steps_unacknowledged_in_store']}, replayed {report['episodes_replayed']}, "
        f"resumed {report['unfinished_episodes_resumed']}/{report['unfinished_episodes']}: "
        + ("verified" if report["verified"] else "PROBLEMS: " + "; ".join(report["problems"][:5]))
    )
    print(f"wrote {args.out}")
    sys.exit(0 if report["verified"] else 1)


if __name__ == "__main__":
    main()
