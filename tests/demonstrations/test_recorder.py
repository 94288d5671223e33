"""The recorder over real HTTP (uvicorn on 127.0.0.1): episodes, answers, comparisons, security, resume."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from recorder_web import QUESTION, QUOTE, Annotator, env_factory, make_web, serve

from browser_env import textmatch
from browser_env.env import EnvConfig
from demonstrations.recorder import create_app
from demonstrations.recorder.security import AllowedHosts, BindError, check_bind
from demonstrations.recorder.text import observation_html
from demonstrations.replay import replay_episode
from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuestionRecord, QuoteRecord
from demonstrations.store import EpisodeStore

BROWSE = [
    "Search eiffel tower height",
    "Clicked on link 0",
    "Scrolled down 2",
    "Find in page: 330 metres",
    f"Quote: {QUOTE}",
]


@pytest.fixture
def store(tmp_path: Path):
    with EpisodeStore(tmp_path / "recorder.sqlite") as opened:
        yield opened


@pytest.fixture
def server(store: EpisodeStore):
    app = create_app(store, env_factory(), corpus="tiny", seed=0)
    with serve(app) as url:
        yield url


@pytest.fixture
def alice(server: str):
    client = Annotator(server, "alice")
    yield client
    client.close()


def finish(alice: Annotator, episode_id: str, answer: str = "It is 330 metres tall [1].") -> httpx.Response:
    for command in [*BROWSE, "End: Answer"]:
        alice.step(episode_id, command)
    return alice.post_form(f"/episodes/{episode_id}/answer", {"answer": answer})


def test_records_a_whole_episode_from_the_queue(server: str, store: EpisodeStore, alice: Annotator) -> None:
    store.add_questions(
        [QuestionRecord(id="q1", question=QUESTION, gold_answers=["330 metres"], source="test")]
    )
    home = alice.client.get("/")
    assert QUESTION in home.text and 'name="question_id" value="q1"' in home.text
    episode_id = alice.start(question_id="q1")
    page = alice.client.get(f"/episodes/{episode_id}")
    assert page.status_code == 200 and "Actions left: <strong>100</strong>" in page.text

    results = []
    for index, command in enumerate(BROWSE):
        results.append(alice.step(episode_id, command))
        assert store.step_count(episode_id) == index + 1  # stored before the response came back
    assert [r["error"] for r in results] == [None] * len(BROWSE)
    assert results[-1]["actions_left"] == 95
    assert "330 metres" in results[3]["html"] and 'id="window-text"' in results[3]["html"]
    bad = alice.step(episode_id, "Quote: words that are nowhere")
    assert bad["error"] and "not on the current page" in bad["error"]
    assert "not on the current page" in bad["html"]  # errors from the environment are shown

    end = alice.step(episode_id, "End: Answer")
    assert end["redirect"] == f"/episodes/{episode_id}/answer"
    answer_page = alice.client.get(f"/episodes/{episode_id}/answer")
    assert answer_page.status_code == 200 and QUOTE in answer_page.text
    submitted = alice.post_form(f"/episodes/{episode_id}/answer", {"answer": "It is 330 metres tall [1]."})
    assert submitted.status_code == 303

    episode = store.get_episode(episode_id)
    assert episode.source == "human" and episode.annotator == "alice" and episode.corpus == "tiny"
    assert episode.metadata["question_id"] == "q1" and episode.gold_answers == ["330 metres"]
    assert [s.command for s in episode.steps] == [*BROWSE, "Quote: words that are nowhere", "End: Answer"]
    assert [s.valid for s in episode.steps] == [True] * 5 + [False, True]
    assert (
        episode.steps[0].url is None and episode.steps[2].url == "https://en.wikipedia.org/wiki/Eiffel_Tower"
    )
    assert episode.end_reason == "answer" and episode.answer == AnswerRecord(
        text="It is 330 metres tall [1].", citations=[1]
    )
    assert [q.text for q in episode.quotes] == [QUOTE]
    page_text = make_web().fetch(episode.quotes[0].url).text
    assert textmatch.locate_quote(page_text, episode.quotes[0].text) == (
        episode.quotes[0].start,
        episode.quotes[0].end,
    )
    assert replay_episode(episode, env_factory()(EnvConfig())).ok
    assert store.next_question("alice") is None
    assert (
        alice.client.get(f"/episodes/{episode_id}", follow_redirects=False)
        .headers["location"]
        .endswith("/view")
    )


ANSWERS = [
    ("It is 330 metres tall [1].", None),
    ("It was Eiffel [1-1].", None),
    ("It is 330 metres tall. [1] The same height as an 81-storey building [1].", None),
    ("It is 330 metres tall.", "the answer cites no quote"),
    ("It is 330 metres tall [2].", "[2] does not match any quote (there are 1: 1-1)"),
    ("It is 330 metres tall [１].", "the answer cites no quote"),  # fullwidth digits are not citations
    ("It is 330 metres tall [1]. The moon is made of cheese.", "this sentence cites no quote"),
    ("   ", "the answer is empty"),
]


def test_the_recorder_and_the_agent_accept_and_reject_the_same_answers(
    server: str, store: EpisodeStore, alice: Annotator
) -> None:
    from agent.citations import check_citations

    episode_id = None
    for answer, problem in ANSWERS:
        if episode_id is None:
            episode_id = alice.start(question=QUESTION)
            for command in [*BROWSE, "End: Answer"]:
                alice.step(episode_id, command)
        quotes = store.get_episode(episode_id).quotes or [QuoteRecord(url="u", title="t", text=QUOTE)]
        agent_problems = check_citations(answer.strip(), quotes[:1]).problems
        response = alice.post_form(f"/episodes/{episode_id}/answer", {"answer": answer})
        if problem is None:
            assert response.status_code == 303 and agent_problems == [], answer
            assert store.get_episode(episode_id).answer.text == answer
            episode_id = None
        else:
            assert response.status_code == 400 and html.escape(problem, quote=True) in response.text, answer
            assert agent_problems and problem in agent_problems[0], answer
            assert not store.get_episode(episode_id).finished


def test_declining_and_abandoning(server: str, store: EpisodeStore, alice: Annotator) -> None:
    by_command = alice.start(question="Is this a question?")
    assert alice.step(by_command, "End: Nonsense")["redirect"].startswith("/?finished=")
    episode = store.get_episode(by_command)
    assert episode.end_reason == "nonsense" and [s.command for s in episode.steps] == ["End: Nonsense"]

    by_form = alice.start(question="Which party is best?")
    assert alice.post_form(f"/episodes/{by_form}/decline", {"reason": "Controversial"}).status_code == 303
    assert store.get_episode(by_form).end_reason == "controversial"

    after_browsing = alice.start(question=QUESTION)
    for command in [*BROWSE, "End: Answer"]:
        alice.step(after_browsing, command)
    assert alice.post_form(f"/episodes/{after_browsing}/decline", {"reason": "Nonsense"}).status_code == 303
    declined = store.get_episode(after_browsing)
    assert declined.end_reason == "nonsense" and declined.answer is None and len(declined.quotes) == 1

    abandoned = alice.start(question=QUESTION)
    alice.step(abandoned, "Search eiffel")
    assert alice.post_form(f"/episodes/{abandoned}/abandon", {}).status_code == 303
    assert store.get_episode(abandoned).end_reason == "abandoned"
    refused = alice.client.post(
        f"/episodes/{abandoned}/step",
        json={"command": "Top"},
        headers={"X-CSRF-Token": alice.csrf, "Accept": "application/json"},
    )
    assert refused.status_code == 409 and store.step_count(abandoned) == 1


def test_posts_without_the_csrf_token_are_refused(server: str, store: EpisodeStore, alice: Annotator) -> None:
    episode_id = alice.start(question=QUESTION)
    url = f"/episodes/{episode_id}/step"
    no_header = alice.client.post(
        url, json={"command": "Search eiffel"}, headers={"Accept": "application/json"}
    )
    wrong = alice.client.post(url, json={"command": "Search eiffel"}, headers={"X-CSRF-Token": "forged"})
    form = alice.client.post(url, data={"command": "Search eiffel"})
    assert no_header.status_code == wrong.status_code == form.status_code == 403
    assert "CSRF" in no_header.json()["detail"]
    assert store.step_count(episode_id) == 0
    fresh = httpx.Client(base_url=server)  # another site's form: it cannot know the token
    forged = fresh.post("/episodes", data={"question": "x", "csrf_token": alice.csrf})
    assert forged.status_code == 403
    assert len(store.episode_ids()) == 1
    # The plain form route works with the token and redirects back to the page.
    ok = alice.post_form(url, {"command": "Search eiffel"})
    assert ok.status_code == 303 and store.step_count(episode_id) == 1


def test_annotator_name_is_asked_once(server: str) -> None:
    client = httpx.Client(base_url=server)
    client.get("/")
    csrf = client.cookies["webgpt_csrf"]
    start = client.post("/episodes", data={"question": QUESTION, "csrf_token": csrf})
    assert start.status_code == 303 and start.headers["location"].startswith("/annotator")
    assert client.post("/annotator", data={"name": "  ", "csrf_token": csrf}).status_code == 400
    client.post("/annotator", data={"name": "Zoë  Smith", "next": "//evil.example", "csrf_token": csrf})
    assert "Zoë Smith" in client.get("/").text
    assert client.post("/episodes", data={"question": QUESTION, "csrf_token": csrf}).status_code == 303


def test_token_is_required_when_set(store: EpisodeStore) -> None:
    app = create_app(store, env_factory(), token="s3cret-s3cret-s3cret")
    with serve(app) as url:
        assert httpx.get(url + "/").status_code == 401
        assert httpx.get(url + "/?token=wrong").status_code == 401
        client = httpx.Client(base_url=url)
        first = client.get("/progress?token=s3cret-s3cret-s3cret")
        assert first.status_code == 303 and first.headers["location"] == "/progress"
        assert client.get("/progress").status_code == 200  # the cookie carries it now
        by_header = httpx.get(url + "/progress", headers={"X-Access-Token": "s3cret-s3cret-s3cret"})
        assert by_header.status_code == 200
        annotator = Annotator(url, "bob", token="s3cret-s3cret-s3cret")
        episode_id = annotator.start(question=QUESTION)
        annotator.step(episode_id, "Search eiffel")
        assert store.step_count(episode_id) == 1


def test_requests_naming_another_host_are_refused(server: str, store: EpisodeStore) -> None:
    port = server.rsplit(":", 1)[1]
    rebound = httpx.get(server + "/", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400 and "Unknown host 'attacker.example'" in rebound.text
    assert "--allowed-host" in rebound.text
    assert httpx.get(server + "/", headers={"Host": f"attacker.example:{port}"}).status_code == 400
    for host in (
        "127.0.0.1",
        f"127.0.0.1:{port}",
        "localhost",
        f"LOCALHOST:{port}",
        "[::1]",
        f"[::1]:{port}",
    ):
        assert httpx.get(server + "/progress", headers={"Host": host}).status_code == 200, host
    with serve(create_app(store, env_factory(), token="s3cret-s3cret-s3cret")) as url:  # before the token
        forged = httpx.get(url + "/?token=s3cret-s3cret-s3cret", headers={"Host": "attacker.example"})
        assert forged.status_code == 400
    public = create_app(store, env_factory(), host="192.168.1.5", allowed_hosts=["Rec.Example.org"])
    with serve(public) as url:
        assert httpx.get(url + "/progress").status_code == 400  # 127.0.0.1 is not the address it serves
        for host in ("192.168.1.5:8765", "rec.example.org", "rec.example.org.:8765"):
            assert httpx.get(url + "/progress", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_by_bind_address() -> None:
    loopback = AllowedHosts.for_bind("127.0.0.1")
    assert all(loopback.allows(h) for h in ("127.0.0.1:8765", "localhost", "[::1]:8765", "[0:0::1]"))
    assert not any(loopback.allows(h) for h in ("attacker.example", "10.0.0.2", "::1", "", "localhost:x"))
    assert AllowedHosts.for_bind("::1") == AllowedHosts.for_bind("localhost") == loopback
    anywhere = AllowedHosts.for_bind("0.0.0.0", ["rec.example.org"])
    assert anywhere.allows("10.0.0.2:8765") and anywhere.allows("[fe80::1]") and anywhere.allows("localhost")
    assert anywhere.allows("rec.example.org") and not anywhere.allows("attacker.example")


def test_non_ascii_tokens_are_refused_not_a_server_error(store: EpisodeStore) -> None:
    with serve(create_app(store, env_factory(), token="s3cret-s3cret-s3cret")) as url:
        assert httpx.get(url + "/", headers={"X-Access-Token": "sécret".encode()}).status_code == 401
        assert (
            httpx.get(url + "/", headers={"Cookie": "webgpt_token=s\xe9cret".encode("latin-1")}).status_code
            == 401
        )
        assert httpx.get(url + "/?token=s%C3%A9cret").status_code == 401
    with serve(create_app(store, env_factory())) as url:
        client = httpx.Client(base_url=url)
        client.get("/")
        forged = client.post(
            "/episodes", data={"question": "x"}, headers={"X-CSRF-Token": "jeton-é".encode()}
        )
        assert forged.status_code == 403


def test_cli_offers_allowed_hosts() -> None:
    from typer.testing import CliRunner

    from webgpt_cli.app import app as cli

    result = CliRunner().invoke(cli, ["record", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--allowed-host" in result.output


def test_bind_rules() -> None:
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    check_bind("0.0.0.0", "token-0123456789abcdef")
    with pytest.raises(BindError, match="--token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(BindError):
        check_bind("192.168.1.5", "")


def test_cli_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "webgpt_cli.app",
        "record",
        "--host",
        "0.0.0.0",
        "--db",
        str(tmp_path / "x.sqlite"),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert result.returncode != 0
    assert "refusing to listen on 0.0.0.0 without an access token" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.sqlite").exists()  # refused before touching anything


def test_resumes_an_unfinished_episode_after_a_restart(store: EpisodeStore) -> None:
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        before = [alice.step(episode_id, command) for command in BROWSE[:3]]
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:  # a fresh server: nothing in memory
        alice = Annotator(url)
        page = alice.client.get(f"/episodes/{episode_id}")
        assert page.status_code == 200 and "Actions left: <strong>97</strong>" in page.text
        assert observation_of(page.text) == observation_of(before[-1]["html"])  # the same view as before
        alice.step(episode_id, BROWSE[3])
        assert alice.step(episode_id, BROWSE[4])["error"] is None
    episode = store.get_episode(episode_id)
    assert [s.index for s in episode.steps] == [0, 1, 2, 3, 4]
    assert replay_episode(episode, env_factory()(EnvConfig())).ok
    # A recorder over another corpus refuses to resume it, with a reason, and stores nothing.
    with serve(create_app(store, env_factory(), corpus="other")) as url:
        alice = Annotator(url)
        page = alice.client.get(f"/episodes/{episode_id}")
        assert page.status_code == 409 and "recorded on corpus" in page.text
    assert store.step_count(episode_id) == 5


def test_comparison_of_a_human_and_a_model_answer(server: str, store: EpisodeStore, alice: Annotator) -> None:
    assert "Nothing to compare" in alice.client.get("/compare").text
    human = alice.start(question=QUESTION)
    finish(alice, human)
    model = EpisodeRecord(
        question=QUESTION,
        source="model",
        model_id="tiny-model",
        quotes=[QuoteRecord(url="https://travel.example.com/towers", title="Famous towers", text="towers")],
        answer=AnswerRecord(text="It is very tall [1].", citations=[1]),
        end_reason="answer",
    )
    store.save_episode(model)
    assert "Nothing to compare" in alice.client.get("/compare").text  # alice wrote one of the two answers
    bob = Annotator(server, "bob")
    page = bob.client.get("/compare")
    text = re.sub(r"<[^>]+>", "", page.text)
    assert "It is 330 metres tall [1]." in text and "It is very tall [1]." in text
    a, b = re.findall(r'name="episode_[ab]" value="([0-9a-f]+)"', page.text)
    assert {a, b} == {human, model.id}
    form = {"episode_a": a, "episode_b": b, "justification": "Cites the height."}
    form["choice"] = "A_much" if a == human else "B_much"
    form["a_coherence"], form["b_usefulness"] = "6", "2"
    assert bob.post_form("/compare", {**form, "a_factual_accuracy": "9"}).status_code == 400
    assert alice.post_form("/compare", form).status_code == 400  # never one's own answer
    assert bob.post_form("/compare", form).status_code == 303
    (comparison,) = store.iter_comparisons()
    assert comparison.preference == ("A" if a == human else "B") and comparison.strength == "much_better"
    assert comparison.annotator == "bob" and comparison.justification == "Cites the height."
    assert comparison.answer_a.episode_id == a and comparison.answer_a.ratings.coherence == 6
    assert comparison.answer_b.ratings.usefulness == 2 and comparison.answer_b.ratings.coherence is None
    human_side = comparison.answer_a if a == human else comparison.answer_b
    assert human_side.text == "It is 330 metres tall [1]." and [q.text for q in human_side.quotes] == [QUOTE]
    assert "Nothing to compare" in bob.client.get("/compare").text  # bob has compared the only pair
    carol = Annotator(server, "carol")
    assert "Answer A" in carol.client.get("/compare").text


def test_viewer_and_progress(server: str, store: EpisodeStore, alice: Annotator) -> None:
    episode_id = alice.start(question=QUESTION)
    finish(alice, episode_id)
    episode = store.get_episode(episode_id)
    listing = alice.client.get("/episodes")
    assert f"/episodes/{episode_id}/view" in listing.text
    assert f"/episodes/{episode_id}/view" not in alice.client.get("/episodes?source=model").text
    for index, step in enumerate(episode.steps):
        page = alice.client.get(f"/episodes/{episode_id}/view?step={index}")
        assert observation_of(page.text) == step.observation
        assert f"Step {index + 1} of {len(episode.steps)}" in page.text
    last = alice.client.get(f"/episodes/{episode_id}/view?step=99")
    assert "It is 330 metres tall [1]." in last.text and QUOTE in last.text
    verified = alice.client.get(f"/episodes/{episode_id}/view?verify=1")
    assert "all 6 steps replay with identical observations" in verified.text
    progress = alice.client.get("/progress").text
    assert re.search(r"<td>alice</td><td>1</td><td>1</td>", progress)
    assert re.search(r"<td>human</td><td>1</td><td>1</td><td>1</td>", progress)


def html_unescape(text: str) -> str:
    return html.unescape(text)


def observation_of(page: str) -> str:
    """The observation text a page shows (markup removed)."""
    match = re.search(r'<pre class="observation" id="observation">(.*?)</pre>', page, re.S)
    assert match, page
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def test_observation_html_keeps_the_text_exactly() -> None:
    observation = (
        "♦Question\nA <b> & c?\n♦Text\nSee 【3†Paris†fr.org】 and 【4†Lyon】 & more\n♦Actions left: 9"
    )
    window = "See 【3†Paris†fr.org】 and 【4†Lyon】 & more"
    rendered = observation_html(observation, window, [3])
    assert '<a class="link" href="#" data-link="3">【3†Paris†fr.org】</a>' in rendered
    assert 'data-link="4"' not in rendered  # not a link on this page
    assert html_unescape(re.sub(r"<[^>]+>", "", str(rendered))) == observation
    assert "&lt;b&gt; &amp; c?" in rendered


def test_running_out_of_actions_still_asks_for_the_answer(store: EpisodeStore) -> None:
    app = create_app(store, env_factory(), env_config=EnvConfig(max_actions=5), corpus="tiny")
    with serve(app) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        replies = [alice.step(episode_id, command) for command in BROWSE]
        assert replies[-1]["redirect"] == f"/episodes/{episode_id}/answer"  # the fifth action was the last
        page = alice.client.get(f"/episodes/{episode_id}", follow_redirects=False)
        assert page.headers["location"] == f"/episodes/{episode_id}/answer"
        assert alice.post_form(f"/episodes/{episode_id}/answer", {"answer": "330 m [1]"}).status_code == 303
        empty = alice.start(question="Anything?")
        for command in ["Search x", "Top", "Top", "Top", "Top"]:
            alice.step(empty, command)
        answer_page = alice.client.get(f"/episodes/{empty}/answer")
        assert "nothing to cite" in answer_page.text
        assert alice.post_form(f"/episodes/{empty}/answer", {"answer": "guess"}).status_code == 400
    episode = store.get_episode(episode_id)
    assert episode.end_reason == "answer" and episode.metadata["browsing_end"] == "action_budget"
    assert episode.env_config["max_actions"] == 5
    assert replay_episode(episode, env_factory()(EnvConfig(max_actions=5))).ok


def test_environments_dropped_from_memory_resume_from_the_store(
    server: str, store: EpisodeStore, alice: Annotator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demonstrations.recorder import live

    monkeypatch.setattr(live, "MAX_LIVE", 1)
    first = alice.start(question=QUESTION)
    alice.step(first, BROWSE[0])
    second = alice.start(question="Where is Paris?")  # pushes the first out of memory
    alice.step(second, "Search paris")
    assert alice.step(first, BROWSE[1])["error"] is None
    assert alice.step(second, "Clicked on link 0")["error"] is None
    assert [s.command for s in store.get_episode(first).steps] == BROWSE[:2]
    assert replay_episode(store.get_episode(second), env_factory()(EnvConfig())).ok
