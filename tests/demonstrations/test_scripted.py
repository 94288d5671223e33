from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser_env.actions import InvalidAction, parse_action
from browser_env.docstore import Document
from browser_env.env import BrowserEnv, EnvConfig
from browser_env.memory_web import MemoryWeb
from browser_env.page import Page
from browser_env.textmatch import locate_quote
from demonstrations.imports import load_questions
from demonstrations.schemas import EpisodeRecord
from demonstrations.scripted import (
    ScriptedConfig,
    ScriptedDemonstrator,
    answer_pattern,
    best_sentence,
    search_queries,
)

FIXTURES = Path(__file__).parent / "fixtures"
SUPPORTED = {
    "when was the last time anyone was on the moon",
    "who is the eiffel tower named after",
    "who made the first ascent of mount everest",
    "who created the python programming language",
}


@pytest.fixture(scope="module")
def web() -> MemoryWeb:
    rows = [
        json.loads(line) for line in (FIXTURES / "tiny_web.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return MemoryWeb(Document(r["url"], r["title"], r["text"]) for r in rows)


@pytest.fixture(scope="module")
def questions():
    return load_questions(FIXTURES / "tiny_questions.jsonl")


def run_all(web: MemoryWeb, questions, *, rate: float, seed: int = 7, **config) -> list[EpisodeRecord]:
    demonstrator = ScriptedDemonstrator(
        BrowserEnv(web, web), ScriptedConfig(detour_rate=rate, **config), corpus="tiny"
    )
    return [demonstrator.run(q, seed=seed) for q in questions]


def assert_quotes_verify(web: MemoryWeb, episode: EpisodeRecord) -> None:
    for quote in episode.quotes:
        page = web.fetch(quote.url)
        span = locate_quote(page.text, quote.text)
        assert span == (quote.start, quote.end), (quote.text, span)


def replays(web: MemoryWeb, episode: EpisodeRecord) -> bool:
    from demonstrations.replay import replay_episode

    return replay_episode(episode, BrowserEnv(web, web, EnvConfig.from_dict(episode.env_config))).ok


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_answerable_questions_get_a_verified_quote_and_a_cited_answer(web, questions, rate):
    episodes = run_all(web, questions, rate=rate)
    answered = {e.question for e in episodes if e.end_reason == "answer"}
    assert answered == SUPPORTED
    for episode in episodes:
        assert episode.source == "scripted" and episode.model_id == "scripted-v1" and episode.corpus == "tiny"
        assert all(step.valid for step in episode.steps), [(s.command, s.error) for s in episode.steps]
        assert all(not isinstance(parse_action(step.command), InvalidAction) for step in episode.steps)
        assert [s.index for s in episode.steps] == list(range(len(episode.steps)))
        assert episode.steps[0].observation.startswith(f"♦Question\n{episode.question}\n")
        assert_quotes_verify(web, episode)
        if episode.question in SUPPORTED:
            assert episode.metadata["supported"] is True
            assert len(episode.quotes) == 1
            (quote,) = episode.quotes
            assert any(answer_pattern(a).search(quote.text) for a in episode.gold_answers)
            assert episode.answer is not None and episode.answer.citations == [1]
            assert episode.answer.text.startswith(episode.metadata["gold_answer"] + " [1].")
            assert episode.metadata["gold_answer"] in episode.gold_answers
            assert answer_pattern(episode.metadata["answer_found"]).search(quote.text)
            assert episode.steps[-1].command == "End: Answer"
            assert episode.steps[-2].command.startswith("Quote: ")
            last = episode.metadata["pages"][-1]  # why it opened the page, and why the quote supports
            assert last["url"] == quote.url and last["verdict"].startswith("quoted: covers ")
            assert last["opened_because"] and episode.metadata["support"] in last["verdict"]


def test_unsupported_questions_end_declined_after_a_bounded_search(web, questions):
    episodes = run_all(web, questions, rate=0.0, max_pages=2)
    declined = [e for e in episodes if e.question not in SUPPORTED]
    assert {e.question for e in declined} == {
        "who invented the telephone",
        "what is the capital of australia",
    }
    for episode in declined:
        assert episode.end_reason == "nonsense"
        assert episode.metadata["supported"] is False and episode.metadata["reason"]
        assert episode.answer is None and episode.quotes == []
        assert episode.steps[-1].command == "End: Nonsense"
        commands = [s.command for s in episode.steps]
        assert commands[0].startswith("Search ")
        assert sum(c.startswith("Clicked on link") for c in commands) <= 2 * ScriptedConfig().max_searches
        assert commands.count("Back") == sum(c.startswith("Clicked on link") for c in commands)
        pages = episode.metadata["pages"]
        assert len(pages) == sum(c.startswith("Clicked on link") for c in commands)
        assert all(p["verdict"].startswith("refused: ") and p["opened_because"] for p in pages)


def test_far_answers_are_reached_with_find_in_page_on_a_question_word(web, questions):
    (moon,) = [e for e in run_all(web, questions[:1], rate=0.0)]
    commands = [s.command for s in moon.steps]
    assert "Find in page: Moon" in commands  # a word of the question, not the answer it cannot know yet
    find = commands.index("Find in page: Moon")
    assert commands[find + 1].startswith("Quote: Cernan and Schmitt")
    observation_at_quote = moon.steps[find + 1].observation
    assert "14 December 1972" in observation_at_quote.split("♦Text\n", 1)[1]  # the quote was in view


def test_near_answers_are_reached_by_scrolling(web, questions):
    (everest,) = run_all(web, questions[2:3], rate=0.0)
    commands = [s.command for s in everest.steps]
    assert any(c.startswith("Scrolled down") for c in commands)
    quote_step = next(s for s in everest.steps if s.command.startswith("Quote: "))
    assert "Edmund Hillary made the first" in quote_step.observation.split("♦Text\n", 1)[1]


def test_every_detour_kind_appears_and_is_recovered_from(web, questions):
    episodes = run_all(web, questions, rate=1.0)
    taken = {d for e in episodes for d in e.metadata["detours"]}
    assert taken == {"reformulate", "wrong_page", "scroll_past"}
    for episode in episodes:
        commands = [s.command for s in episode.steps]
        if "reformulate" in episode.metadata["detours"]:
            searches = [c for c in commands if c.startswith("Search ")]
            assert len(searches) >= 2 and searches[0] != searches[1]
        if "wrong_page" in episode.metadata["detours"]:
            click = commands.index(next(c for c in commands if c.startswith("Clicked on link")))
            assert "Back" in commands[click + 1 : click + 3]
        if "scroll_past" in episode.metadata["detours"]:
            quote = next(i for i, c in enumerate(commands) if c.startswith("Quote: "))
            assert commands[quote - 2 : quote] == ["Scrolled down 1", "Scrolled up 1"]
    assert {e.question for e in episodes if e.end_reason == "answer"} == SUPPORTED


def test_same_seed_same_episode_and_rate_zero_has_no_detours(web, questions):
    first = [[s.command for s in e.steps] for e in run_all(web, questions, rate=0.5, seed=11)]
    second = [[s.command for s in e.steps] for e in run_all(web, questions, rate=0.5, seed=11)]
    assert first == second
    assert all(e.metadata["detours"] == [] for e in run_all(web, questions, rate=0.0))


def test_generated_episodes_replay_step_for_step(web, questions):
    for episode in run_all(web, questions, rate=1.0):
        assert replays(web, episode), episode.question


def test_action_budget_truncates_and_marks_unsupported(web, questions):
    demonstrator = ScriptedDemonstrator(BrowserEnv(web, web, EnvConfig(max_actions=2)), ScriptedConfig())
    episode = demonstrator.run(questions[0], seed=0)
    assert episode.end_reason == "action_budget"
    assert len(episode.steps) == 2
    assert episode.metadata["supported"] is False
    assert episode.answer is None


def test_questions_without_gold_answers_are_refused(web):
    demonstrator = ScriptedDemonstrator(BrowserEnv(web, web))
    with pytest.raises(ValueError, match="needs gold answers"):
        demonstrator.run("why is the sky blue", [])


def test_reformulated_query_drops_question_words():
    assert search_queries("who sang the song hey jude") == ["who sang the song hey jude", "hey jude"]
    assert search_queries("who invented the telephone") == ["who invented the telephone"]


def test_answer_pattern_matches_whole_words_only():
    assert answer_pattern("one").search("It ran for one season.")
    assert not answer_pattern("one").search("Everyone knows it.")
    assert answer_pattern("Gustave  Eiffel").search("named after gustave\neiffel.")


def _page(title: str, *sentences: str) -> Page:
    return Page(url="https://en.wikipedia.org/wiki/X", title=title, text="\n".join(sentences))


def test_supporting_sentence_must_be_about_the_question():
    question = "when was the last time a hurricane hit the uk"
    off_topic = _page(
        "Dead Dog Beach", "In 2017 Dead Dog Beach was hit by Hurricane Maria, the dogs did not survive."
    )
    assert best_sentence(off_topic, question, ["2017"]) is None  # "uk" is specific and missing
    on_topic = _page(
        "Storms in the UK", "The last hurricane to hit the UK made landfall in 2017 with gusts of wind."
    )
    target = best_sentence(on_topic, question, ["2017"])
    assert target is not None and target.answer == "2017"


def test_supporting_sentence_needs_the_question_numbers_and_a_word_pair():
    assert (
        best_sentence(
            _page(
                "Politics",
                "After the 2018 elections, the Democratic Party retained control of the House and Senate.",
            ),
            "who controlled the house and the senate in 2012",
            ["Democratic"],
        )
        is None
    )
    question = "how many seasons are there for lost girl"
    wrong = _page(
        "Cincinnati Bengals", "Finishing the 5th season 10–5–1, they lost to the Colts in the first round."
    )
    assert best_sentence(wrong, question, ["5"]) is None  # "lost girl" is never together
    right = _page(
        "Lost Girl", "Lost Girl ran for five seasons on Showcase, ending after 77 episodes in 2015."
    )
    assert best_sentence(right, question, ["five"]).answer == "five"


def test_reference_marks_and_fragments_are_not_support():
    page = _page(
        "House of Representatives", "Members must be at least 25 years old to serve in the house.[25]", "[25]"
    )
    target = best_sentence(page, "at what age can you serve in the house of representatives", ["25"])
    assert target is not None and target.sentence.startswith("Members must be at least 25")
    only_marks = _page("House of Representatives", "The house of representatives meets in the capitol.[25]")
    assert (
        best_sentence(only_marks, "at what age can you serve in the house of representatives", ["25"]) is None
    )
