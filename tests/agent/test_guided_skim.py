"""Guided skimming: the policy reads each page it opens to the end without asking the model, then the
model chooses between quoting the page's best sentence and leaving."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.models import load_causal_lm
from agent.policies.engine import LMEngine
from agent.policies.lm import LMPolicy, SamplingConfig
from agent.policies.page_reading import MAX_SKIM_WINDOWS
from agent.policies.scripted import ScriptedPolicy, WordOverlap
from agent.rollout import run_episode
from browser_env import textmatch
from browser_env.actions import Back, ClickLink, EndAnswer, FindInPage, Quote, ScrollDown, ScrollUp, syntax_of
from browser_env.memory_web import MemoryWeb

QUESTION = "Who designed the Eiffel Tower?"
PAGE = "https://example.org/eiffel.html"
RELEVANT = "The tower was designed by the engineer Gustave Eiffel and his company."
NEARLY = "The Eiffel Tower was built for the World's Fair of 1889."
OTHER = "Paris is the capital of France and its largest city by far."
ON_A_PAGE = [syntax_of(k) for k in (ScrollDown, ScrollUp, FindInPage, Quote, Back, ClickLink, EndAnswer)]


@pytest.fixture(scope="module")
def engine(tiny_lm_dir: Path) -> LMEngine:
    return LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))


def window(first: int, total: int, paragraphs: list[str]) -> dict:
    return {
        "valid_commands": ON_A_PAGE,
        "url": PAGE,
        "title": "Eiffel Tower",
        "scrollbar": (first, min(first + 9, total - 1), total),
        "window_paragraphs": paragraphs,
        "window_text": " ".join(paragraphs),
        "visible_links": [],
        "quotes": [],
        "actions_left": 90,
    }


def skimming(engine: LMEngine, threshold: float = 0.2) -> LMPolicy:
    policy = LMPolicy(
        engine,
        guided=True,
        skim=True,
        quote_scorer=WordOverlap(threshold=threshold),
        sampling=SamplingConfig(temperature=0.0),
    )
    policy.reset(QUESTION)
    return policy


def test_skimming_scrolls_to_the_page_end_without_the_model(engine: LMEngine, monkeypatch) -> None:
    policy = skimming(engine)

    def no_model(*args, **kwargs):
        raise AssertionError("the model was asked while the page was still being read")

    monkeypatch.setattr(engine, "prefill", no_model)
    assert policy.act("", window(0, 30, [f"{OTHER} {RELEVANT}"])) == "Scrolled down 1"
    assert policy.act("", window(10, 30, [NEARLY])) == "Scrolled down 1"
    page = policy._pages[PAGE]
    assert set(page.read) == {RELEVANT, NEARLY}  # only sentences sharing a word with the question
    assert page.scrolls == 2 and not page.finished


def test_skimming_offers_the_pages_best_sentences_once_read_to_the_end(engine: LMEngine) -> None:
    policy = skimming(engine)
    policy.act("", window(0, 30, [f"{OTHER} {RELEVANT}"]))
    policy.act("", window(10, 30, [NEARLY]))
    end = window(21, 30, [OTHER])
    command = policy.act("♦Question\nWho designed the Eiffel Tower?\n♦Next action", end)
    assert policy._pages[PAGE].finished
    choices = policy.valid_choices(end)
    assert {"down", "up", "top", "find"}.isdisjoint(choices)  # the page is read: quote it or leave
    # best first, the sentence of an earlier window included though the window in view lacks it
    assert choices["quote"] == [RELEVANT, NEARLY]
    assert command in {"Back", "End: Answer", f"Quote: {RELEVANT}"}
    quoted = {**end, "quotes": [{"url": PAGE, "text": RELEVANT}]}
    assert policy.valid_choices(quoted) == {"answer": None}  # one quote, then the answer, as its teacher
    unanswerable = {**quoted, "valid_commands": [c for c in ON_A_PAGE if c != syntax_of(EndAnswer)]}
    assert policy.valid_choices(unanswerable)["quote"] == [NEARLY]
    strict = skimming(engine, threshold=1.1)
    strict.act("", window(0, 10, [RELEVANT]))
    assert "quote" not in strict.valid_choices(window(0, 10, [RELEVANT]))  # nothing rated high enough


def test_skimming_stops_reading_when_short_of_actions_or_windows(engine: LMEngine) -> None:
    policy = skimming(engine)
    assert policy.act("", {**window(0, 400, [RELEVANT]), "actions_left": 6}) != "Scrolled down 1"
    assert policy._pages[PAGE].finished
    long = skimming(engine)
    commands = [long.act("", window(10 * k, 1000, [RELEVANT])) for k in range(MAX_SKIM_WINDOWS)]
    assert commands == ["Scrolled down 1"] * MAX_SKIM_WINDOWS
    assert long.act("", window(300, 1000, [RELEVANT])) != "Scrolled down 1"


def test_skimming_prefers_the_search_result_the_scorer_rates() -> None:
    policy = LMPolicy.__new__(LMPolicy)
    policy.quote_scorer = WordOverlap(threshold=0.2)
    policy._question = QUESTION
    results = [
        {"id": 0, "title": "Paris", "snippet": "Capital of France"},
        {"id": 1, "title": "Eiffel Tower", "snippet": "designed by Gustave Eiffel"},
    ]
    ratings = policy._result_ratings({"search_results": results}, [0, 1, 7])
    assert ratings[0] == 0.0 and ratings[2] == 0.0  # the lowest-rated result, and a link not a result
    assert ratings[1] > 0.5


def test_skimming_needs_guided_browsing_and_a_quote_scorer(engine: LMEngine) -> None:
    with pytest.raises(ValueError, match="guided browsing with a quote scorer"):
        LMPolicy(engine, skim=True, quote_scorer=WordOverlap())
    with pytest.raises(ValueError, match="guided browsing with a quote scorer"):
        LMPolicy(engine, guided=True, skim=True)


@pytest.mark.parametrize("compare_pages", [1, 3])
def test_a_skimming_episode_takes_only_valid_actions_and_quotes_verbatim(
    engine: LMEngine, documents, compare_pages: int
) -> None:
    web = MemoryWeb(documents)
    policy = LMPolicy(
        engine,
        guided=True,
        skim=True,
        compare_pages=compare_pages,
        quote_scorer=WordOverlap(threshold=0.2),
        sampling=SamplingConfig(temperature=1.0, seed=0),
    )
    result = run_episode(QUESTION, policy, web, web)
    steps = result.record.steps
    assert steps and all(step.valid for step in steps)
    assert not any(s.command.startswith(("Scrolled up", "Find in page", "Top")) for s in steps)
    for quote in result.record.quotes:
        assert textmatch.normalize(quote.text) in textmatch.normalize(web.fetch(quote.url).text)


def test_a_checkpoint_asks_for_guided_skimming(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from agent.policies import load_agent

    checkpoint = tmp_path / "policy"
    shutil.copytree(tiny_lm_dir, checkpoint)
    (checkpoint / "webgpt.json").write_text(json.dumps({"mode": "guided", "guided_skim": True}))
    assert load_agent(str(checkpoint), device="cpu").policy.skim
    assert load_agent(str(checkpoint), device="cpu").policy.compare_pages == 1
    settings = {"mode": "guided", "guided_skim": True, "guided_compare_pages": 3}
    (checkpoint / "webgpt.json").write_text(json.dumps(settings))
    assert load_agent(str(checkpoint), device="cpu").policy.compare_pages == 3
    assert not load_agent(str(checkpoint), device="cpu", mode="free").policy.skim
    (checkpoint / "webgpt.json").write_text(json.dumps({"mode": "guided"}))
    assert not load_agent(str(checkpoint), device="cpu").policy.skim


def test_the_skimming_teacher_quotes_without_bringing_the_sentence_into_view(documents) -> None:
    from training.window_demos import PAGE_SCHEDULE, skimming_decisions

    web = MemoryWeb(documents)
    result = run_episode(QUESTION, ScriptedPolicy(WordOverlap(), PAGE_SCHEDULE), web, web)
    commands = [s.command for s in result.record.steps]
    assert all(s.valid for s in result.record.steps)
    assert any(c.startswith("Quote: ") for c in commands) and commands[-1] == "End: Answer"
    assert not any(c.startswith("Find in page") for c in commands)
    rows = [{"completion": c} for c in commands]
    decisions = [r["completion"] for r in skimming_decisions(rows)]
    assert decisions == [
        "Quote:" if c.startswith("Quote: ") else c for c in commands if not c.startswith("Scrolled down")
    ]
    assert "Quote:" in decisions  # the command the model chooses; the ranker picks the sentence


def test_skimming_opens_no_more_pages_once_its_teachers_budget_is_read(engine: LMEngine) -> None:
    from agent.policies.lm import MAX_SKIM_PAGES
    from agent.policies.page_reading import PageReading

    policy = skimming(engine)
    results = {
        "valid_commands": [syntax_of(ClickLink), syntax_of(EndAnswer)],
        "url": "search://eiffel",
        "on_search_page": True,
        "visible_links": [
            {"id": 0, "url": "https://example.org/a"},
            {"id": 1, "url": "https://example.org/b"},
        ],
        "search_results": [],
    }
    for k in range(MAX_SKIM_PAGES - 1):
        policy._pages[f"https://example.org/read{k}"] = PageReading(finished=True)
    assert policy.valid_choices(results)["click"] == [0, 1]
    policy._pages["https://example.org/read-last"] = PageReading(finished=True)
    assert "click" not in policy.valid_choices(results)
    assert policy.deterministic  # greedy guided choices: best-of-n browses once
    assert not LMPolicy(engine, guided=True, sampling=SamplingConfig(temperature=0.8)).deterministic


def test_guided_skimming_chooses_greedily_unless_asked_to_sample(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from agent.policies import load_agent

    checkpoint = tmp_path / "policy"
    shutil.copytree(tiny_lm_dir, checkpoint)
    (checkpoint / "webgpt.json").write_text(json.dumps({"mode": "guided", "guided_skim": True}))
    assert load_agent(str(checkpoint), device="cpu").policy.deterministic
    assert load_agent(str(checkpoint), device="cpu", temperature=0.7).policy.sampling.temperature == 0.7
    (checkpoint / "webgpt.json").write_text(json.dumps({"mode": "guided"}))
    assert not load_agent(str(checkpoint), device="cpu").policy.deterministic  # window guided samples


FIRST, SECOND = "https://example.org/first", "https://example.org/second"


def two_results() -> dict:
    """A results page listing ``FIRST`` then ``SECOND``, both in view."""
    return {
        "valid_commands": [syntax_of(ClickLink), syntax_of(EndAnswer)],
        "url": "search://eiffel",
        "on_search_page": True,
        "visible_links": [{"id": 0, "url": FIRST}, {"id": 1, "url": SECOND}],
        "search_results": [{"id": 0, "url": FIRST}, {"id": 1, "url": SECOND}],
    }


def test_comparing_pages_quotes_the_best_sentence_of_all_going_back_to_its_page(engine: LMEngine) -> None:
    first, second = FIRST, SECOND
    results = two_results()
    on_first = {**window(0, 10, [RELEVANT]), "url": first}
    on_second = {**window(0, 10, [NEARLY]), "url": second}
    policy = skimming(engine)
    policy.compare_pages = 2
    policy._see_results(results)
    for page in (on_first, on_second):
        policy._visited.add(page["url"])
        assert policy._read_on(page) is None and policy._pages[page["url"]].finished
        if page is on_first:
            assert "quote" not in policy.valid_choices(page)  # another result to read first
    assert policy.valid_choices(on_second)["quote"] == [RELEVANT, NEARLY]  # the first page's is best
    read = policy.sentences_read()  # what best-of-n could quote instead: every page's, best first
    assert [(r.url, r.sentence) for r in read] == [(first, RELEVANT), (second, NEARLY)]
    assert read[0].score > read[1].score
    only_quote = {**on_second, "valid_commands": [syntax_of(Quote)]}
    assert policy.act("", only_quote) == "Back"
    assert policy.act("", results) == "Clicked on link 0"
    assert policy.act("", on_first) == f"Quote: {RELEVANT}"
    alone = skimming(engine)
    alone.compare_pages = 2
    alone._see_results({**results, "visible_links": results["visible_links"][:1]})
    alone._visited.add(first)
    alone._read_on(on_first)
    assert alone.valid_choices(on_first)["quote"] == [RELEVANT]  # no result left to read: quote now


def test_the_answer_after_a_skimming_quote_needs_no_model_call(engine: LMEngine, monkeypatch) -> None:
    policy = skimming(engine)
    policy.act("", window(0, 10, [RELEVANT]))
    quoted = {**window(0, 10, [RELEVANT]), "quotes": [{"url": PAGE, "text": RELEVANT}]}

    def no_model(*args, **kwargs):
        raise AssertionError("the model was asked with only the answer left to choose")

    monkeypatch.setattr(engine, "prefill", no_model)
    assert policy.act("", quoted) == "End: Answer"


def test_a_checkpoint_can_answer_with_another_model(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from agent.policies import load_agent

    browser, writer = tmp_path / "browser", tmp_path / "browser" / "writer"
    shutil.copytree(tiny_lm_dir, browser)
    shutil.copytree(tiny_lm_dir, writer)
    (writer / "webgpt.json").write_text(json.dumps({"clause_words": 12, "answer_max_new_tokens": 40}))
    (browser / "webgpt.json").write_text(json.dumps({"mode": "guided", "answer_model": "writer"}))
    agent = load_agent(str(browser), device="cpu")
    assert agent.answerer.engine is not agent.policy.engine
    assert Path(agent.answerer.engine.loaded.path) == writer  # relative to the checkpoint's folder
    assert agent.answerer.clause_words == 12 and agent.answerer.max_new_tokens == 40  # the writer's own
    (browser / "webgpt.json").write_text(json.dumps({"mode": "guided"}))
    alone = load_agent(str(browser), device="cpu")
    assert alone.answerer.engine is alone.policy.engine


def test_a_second_say_tips_which_compared_sentence_is_quoted(engine: LMEngine) -> None:
    """The scorer rates the first page's sentence best; a second say that prefers the year tips the quote
    to the second page's (the one in view), and quoting is offered as before."""
    from agent.policies.page_reading import SecondSay

    class PrefersYears:
        threshold = 0.0

        def score(self, question: str, passages: list[tuple[str, str]]) -> list[float]:
            return [10.0 if "1889" in text else 0.0 for _, text in passages]

    first, second = FIRST, SECOND
    results = two_results()
    on_first = {**window(0, 10, [RELEVANT]), "url": first}
    on_second = {**window(0, 10, [NEARLY]), "url": second, "valid_commands": [syntax_of(Quote)]}
    for say, quoted in ((None, "Back"), (SecondSay(PrefersYears(), weight=0.5, best=2), f"Quote: {NEARLY}")):
        policy = skimming(engine)
        policy.compare_pages, policy.second_say = 2, say
        policy._see_results(results)
        for page in (on_first, on_second):
            policy._visited.add(page["url"])
            policy._read_on(page)
        assert policy.valid_choices(on_second)["quote"] == [RELEVANT, NEARLY]  # the scorer's order
        assert policy.act("", on_second) == quoted
