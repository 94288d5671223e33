"""A tiny web and a real uvicorn server for the recorder tests (imported by test_recorder*.py)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from browser_env.docstore import Document
from browser_env.env import BrowserEnv, EnvConfig
from browser_env.memory_web import MemoryWeb

QUESTION = "How tall is the Eiffel Tower?"
QUOTE = "The tower is 330 metres tall, about the same height as an 81-storey building."

FILLER = "\n".join(
    f"<p>Paragraph {n} of the history section describes the iron works and the visitors of that year.</p>"
    for n in range(30)
)

DOCUMENTS = [
    Document(
        "https://en.wikipedia.org/wiki/Eiffel_Tower",
        "Eiffel Tower",
        f"""<html><head><title>Eiffel Tower</title></head><body>
        <p>The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in
        <a href="/wiki/Paris">Paris</a>, France. It is named after the engineer Gustave Eiffel.</p>
        {FILLER}
        <p>{QUOTE} It was the tallest man-made structure in the world until 1930.</p>
        <p>The tower has three levels for visitors, with restaurants on the first and second levels.</p>
        </body></html>""",
        "html",
    ),
    Document(
        "https://en.wikipedia.org/wiki/Paris",
        "Paris",
        "<html><head><title>Paris</title></head><body><p>Paris is the capital and most populous city of "
        "France. The Eiffel Tower stands on the left bank of the Seine.</p></body></html>",
        "html",
    ),
    Document(
        "https://travel.example.com/towers",
        "Famous towers",
        "Famous towers of the world include the Eiffel Tower in Paris and the CN Tower in Toronto.\n\n"
        "The Eiffel Tower attracts millions of visitors every year.",
        "text",
    ),
]


def make_web(documents: list[Document] | None = None) -> MemoryWeb:
    return MemoryWeb(DOCUMENTS if documents is None else documents)


def env_factory(web: MemoryWeb | None = None):  # type: ignore[no-untyped-def]
    web = web or make_web()

    def factory(config: EnvConfig) -> BrowserEnv:
        return BrowserEnv(web, web, config)

    return factory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on a real uvicorn server on 127.0.0.1 in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the recorder server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for_server(base_url: str, timeout: float = 60.0, process: Any = None) -> None:
    """Poll ``base_url`` until it answers (or the process dies, or ``timeout`` seconds pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            httpx.get(base_url + "/progress", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{base_url} did not answer within {timeout} s")


class Annotator:
    """An httpx client that behaves like one person's browser: CSRF cookie, name cookie, JSON steps."""

    def __init__(self, base_url: str, name: str | None = "alice", token: str | None = None) -> None:
        """``name=None``: the name comes from a per-annotator ``token``."""
        headers = {"X-Access-Token": token} if token else {}
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=30)
        self.client.get("/")
        self.csrf = self.client.cookies["webgpt_csrf"]
        if name is not None:
            response = self.post_form("/annotator", {"name": name, "next": "/"})
            assert response.status_code == 303, response.text

    def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data={**data, "csrf_token": self.csrf})

    def start(self, *, question: str = "", question_id: str = "") -> str:
        response = self.post_form("/episodes", {"question": question, "question_id": question_id})
        assert response.status_code == 303, response.text
        match = re.fullmatch(r"/episodes/([0-9a-f]+)", response.headers["location"])
        assert match, response.headers["location"]
        return match.group(1)

    def step(self, episode_id: str, command: str) -> dict[str, Any]:
        response = self.send_step(episode_id, command)
        assert response.status_code == 200, response.text
        return response.json()

    def send_step(self, episode_id: str, command: str, **extra: Any) -> httpx.Response:
        """The raw reply to a JSON step; ``extra`` goes into the body (such as ``at=3``)."""
        return self.client.post(
            f"/episodes/{episode_id}/step",
            json={"command": command, **extra},
            headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"},
        )

    def close(self) -> None:
        self.client.close()
