"""The recorder as an annotator on a long shift uses it: undo, the end of browsing explained, drafts kept,
Find shown in the page, comparisons (never one's own answer, queued model pairs first, keys, linked
citations), plurals, and a layout that keeps the page text, the quotes and the action counter on screen
for 60 steps, fits 120 columns at 1,024 px and does not overflow a phone.

Screenshots go to each test's tmp dir; ``WEBGPT_DOCS_SCREENSHOTS=1`` also writes the 60-step one to
docs/recorder-60-steps.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from recorder_web import QUESTION, QUOTE, Annotator, env_factory, serve
from typer.testing import CliRunner

from browser_env.env import EnvConfig
from browser_env.fetch import CHROMIUM_ARGS, CHROMIUM_PATH
from demonstrations.recorder import create_app
from demonstrations.recorder.text import find_state, observation_html
from demonstrations.replay import replay_episode
from demonstrations.schemas import AnswerRecord, ComparedAnswer, ComparisonRecord, EpisodeRecord, QuoteRecord
from demonstrations.store import EpisodeStore

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = Path(__file__).parents[2] / "docs"
NAMED = "It is named after the engineer Gustave Eiffel."
LEVELS = "The tower has three levels for visitors"


@pytest.fixture
def store(tmp_path: Path):
    with EpisodeStore(tmp_path / "shift.sqlite") as opened:
        yield opened


def model_episode(
    question: str, text: str, quote: str = "Eiffel Tower", annotator: str | None = None
) -> EpisodeRecord:
    return EpisodeRecord(
        question=question,
        source="human" if annotator else "model",
        annotator=annotator,
        model_id=None if annotator else "tiny-model",
        quotes=[QuoteRecord(url="https://travel.example.com/towers", title="Famous towers", text=quote)],
        answer=AnswerRecord(text=text, citations=[1]),
        end_reason="answer",
    )


# ------------------------------------------------------------------------------------------ over HTTP


def test_undo_takes_back_the_last_step_by_replaying_the_rest(store: EpisodeStore) -> None:
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        alice.step(episode_id, "Search eiffel tower")
        alice.step(episode_id, "Clicked on link 0")
        alice.step(episode_id, f"Quote: {QUOTE}")
        wrong = alice.step(episode_id, f"Quote: {NAMED}")
        assert wrong["error"] is None and "Quotes: <strong>2</strong>" in wrong["html"]

        stale = alice.post_form(f"/episodes/{episode_id}/undo", {"step": "2"})  # not the last step
        assert stale.status_code == 409 and "Nothing was undone" in stale.text
        undone = alice.post_form(f"/episodes/{episode_id}/undo", {"step": "3"})
        assert undone.status_code == 303 and undone.headers["location"] == f"/episodes/{episode_id}?undone=4"
        page = alice.client.get(undone.headers["location"]).text
        assert "Quotes: <strong>1</strong>" in page and "step 4 was undone" in page
        assert store.step_count(episode_id) == 3

        # End: Answer can be taken back from the answer page.
        ended = alice.step(episode_id, "End: Answer")
        assert ended["redirect"] == f"/episodes/{episode_id}/answer"
        answer_page = alice.client.get(ended["redirect"]).text
        assert 'id="undo-form"' in answer_page and "End: Answer" in answer_page
        assert alice.post_form(f"/episodes/{episode_id}/undo", {"step": "3"}).status_code == 303
        assert alice.step(episode_id, f"Quote: {LEVELS}")["error"] is None
        alice.step(episode_id, "End: Answer")
        answered = alice.post_form(f"/episodes/{episode_id}/answer", {"answer": "It is 330 metres tall [1]."})
        assert answered.status_code == 303
        episode = store.get_episode(episode_id)
        assert [step.command for step in episode.steps] == [
            "Search eiffel tower",
            "Clicked on link 0",
            f"Quote: {QUOTE}",
            f"Quote: {LEVELS}",
            "End: Answer",
        ]
        assert [quote.text for quote in episode.quotes] == [QUOTE, LEVELS]
        assert replay_episode(episode, env_factory()(EnvConfig())).ok
        finished = alice.post_form(f"/episodes/{episode_id}/undo", {"step": "4"})
        assert finished.status_code == 409 and "finished" in finished.text
        alice.close()


def test_the_answer_page_says_why_browsing_ended(store: EpisodeStore) -> None:
    app = create_app(store, env_factory(), env_config=EnvConfig(max_actions=3), corpus="tiny")
    with serve(app) as url:
        alice = Annotator(url)
        episode_id = alice.start(question=QUESTION)
        alice.step(episode_id, "Search eiffel tower")
        alice.step(episode_id, "Clicked on link 0")
        last = alice.step(episode_id, f"Quote: {QUOTE}")
        assert last["redirect"] == f"/episodes/{episode_id}/answer"
        page = alice.client.get(last["redirect"]).text
        assert "Browsing ended because all 3 actions were used" in page
        alice.close()


def test_counts_are_written_with_the_right_plural(store: EpisodeStore) -> None:
    a, b = model_episode(QUESTION, "A [1]."), model_episode(QUESTION, "B [1].")
    store.save_episode(a)
    store.save_episode(b)
    store.add_comparison(
        ComparisonRecord(
            question=QUESTION,
            answer_a=ComparedAnswer(text="A [1].", quotes=a.quotes, episode_id=a.id),
            answer_b=ComparedAnswer(text="B [1].", quotes=b.quotes, episode_id=b.id),
            preference="A",
            annotator="zoe",
            source="human",
        )
    )
    with serve(create_app(store, env_factory())) as url:
        alice = Annotator(url)
        home = alice.client.get("/").text
        progress = alice.client.get("/progress").text
        assert "2 episodes and 1 comparison stored" in home and "1 comparisons" not in home
        assert "1 comparison." in progress and "1 comparisons" not in progress
        alice.close()


def test_compare_never_offers_your_own_answer_and_offers_queued_pairs_first(store: EpisodeStore) -> None:
    own = model_episode(QUESTION, "Mine [1].", annotator="alice")
    other = model_episode(QUESTION, "Theirs [1].", annotator="bob")
    store.save_episode(own)
    store.save_episode(other)
    with serve(create_app(store, env_factory(), seed=3)) as url:
        alice = Annotator(url)
        page = alice.client.get("/compare").text
        assert "Nothing to compare" in page and "webgpt demos queue-comparisons" in page
        refused = alice.post_form("/compare", {"episode_a": own.id, "episode_b": other.id, "choice": "A"})
        assert refused.status_code == 400 and "you wrote one of these answers" in refused.text

        # Unqueued model pairs exist for another question; the queued pair comes first.
        for text in ("One [1].", "Two [1]."):
            store.save_episode(model_episode("Where is Paris?", text))
        queued = [
            model_episode("Who built it?", "Eiffel [1]."),
            model_episode("Who built it?", "Koechlin [1]."),
        ]
        for episode in queued:
            store.save_episode(episode)
        assert store.queue_pair(queued[0].id, queued[1].id) is True
        assert store.queue_pair(queued[1].id, queued[0].id) is False  # already queued
        page = alice.client.get("/compare").text
        assert "Who built it?" in page and "Mine [1]." not in page
        assert re.search(r'<a class="cite-link" href="#answer-A-quote-1" data-quotes="1">\[1\]</a>', page)
        assert 'id="answer-A-quote-1"' in page
        alice.close()


def test_queue_comparisons_stores_two_model_answers_per_question(tmp_path: Path) -> None:
    from browser_env.corpus import build_corpus
    from webgpt_cli.app import app

    build_corpus(
        "shift-tiny", [str(FIXTURES / "tiny_web.jsonl")], dense=False, force=True, show_progress=False
    ).close()
    db = tmp_path / "queue.sqlite"
    result = CliRunner().invoke(
        app,
        ["demos", "queue-comparisons", "--questions", str(FIXTURES / "tiny_questions.jsonl"), "--corpus",
         "shift-tiny", "--policy", "scripted", "--limit", "3", "--db", str(db), "--temperature", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    queued = int(re.search(r"(\d+) pairs? of model answers queued", result.output).group(1))
    assert queued >= 1
    with EpisodeStore(db) as stored:
        pairs = stored.queued_pairs()
        assert len(pairs) == queued
        for a, b in pairs:
            first, second = stored.get_episode(a), stored.get_episode(b)
            assert first.source == second.source == "model" and first.question == second.question
            assert first.answer and second.answer and first.answer.text != second.answer.text
            assert first.corpus == "shift-tiny" and first.steps
        rng = __import__("random").Random(0)
        from demonstrations.recorder.app import pick_pair

        offered = pick_pair(stored, "alice", rng)
        assert offered is not None and {offered[0].id, offered[1].id} == set(pairs[0])


def test_find_marks_the_matches_in_the_window_and_counts_them_on_the_page() -> None:
    page = "Intro line.\nThe tower has visitors.\nMore visitors here and Visitors there.\nEnd."
    window = "More visitors here and Visitors there.\nEnd."
    state = find_state("Find in page: visitors", None, page, window)
    assert state is not None and (state.number, state.total) == (2, 3)
    assert [window[a:b] for a, b in state.marks] == ["visitors", "Visitors"]
    assert find_state("Find in page: visitors", "not found", page, window) is None
    assert find_state("Scrolled down 1", None, page, window) is None
    observation = (
        f"♦Question\nq\n♦Quotes\n♦Past actions\nFind in page: visitors\n♦Title\nT\n♦Scrollbar: 2 - 3\n♦Text\n"
        f"{window}\n♦Actions left: 9\n♦Next action"
    )
    html = str(observation_html(observation, window, set(), state.marks))
    assert '<mark class="find-match current">visitors</mark>' in html
    assert '<mark class="find-match">Visitors</mark>' in html
    assert re.sub(r"<[^>]+>", "", html) == observation.replace("\n", "\n")  # nothing added or lost


# ------------------------------------------------------------------------------------------ in Chromium

sync_api = pytest.importorskip("playwright.sync_api")
browser_only = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM_PATH).exists(), reason="needs Chromium at /usr/bin/chromium"),
]


class Dialogs:
    """Answers window.confirm: accepts unless told to dismiss the next one."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.dismiss_next = False

    def __call__(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(dialog.message)
        if self.dismiss_next:
            self.dismiss_next = False
            dialog.dismiss()
        else:
            dialog.accept()


@pytest.fixture
def chromium():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(chromium, url: str, name: str, width: int, height: int):  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(20_000)
    dialogs = Dialogs()
    page.on("dialog", dialogs)
    page.goto(f"{url}/annotator?next=/")
    page.fill("#annotator-input", name)
    page.click("#annotator-save")
    page.wait_for_url(url + "/")
    return page, dialogs


def start(page, question: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#own-question", question)
    page.click("#start-own")
    page.wait_for_selector("#observation")


def steps_taken(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.inner_text("#actions-left strong"))


def send(page, action, before: int) -> None:  # type: ignore[no-untyped-def]
    """Run ``action`` and wait until the action counter has gone down by one."""
    action()
    page.wait_for_function(
        "n => Number(document.querySelector('#actions-left strong').textContent) === n", arg=before - 1
    )


def inside_viewport(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["height"] > 0
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


def in_chromium(test):  # type: ignore[no-untyped-def]
    for mark in browser_only:
        test = mark(test)
    return test


@in_chromium
def test_sixty_steps_keep_the_page_text_quotes_and_counter_in_view(tmp_path: Path, store, chromium) -> None:  # type: ignore[no-untyped-def]
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        page, _ = open_page(chromium, url, "carla", 1280, 800)
        start(page, QUESTION)
        left = steps_taken(page)
        page.fill("#search-input", "eiffel tower")
        send(page, lambda: page.press("#search-input", "Enter"), left)
        send(page, lambda: page.click('#observation a.link[data-link="0"]'), left - 1)
        for number, quote in enumerate((QUOTE, NAMED, LEVELS)):
            page.fill("#quote-input", quote)
            send(page, lambda: page.click("#quote-typed-button"), left - 2 - number)
        while steps_taken(page) > left - 60:
            current = steps_taken(page)
            key = "j" if (left - current) % 2 else "k"
            send(page, lambda key=key: page.keyboard.press(key), current)
        assert steps_taken(page) == left - 60
        assert "Quotes: 3" in page.inner_text("#quotes-count")
        shot = tmp_path / "recorder-60-steps.png"
        page.screenshot(path=str(shot))
        if os.environ.get("WEBGPT_DOCS_SCREENSHOTS"):
            DOCS.mkdir(exist_ok=True)
            page.screenshot(path=str(DOCS / "recorder-60-steps.png"))
        assert shot.stat().st_size > 0
        assert page.evaluate("window.scrollY") == 0  # nothing had to be scrolled
        for selector in ("#window-text", "#obs-quotes", "#actions-left"):
            assert inside_viewport(page, selector), selector
        quotes = page.inner_text("#obs-quotes")
        assert QUOTE in quotes and NAMED in quotes and LEVELS in quotes
        # The past actions are folded: the latest show, a toggle shows all 60 (and stays open after a step).
        assert page.locator("#obs-past-actions .older").is_hidden()
        assert "57 earlier actions (show)" in page.inner_text("#obs-past-actions")
        page.click("[data-toggle-older='obs-past-actions']")
        assert page.locator("#obs-past-actions .older").is_visible()
        assert page.inner_text("#obs-past-actions").count("\n") >= 59
        send(page, lambda: page.keyboard.press("j"), steps_taken(page))
        assert page.locator("#obs-past-actions .older").is_visible()
        assert "(hide)" in page.inner_text("[data-toggle-older='obs-past-actions']")


@in_chromium
def test_120_columns_fit_at_1024_and_1280_and_a_phone_scrolls_the_page_text(store, chromium) -> None:  # type: ignore[no-untyped-def]
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        page, _ = open_page(chromium, url, "carla", 1280, 800)
        start(page, QUESTION)
        page.fill("#search-input", "eiffel")
        send(page, lambda: page.press("#search-input", "Enter"), steps_taken(page))
        fits = """() => {
            const obs = document.getElementById("observation");
            const line = document.createElement("span");
            line.textContent = "x".repeat(120);
            line.style.whiteSpace = "pre";
            document.getElementById("window-text").appendChild(line);
            const width = line.getBoundingClientRect().width;
            line.remove();
            const style = getComputedStyle(obs);
            const room = obs.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return [width, room, parseFloat(style.fontSize)];
        }"""
        for width in (1024, 1152, 1280, 1600):
            page.set_viewport_size({"width": width, "height": 800})
            line, room, size = page.evaluate(fits)
            assert line <= room, (width, line, room)
            assert size >= 9, (width, size)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page does not overflow
        assert page.evaluate("(o => o.scrollWidth > o.clientWidth)(document.getElementById('observation'))")
        assert page.evaluate("getComputedStyle(document.getElementById('observation')).overflowX") == "auto"


@in_chromium
def test_cjk_text_has_a_font_in_every_stack(store, chromium) -> None:  # type: ignore[no-untyped-def]
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        page, _ = open_page(chromium, url, "carla", 1280, 800)
        start(page, "埃菲尔铁塔有多高？")
        for selector in ("body", "#question", "#observation"):
            family = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).fontFamily")
            assert "Droid Sans Fallback" in family and "Noto Sans CJK SC" in family, (selector, family)


@in_chromium
def test_find_end_confirm_draft_and_undo_in_chromium(tmp_path: Path, store, chromium) -> None:  # type: ignore[no-untyped-def]
    with serve(create_app(store, env_factory(), corpus="tiny")) as url:
        page, dialogs = open_page(chromium, url, "carla", 1280, 900)
        start(page, QUESTION)
        page.fill("#search-input", "eiffel tower")
        send(page, lambda: page.press("#search-input", "Enter"), steps_taken(page))
        send(page, lambda: page.click('#observation a.link[data-link="0"]'), steps_taken(page))
        page.fill("#find-input", "visitors")
        send(page, lambda: page.press("#find-input", "Enter"), steps_taken(page))
        assert re.search(r"match 1 of \d+", page.inner_text("#find-status"))
        current = page.locator("#window-text mark.find-match.current")
        assert current.count() == 1 and current.inner_text().lower() == "visitors"
        page.fill("#quote-input", QUOTE)
        send(page, lambda: page.click("#quote-typed-button"), steps_taken(page))
        assert page.locator("#find-status").count() == 0

        # e asks first; dismissing it sends nothing.
        before = steps_taken(page)
        dialogs.dismiss_next = True
        page.keyboard.press("e")
        page.wait_for_timeout(300)
        assert steps_taken(page) == before and "End browsing" in dialogs.seen[-1]
        page.keyboard.press("e")
        page.wait_for_url("**/answer")

        # No error before anything is typed; the draft survives a reload.
        page.wait_for_timeout(400)
        assert "✗" not in page.inner_text("#citation-check")
        assert "bad" not in (page.get_attribute("#citation-check", "class") or "")
        page.fill("#answer-text", "It is 330 metres tall")
        page.reload()
        assert page.input_value("#answer-text") == "It is 330 metres tall"
        assert "restored" in page.inner_text("#draft-status")
        page.screenshot(path=str(tmp_path / "answer-restored.png"))

        # Undo End: Answer, browse on, end again: the draft is still there; once saved it is gone.
        page.click("#undo-button")
        page.wait_for_selector("#observation")
        assert "was undone" in page.inner_text("#flash")
        page.click("#end-answer")
        page.wait_for_url("**/answer")
        assert page.input_value("#answer-text") == "It is 330 metres tall"
        page.click("button.cite[data-cite='1']")
        page.keyboard.type(".")
        page.wait_for_function("!document.getElementById('submit-answer').disabled")
        page.click("#submit-answer")
        page.wait_for_selector("#finished-banner")
        assert (
            page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('webgpt-answer-draft'))") == []
        )
        (episode,) = store.iter_episodes(source="human")
        assert episode.answer and episode.answer.text == "It is 330 metres tall [1]."
        assert [s.command for s in episode.steps][-2:] == [f"Quote: {QUOTE}", "End: Answer"]


@in_chromium
def test_compare_keys_and_citation_links_in_chromium(tmp_path: Path, store, chromium) -> None:  # type: ignore[no-untyped-def]
    first = model_episode(QUESTION, "It is a famous tower [1].", "Eiffel Tower")
    second = model_episode(QUESTION, "It is 330 metres tall [1].", "330 metres")
    store.save_episode(first)
    store.save_episode(second)
    store.queue_pair(first.id, second.id)
    with serve(create_app(store, env_factory(), corpus="tiny", seed=1)) as url:
        page, _ = open_page(chromium, url, "dana", 1280, 900)
        page.goto(url + "/compare")
        page.wait_for_selector("#compare-form")
        page.keyboard.press("2")
        assert page.is_checked("#choice-B")
        page.keyboard.press("t")
        assert page.is_checked("#choice-tie")
        page.keyboard.press("Shift+1")
        assert page.is_checked("#choice-A_much")
        page.hover("#answer-A-text a.cite-link")
        assert "highlight" in (page.get_attribute("#answer-A-quote-1", "class") or "")
        page.click("#answer-A-text a.cite-link")
        assert page.evaluate("location.hash") == "#answer-A-quote-1"
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
        page.keyboard.press("j")
        page.keyboard.type("A cites its quote.")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#saved-banner")
        (comparison,) = store.iter_comparisons()
        assert comparison.preference == "A" and comparison.strength == "much_better"
        assert comparison.justification == "A cites its quote."
