"""The recorder in real Chromium: a person records an episode and a comparison through the UI.

Screenshots go to test-artifacts/recorder/ (kept for people to look at).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from recorder_web import QUESTION, QUOTE, env_factory, serve

from browser_env.env import EnvConfig
from browser_env.fetch import CHROMIUM_ARGS, CHROMIUM_PATH
from demonstrations.exports import bc_rows, comparison_rows, write_rows
from demonstrations.recorder import create_app
from demonstrations.replay import replay_episode
from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuestionRecord, QuoteRecord
from demonstrations.store import EpisodeStore

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = CHROMIUM_PATH
ARGS = CHROMIUM_ARGS
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "recorder"
ANSWER = "The Eiffel Tower is 330 metres tall [1]."

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]

SELECT_QUOTE = """(quote) => {
    const area = document.getElementById("window-text");
    const walker = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(quote);
        if (at >= 0) {
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + quote.length);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
            return selection.toString();
        }
    }
    return null;
}"""


@pytest.fixture
def browser_page():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.set_default_timeout(20_000)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
        yield page
        browser.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_steps(page, count: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(f'.browse[data-steps="{count}"]')


def test_record_an_episode_and_a_comparison_in_chromium(tmp_path: Path, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    store = EpisodeStore(tmp_path / "browser.sqlite")
    store.add_questions([QuestionRecord(id="q-eiffel", question=QUESTION, gold_answers=["330 metres"])])
    with serve(create_app(store, env_factory(), corpus="tiny", seed=1)) as url:
        # The name is asked once.
        page.goto(url + "/")
        page.click("text=Set your name to begin")
        page.fill("#annotator-input", "carla")
        page.click("#annotator-save")
        page.wait_for_selector("#next-question")
        assert page.inner_text("#next-question") == QUESTION
        shot(page, "01-home")
        page.click("#start-next")
        page.wait_for_selector("#observation")
        assert "Actions left: 100" in page.inner_text("#actions-left")

        # Search with the search box (Enter), click a result link in the page text.
        page.fill("#search-input", "eiffel tower height")
        page.press("#search-input", "Enter")
        wait_steps(page, 1)
        assert "Search results for: eiffel tower height" in page.inner_text("#observation")
        shot(page, "02-search-results")
        page.click('#observation a.link[data-link="0"]')
        wait_steps(page, 2)
        assert "Eiffel Tower (en.wikipedia.org)" in page.inner_text("#observation")

        # Scroll with the keyboard ("2 j" = Scrolled down 2), then Find with its shortcut.
        page.keyboard.press("2")
        page.keyboard.press("j")
        wait_steps(page, 3)
        assert "\nScrolled down 2\n" in page.inner_text("#observation")
        page.keyboard.press("f")
        page.keyboard.type("330 metres")
        page.keyboard.press("Enter")
        wait_steps(page, 4)

        # An invalid quote shows the environment's error.
        page.keyboard.press("q")  # nothing selected: the page says so and sends nothing
        assert "select some text" in page.inner_text("#flash")
        page.fill("#quote-input", "words that are not on this page")
        page.click("#quote-typed-button")
        wait_steps(page, 5)
        assert "not on the current page" in page.inner_text("#env-error")
        shot(page, "03-error")

        # Select the sentence on the page and press the Quote button.
        assert page.evaluate(SELECT_QUOTE, QUOTE) == QUOTE
        shot(page, "04-selection")
        page.click("#quote-button")
        wait_steps(page, 6)
        assert "Quotes: 1" in page.inner_text("#quotes-count")
        assert f"> {QUOTE}" in page.inner_text("#observation")
        assert page.query_selector("#env-error") is None
        shot(page, "05-quoted")

        # End: Answer by shortcut; write the answer with the [1] button; the live check follows along.
        page.keyboard.press("e")
        page.wait_for_url("**/answer")
        page.fill("#answer-text", "The Eiffel Tower is 330 metres tall [3]")
        expect(page.locator("#citation-check")).to_contain_text("[3] does not match any quote")
        expect(page.locator("#submit-answer")).to_be_disabled()
        page.fill("#answer-text", "The Eiffel Tower is 330 metres tall [１].")
        expect(page.locator("#citation-check")).to_contain_text("the answer cites no quote")  # fullwidth
        page.fill("#answer-text", "The Eiffel Tower is 330 metres tall [1]. It is in Paris.")
        expect(page.locator("#citation-check")).to_contain_text(
            "this sentence cites no quote: 'It is in Paris.'"
        )
        page.fill("#answer-text", "The Eiffel Tower is 330 metres tall")
        page.click("button.cite[data-cite='1']")
        page.keyboard.type(".")
        assert page.input_value("#answer-text") == ANSWER
        expect(page.locator("#citation-check")).to_contain_text("every sentence cites a quote")
        expect(page.locator("#submit-answer")).to_be_enabled()
        shot(page, "06-answer")
        page.click("#submit-answer")
        page.wait_for_selector("#finished-banner")

        (episode,) = store.iter_episodes(source="human")
        assert episode.annotator == "carla" and episode.end_reason == "answer"
        assert [step.command for step in episode.steps] == [
            "Search eiffel tower height",
            "Clicked on link 0",
            "Scrolled down 2",
            "Find in page: 330 metres",
            "Quote: words that are not on this page",
            f"Quote: {QUOTE}",
            "End: Answer",
        ]
        assert episode.answer == AnswerRecord(text=ANSWER, citations=[1])
        assert [quote.text for quote in episode.quotes] == [QUOTE]
        assert replay_episode(episode, env_factory()(EnvConfig())).ok

        # A model's answer to the same question, then the comparison page.
        model = EpisodeRecord(
            question=QUESTION,
            source="model",
            model_id="tiny-model",
            quotes=[
                QuoteRecord(
                    url="https://travel.example.com/towers", title="Famous towers", text="Eiffel Tower"
                )
            ],
            answer=AnswerRecord(text="It is a famous tower [1].", citations=[1]),
            end_reason="answer",
        )
        store.save_episode(model)
        page.click("text=Compare")
        page.wait_for_selector("#nothing-to-compare")  # carla wrote one of the two answers
        assert "webgpt demos queue-comparisons" in page.inner_text("main")
        page.goto(url + "/annotator?next=/compare")  # another annotator compares them
        page.fill("#annotator-input", "dana")
        page.click("#annotator-save")
        page.wait_for_selector("#compare-form")
        shot(page, "07-compare")
        human_is_a = ANSWER in page.inner_text("#answer-A")
        page.check("#choice-A_much" if human_is_a else "#choice-B_much")
        page.select_option("#a-factual_accuracy", "7" if human_is_a else "3")
        page.select_option("#b-factual_accuracy", "3" if human_is_a else "7")
        page.fill("#justification", "Only one answer gives the height, from its quote.")
        page.click("#submit-comparison")
        page.wait_for_selector("#saved-banner")

        (comparison,) = store.iter_comparisons()
        assert comparison.preference == ("A" if human_is_a else "B") and comparison.strength == "much_better"
        assert comparison.annotator == "dana" and comparison.question == QUESTION
        human_side = comparison.answer_a if human_is_a else comparison.answer_b
        assert human_side.episode_id == episode.id and human_side.ratings.factual_accuracy == 7

        # The viewer steps through the episode; the progress page counts it.
        page.goto(f"{url}/episodes/{episode.id}/view")
        page.keyboard.press("ArrowRight")
        page.wait_for_url("**step=1")
        assert page.inner_text("#observation") == episode.steps[1].observation
        shot(page, "08-viewer")
        page.goto(f"{url}/progress")
        assert "carla" in page.inner_text("#by-annotator")
        shot(page, "09-progress")

    # Both are in the exports, in TRL's columns.
    rows = list(bc_rows(store.iter_episodes(source="human")))
    browse_rows = [row for row in rows if row["kind"] == "browse"]
    assert [row["completion"] for row in browse_rows] == [
        step.command for step in episode.steps if step.valid
    ]
    assert browse_rows[0]["prompt"] == episode.steps[0].observation
    (answer_row,) = [row for row in rows if row["kind"] == "answer"]
    assert answer_row["completion"] == ANSWER and QUOTE in answer_row["prompt"]
    (pair,) = comparison_rows(store.iter_comparisons())
    assert ANSWER in pair["chosen"] and "It is a famous tower [1]." in pair["rejected"]
    out = tmp_path / "comparisons.jsonl"
    assert write_rows(comparison_rows(store.iter_comparisons()), out, kind="comparisons") == 1
    assert json.loads(out.read_text().splitlines()[0])["chosen"] == pair["chosen"]
    store.close()
