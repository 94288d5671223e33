"""The recorder under attack and in two tabs, over real HTTP: steps that are stored whole or not at all,
odd tokens, per-annotator tokens and ownership, stale pages, framing, foreign origins, weak tokens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from recorder_web import QUESTION, Annotator, env_factory, serve

from browser_env.env import BrowserEnv, EnvConfig
from demonstrations.recorder import create_app
from demonstrations.recorder.security import AccessTokens, BindError, check_bind
from demonstrations.replay import replay_episode
from demonstrations.store import EpisodeStore, StoreError

ALICE = "alice:alice-secret-0123456789"
BOB = "bob:bob-secret-0123456789abc"
SHARED = "shared-secret-0123456789"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@pytest.fixture
def store(tmp_path: Path):
    with EpisodeStore(tmp_path / "recorder.sqlite") as opened:
        yield opened


def replays(store: EpisodeStore, episode_id: str) -> bool:
    return replay_episode(store.get_episode(episode_id), env_factory()(EnvConfig())).ok


# ---------------------------------------------------------------- a step is stored whole or not at all


def test_a_command_that_is_not_valid_unicode_is_refused_before_stepping(store: EpisodeStore) -> None:
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        alice.step(episode_id, "Search eiffel tower")
        refused = alice.client.post(
            f"/episodes/{episode_id}/step",
            content=b'{"command": "Search \\ud800 tower"}',  # a lone surrogate, as JSON allows
            headers={**JSON_HEADERS, "X-CSRF-Token": alice.csrf},
        )
        assert refused.status_code == 400
        assert (
            "not valid Unicode" in refused.json()["detail"]
            and "nothing was recorded" in refused.json()["detail"]
        )
        assert store.step_count(episode_id) == 1
        reply = alice.step(episode_id, "Clicked on link 0")
        assert reply["step"] == 1 and reply["actions_left"] == 98 and reply["error"] is None
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:  # a restart resumes it by replay
        alice = Annotator(url)
        assert alice.client.get(f"/episodes/{episode_id}").status_code == 200
        assert alice.step(episode_id, "Scrolled down 1")["actions_left"] == 97
    assert [s.command for s in store.get_episode(episode_id).steps] == [
        "Search eiffel tower",
        "Clicked on link 0",
        "Scrolled down 1",
    ]
    assert replays(store, episode_id)


def test_a_step_that_fails_midway_leaves_the_episode_as_it_was(store: EpisodeStore) -> None:
    """The environment used an action, then failed: nothing is stored and the live environment is
    rebuilt from the store, so the next step and a replay agree with what was stored."""
    make = env_factory()

    def failing_factory(config: EnvConfig) -> BrowserEnv:
        env = make(config)
        real_step = env.step

        def step(action):  # type: ignore[no-untyped-def]
            if "boom" in str(action):
                real_step("Top")
                raise RuntimeError("the page could not be rendered")
            return real_step(action)

        env.step = step  # type: ignore[method-assign]
        return env

    with serve(create_app(store, failing_factory, corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        alice.step(episode_id, "Search eiffel tower")
        failed = alice.send_step(episode_id, "Find in page: boom")
        assert failed.status_code == 500 and "recorded nothing" in failed.json()["detail"]
        assert store.step_count(episode_id) == 1
        reply = alice.step(episode_id, "Clicked on link 0")
        assert reply["step"] == 1 and reply["actions_left"] == 98
    assert replays(store, episode_id)


def test_a_step_the_store_refuses_is_not_kept_in_memory(
    store: EpisodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        alice.step(episode_id, "Search eiffel tower")
        real_append = store.append_step

        def full_disk(*args: object) -> None:
            monkeypatch.setattr(store, "append_step", real_append)
            raise StoreError("database or disk is full: free some space")

        monkeypatch.setattr(store, "append_step", full_disk)
        assert alice.send_step(episode_id, "Clicked on link 0").status_code == 503
        assert store.step_count(episode_id) == 1
        reply = alice.step(episode_id, "Clicked on link 0")
        assert reply["step"] == 1 and reply["actions_left"] == 98
        assert alice.step(episode_id, "Scrolled down 1")["step"] == 2
    assert replays(store, episode_id)


# ---------------------------------------------------------------- non-ASCII tokens everywhere


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"headers": {"X-Access-Token": "sécret-sécret-sécret".encode()}},
        {"headers": {"X-Access-Token": "s\xe9cret".encode("latin-1")}},
        {"headers": {"Cookie": "webgpt_token=s\xe9cret".encode("latin-1")}},
        {"headers": {"Cookie": "webgpt_token=sécret".encode()}},
        {"params": {"token": "sécret-sécret-sécret"}},
        {"query": "token=%ED%A0%80%FF"},
    ],
    ids=["header-utf8", "header-latin1", "cookie-latin1", "cookie-utf8", "query", "query-bad-bytes"],
)
def test_non_ascii_access_tokens_are_refused_on_every_path(store: EpisodeStore, request_kwargs: dict) -> None:
    with serve(create_app(store, env_factory(), token=SHARED)) as url:
        query = request_kwargs.pop("query", "")
        for method in ("GET", "POST"):
            reply = httpx.request(method, f"{url}/episodes?{query}", **request_kwargs)
            assert reply.status_code == 401, (method, reply.text)


@pytest.mark.parametrize("where", ["header", "header-latin1", "form", "multipart", "cookie", "json"])
def test_non_ascii_csrf_tokens_are_refused(store: EpisodeStore, where: str) -> None:
    with serve(create_app(store, env_factory())) as url:
        client = httpx.Client(base_url=url)
        client.get("/")
        csrf = client.cookies["webgpt_csrf"]
        data = {"question": QUESTION, "csrf_token": "jeton-é"}
        if where == "header":
            reply = client.post(
                "/episodes", data={"question": "x"}, headers={"X-CSRF-Token": "jeton-é".encode()}
            )
        elif where == "header-latin1":
            headers = {"X-CSRF-Token": "jeton-\xe9".encode("latin-1")}
            reply = client.post("/episodes", data={"question": "x"}, headers=headers)
        elif where == "form":
            reply = client.post("/episodes", data=data)
        elif where == "multipart":
            reply = client.post("/episodes", data=data, files={"attachment": ("a.txt", b"x")})
        elif where == "cookie":
            cookie = "webgpt_csrf=jeton-\xe9".encode("latin-1")
            reply = httpx.post(
                url + "/episodes", data={"question": "x", "csrf_token": csrf}, headers={"Cookie": cookie}
            )
        else:
            headers = {**JSON_HEADERS, "X-CSRF-Token": "é".encode()}
            reply = client.post("/episodes/0123/step", content=b'{"command": "Top"}', headers=headers)
        assert reply.status_code == 403, reply.text
        assert store.episode_ids() == []


# ---------------------------------------------------------------- per-annotator tokens and ownership


def test_per_annotator_tokens_name_the_annotator_and_keep_episodes_to_their_owner(
    store: EpisodeStore,
) -> None:
    with serve(create_app(store, env_factory(), corpus="tiny", token=[ALICE, BOB])) as url:
        alice = Annotator(url, None, token=ALICE.split(":", 1)[1])
        bob = Annotator(url, None, token=BOB.split(":", 1)[1])
        assert 'id="annotator-name">alice<' in alice.client.get("/").text
        renamed = alice.post_form("/annotator", {"name": "bob", "next": "/"})
        assert renamed.status_code == 409 and "comes from your access token" in renamed.text
        forged = httpx.get(
            url + "/", headers={"X-Access-Token": ALICE.split(":", 1)[1], "Cookie": "webgpt_annotator=bob"}
        )
        assert 'id="annotator-name">alice<' in forged.text  # the name cookie no longer counts

        episode_id = alice.start(question=QUESTION)
        alice.step(episode_id, "Search eiffel tower")
        assert store.get_episode(episode_id).annotator == "alice"
        refused = [
            bob.send_step(episode_id, "Clicked on link 0"),
            bob.client.get(f"/episodes/{episode_id}"),
            bob.post_form(f"/episodes/{episode_id}/answer", {"answer": "330 m [1]."}),
            bob.post_form(f"/episodes/{episode_id}/decline", {"reason": "nonsense"}),
            bob.post_form(f"/episodes/{episode_id}/abandon", {}),
            bob.client.post(
                f"/episodes/{episode_id}/answer/check",
                json={"answer": "x"},
                headers={"X-CSRF-Token": bob.csrf, "Accept": "application/json"},
            ),
        ]
        assert [reply.status_code for reply in refused] == [403] * len(refused)
        assert "belongs to annotator 'alice'" in refused[0].json()["detail"]
        assert bob.client.get(f"/episodes/{episode_id}/view").status_code == 200  # reading is allowed
        assert store.step_count(episode_id) == 1 and not store.get_episode(episode_id).finished

        own = bob.start(question=QUESTION)
        assert bob.step(own, "Search eiffel")["step"] == 0
        assert alice.step(episode_id, "Clicked on link 0")["step"] == 1
        assert alice.post_form(f"/episodes/{episode_id}/abandon", {}).status_code == 303
    assert store.get_episode(own).annotator == "bob"


def test_without_tokens_any_annotator_may_step_any_episode(store: EpisodeStore) -> None:
    """Loopback mode as documented: names are labels, not identities."""
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice, bob = Annotator(url, "alice"), Annotator(url, "bob")
        episode_id = alice.start(question=QUESTION)
        assert bob.step(episode_id, "Search eiffel")["step"] == 0


def test_token_rules() -> None:
    assert AccessTokens.parse([ALICE, BOB]).names == ["alice", "bob"]
    assert not AccessTokens.parse(SHARED).per_annotator
    for tokens, message in [
        ("x", "has 1 characters; use at least 16"),
        ("alice:short", "for 'alice' has 5 characters"),
        ([ALICE, SHARED], "not a mix of both"),
        ([ALICE, "alice:another-secret-0123456"], "repeat one"),
        ([ALICE, "bob:" + ALICE.split(":", 1)[1]], "repeat one"),
        (":" + SHARED, "names in NAME:SECRET tokens must have"),
    ]:
        with pytest.raises(BindError, match=message):
            check_bind("127.0.0.1", tokens)
    with pytest.raises(BindError, match="at least 16"):
        check_bind("0.0.0.0", "tiny")
    with pytest.raises(BindError, match="at least 16"):
        create_app(EpisodeStore.__new__(EpisodeStore), env_factory(), token="tiny")


def test_tokens_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(f"# annotators\n{ALICE}\n\n  {BOB}  \n")
    assert AccessTokens.read(path).names == ["alice", "bob"]
    path.write_text(SHARED + "\n")
    with pytest.raises(BindError, match="one NAME:SECRET a line"):
        AccessTokens.read(path)
    with pytest.raises(BindError, match="cannot read the tokens file"):
        AccessTokens.read(tmp_path / "missing.txt")


def test_cli_refuses_a_short_token_with_a_sentence(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from webgpt_cli.app import app as cli

    db = tmp_path / "x.sqlite"
    result = CliRunner().invoke(cli, ["record", "--token", "abc", "--db", str(db)])
    assert result.exit_code == 2 and "has 3 characters; use at least 16" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    both = CliRunner().invoke(
        cli, ["record", "--token", SHARED, "--tokens-file", str(tmp_path / "t"), "--db", str(db)]
    )
    assert both.exit_code == 2 and "not both" in both.output
    assert not db.exists()


# ---------------------------------------------------------------- stale pages


def test_a_command_made_on_a_stale_page_is_refused_with_the_current_state(store: EpisodeStore) -> None:
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        first = alice.send_step(episode_id, "Search eiffel tower", at=0).json()  # tab 1
        assert first["at"] == 1
        second = alice.send_step(episode_id, "Clicked on link 0", at=1).json()  # tab 2, same results page
        assert second["at"] == 2
        stale = alice.send_step(episode_id, "Clicked on link 1", at=1)  # tab 1 still shows the results
        assert stale.status_code == 409
        body = stale.json()
        assert body["stale"] and body["at"] == 2 and "another tab or window" in body["detail"]
        assert "Eiffel Tower (en.wikipedia.org)" in body["html"]  # what tab 1 must now show
        assert store.step_count(episode_id) == 2
        assert alice.send_step(episode_id, "Scrolled down 1", at=2).status_code == 200
        assert alice.send_step(episode_id, "Top").status_code == 200  # clients that send no count
        assert alice.send_step(episode_id, "Top", at="three").status_code == 400
        assert alice.send_step(episode_id, "Top", at=True).status_code == 400
        form = alice.post_form(f"/episodes/{episode_id}/step", {"command": "Top", "at": "1"})
        assert form.status_code == 409 and "another tab or window" in form.text
    assert [s.command for s in store.get_episode(episode_id).steps] == [
        "Search eiffel tower",
        "Clicked on link 0",
        "Scrolled down 1",
        "Top",
    ]


# ---------------------------------------------------------------- framing, origins


def test_no_page_may_be_framed(store: EpisodeStore) -> None:
    with serve(create_app(store, env_factory(), token=SHARED)) as url:
        for reply in (
            httpx.get(url + "/progress", headers={"X-Access-Token": SHARED}),
            httpx.get(url + "/progress"),  # 401
            httpx.get(url + "/progress", headers={"Host": "attacker.example"}),  # 400
        ):
            assert "frame-ancestors 'none'" in reply.headers["content-security-policy"], reply.status_code
            assert reply.headers["x-frame-options"] == "DENY"


def test_posts_from_another_origin_are_refused(store: EpisodeStore) -> None:
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        port = url.rsplit(":", 1)[1]
        for headers in (
            {"Origin": "http://attacker.example"},
            {"Origin": f"http://attacker.example:{port}"},
            {"Origin": f"http://127.0.0.1:{int(port) + 1}"},
            {"Origin": "null"},
            {"Referer": "http://attacker.example/page.html"},
        ):
            reply = alice.client.post(
                f"/episodes/{episode_id}/step",
                json={"command": "Search eiffel"},
                headers={"X-CSRF-Token": alice.csrf, **headers},
            )
            assert reply.status_code == 403 and "another site" in reply.text, headers
        assert store.step_count(episode_id) == 0
        for headers in (
            {"Origin": url},
            {"Origin": f"http://localhost:{port}", "Host": f"localhost:{port}"},
            {"Referer": f"{url}/episodes/{episode_id}"},
            {},
        ):
            reply = alice.client.post(
                f"/episodes/{episode_id}/step",
                json={"command": "Top"},
                headers={"X-CSRF-Token": alice.csrf, "Accept": "application/json", **headers},
            )
            assert reply.status_code == 200, (headers, reply.text)
        assert store.step_count(episode_id) == 4


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Chromium at /usr/bin/chromium")
def test_a_stale_tab_in_chromium_is_refused_and_shows_the_current_state(store: EpisodeStore) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser_env.fetch import CHROMIUM_ARGS, CHROMIUM_PATH

    with serve(create_app(store, env_factory(), corpus="tiny")) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = browser.new_context()
        first = context.new_page()
        first.set_default_timeout(20_000)
        first.goto(url + "/annotator")
        first.fill("#annotator-input", "carla")
        first.click("#annotator-save")
        alice = Annotator(url)  # starts the episode; the tabs below record in it
        episode_id = alice.start(question=QUESTION)
        alice.step(episode_id, "Search eiffel tower")
        first.goto(f"{url}/episodes/{episode_id}")  # tab 1 shows the search results
        second = context.new_page()
        second.goto(f"{url}/episodes/{episode_id}")
        second.click('#observation a.link[data-link="0"]')  # tab 2 opens a result
        second.wait_for_selector('.browse[data-steps="1"]')
        first.click('#observation a.link[data-link="1"]')  # tab 1 still shows the results
        first.wait_for_function("document.getElementById('flash').textContent.includes('another tab')")
        assert "Eiffel Tower (en.wikipedia.org)" in first.inner_text("#observation")  # now current
        assert store.step_count(episode_id) == 2
        first.keyboard.press("t")  # a command on the refreshed page goes through
        first.wait_for_selector('.browse[data-steps="1"]')
        assert [s.command for s in store.get_episode(episode_id).steps] == [
            "Search eiffel tower",
            "Clicked on link 0",
            "Top",
        ]
        browser.close()


def test_request_bodies_over_the_limit_are_refused_before_they_are_read(store: EpisodeStore) -> None:
    from demonstrations.recorder.security import MAX_BODY_BYTES

    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        step_url = f"/episodes/{episode_id}/step"
        huge = "Search " + "x" * (MAX_BODY_BYTES + 10)
        headers = {**JSON_HEADERS, "X-CSRF-Token": alice.csrf}
        declared = alice.client.post(step_url, json={"command": huge}, headers=headers)
        assert declared.status_code == 413 and "nothing was recorded" in declared.text

        def chunks():
            yield b'{"command": "Search '
            for _ in range(MAX_BODY_BYTES // 1024 + 2):
                yield b"x" * 1024
            yield b'"}'

        streamed = alice.client.post(step_url, content=chunks(), headers=headers)
        assert streamed.status_code == 413
        assert store.step_count(episode_id) == 0  # nothing of the refused requests was stored
        assert alice.step(episode_id, "Search eiffel tower")["error"] is None
