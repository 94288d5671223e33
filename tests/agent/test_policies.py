from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agent.answer import NOT_FOUND
from agent.models import LoadedModel, load_causal_lm
from agent.policies.engine import LMEngine
from agent.policies.lm import LMPolicy, SamplingConfig, window_sentences
from agent.policies.scripted import QuestionLikelihood, ScheduleConfig, ScriptedPolicy
from agent.rollout import EpisodeResult, run_episode
from browser_env import textmatch
from browser_env.actions import ClickLink, InvalidAction, Quote, parse_action, syntax_of
from browser_env.env import EnvConfig
from browser_env.memory_web import MemoryWeb

QUESTION = "Who designed the Eiffel Tower?"


@pytest.fixture(scope="module")
def web(documents) -> MemoryWeb:
    return MemoryWeb(documents)


@pytest.fixture(scope="module")
def random_engine(tiny_lm_dir: Path) -> LMEngine:
    return LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))


def biased_engine(tiny_lm_dir: Path, token_id: int) -> LMEngine:
    """A real model whose output layer always prefers ``token_id`` (bias on a zeroed projection)."""
    loaded = load_causal_lm(str(tiny_lm_dir), dtype="float32")
    head = torch.nn.Linear(loaded.model.config.hidden_size, loaded.model.config.vocab_size, bias=True)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    with torch.no_grad():
        head.bias[token_id] = 20.0
    loaded.model.lm_head = head
    return LMEngine(LoadedModel(loaded.model, loaded.tokenizer, "biased", loaded.path, "cpu", torch.float32))


def assert_ends_clearly_within_budget(result, budget: int) -> None:
    assert result.record.end_reason == "action_budget"
    assert len(result.record.steps) == budget
    answer = result.answers[0]
    assert answer.declined and answer.text == NOT_FOUND
    assert result.record.answer is None


@pytest.mark.parametrize("kind", ["gibberish", "empty", "endless"])
def test_bad_model_output_ends_within_the_action_budget(
    kind: str, tiny_lm_dir: Path, random_engine, web
) -> None:
    if kind == "gibberish":
        engine = random_engine
    elif kind == "empty":
        engine = biased_engine(tiny_lm_dir, random_engine.tokenizer.eos_token_id)
    else:  # endless: one letter forever, never a newline or an end token
        engine = biased_engine(tiny_lm_dir, random_engine.tokenizer.convert_tokens_to_ids("a"))
    sampling = SamplingConfig(temperature=1.0, max_new_tokens=16, max_retries=2, seed=0)
    policy = LMPolicy(engine, sampling=sampling)
    result = run_episode(QUESTION, policy, web, web, config=EnvConfig(max_actions=4))
    assert_ends_clearly_within_budget(result, 4)
    assert policy.retries <= 4 * 2
    for step in result.record.steps:
        assert len(step.command) <= 16 * 8  # capped by max_new_tokens
    if kind != "gibberish":
        assert all(not step.valid for step in result.record.steps)
        assert policy.retries == 4 * 2  # every step retried to the limit
    if kind == "empty":
        assert all(step.error and "empty command" in step.error for step in result.record.steps)


def test_guided_mode_only_takes_valid_actions_and_quotes_verbatim(random_engine, web) -> None:
    sampling = SamplingConfig(temperature=1.0, seed=3, max_new_tokens=12)
    policy = LMPolicy(random_engine, guided=True, sampling=sampling)
    result = run_episode(QUESTION, policy, web, web, config=EnvConfig(max_actions=12))
    assert result.record.steps
    for step in result.record.steps:
        action = parse_action(step.command)
        assert not isinstance(action, InvalidAction), step.command
        if step.error:  # only a Find whose words are not on the page may fail
            assert step.command.startswith("Find in page:"), (step.command, step.error)
        if isinstance(action, Quote):
            assert step.valid
    assert len(result.record.steps) <= 12
    for quote in result.record.quotes:
        page = web.fetch(quote.url)
        assert textmatch.locate_quote(page.text, quote.text) is not None


def test_guided_mode_never_reopens_a_page_or_repeats_a_query(random_engine, web) -> None:
    from browser_env.protocol.keywords import keywords
    from demonstrations.scripted.reading import search_queries

    options = search_queries(QUESTION)
    for seed in range(4):
        sampling = SamplingConfig(temperature=1.0, seed=seed, max_new_tokens=12)
        policy = LMPolicy(random_engine, guided=True, sampling=sampling)
        steps = run_episode(QUESTION, policy, web, web, config=EnvConfig(max_actions=16)).record.steps
        opened = [
            steps[i + 1].url for i, s in enumerate(steps[:-1]) if s.command.startswith("Clicked on link")
        ]
        assert len(opened) == len(set(opened)), opened
        queries = [s.command.removeprefix("Search ") for s in steps if s.command.startswith("Search ")]
        for query in queries:  # the question, its keywords, or a written query about the question
            assert query in options or keywords(query) & keywords(QUESTION), query
        if len(queries) <= len(options):
            assert len({q.casefold() for q in queries}) == len(queries), queries


def test_guided_clicks_leave_out_pages_already_read(random_engine) -> None:
    policy = LMPolicy(random_engine, guided=True)
    policy.reset(QUESTION)
    links = [
        {"id": 0, "url": "https://example.org/eiffel.html"},
        {"id": 1, "url": "https://example.org/paris.html"},
    ]
    info = {"valid_commands": [syntax_of(ClickLink)], "visible_links": links, "url": links[0]["url"]}
    policy._visited.add(links[0]["url"])
    assert policy.valid_choices(info)["click"] == [1]
    policy._visited.add(links[1]["url"])
    assert "click" not in policy.valid_choices(info)


def test_guided_choices_do_not_go_round_in_circles(random_engine) -> None:
    from browser_env.actions import Back, ScrollDown, Search
    from demonstrations.scripted.reading import search_queries

    policy = LMPolicy(random_engine, guided=True)
    policy.reset(QUESTION)
    here = {
        "valid_commands": [syntax_of(Search), syntax_of(ScrollDown), syntax_of(Back)],
        "url": "https://example.org/eiffel.html",
        "scrollbar": (0, 10, 40),
    }
    assert set(policy.valid_choices(here)) == {"search", "down", "back"}
    policy._taken.add(("https://example.org/eiffel.html", 0, "back"))
    assert set(policy.valid_choices(here)) == {"search", "down"}  # Back once from this window
    lower = {**here, "scrollbar": (10, 20, 40)}
    assert "back" in policy.valid_choices(lower)  # from another window it may go back
    for query in search_queries(QUESTION)[:-1]:
        policy._searched.add(query.casefold())
    assert "search" in policy.valid_choices(here)
    policy._searched.add(search_queries(QUESTION)[-1].casefold())
    assert "search" not in policy.valid_choices(here)  # every query of the question searched


def test_guided_reading_keeps_to_its_page_budget_and_looks_for_words_of_the_question(random_engine) -> None:
    from agent.policies.lm import MAX_PAGE_FINDS, MAX_PAGE_SCROLLS
    from browser_env.actions import Back, FindInPage, ScrollDown

    policy = LMPolicy(random_engine, guided=True, sampling=SamplingConfig(temperature=1.0, seed=3))
    policy.reset(QUESTION)
    page = "https://example.org/tower.html"
    commands = []
    for first in range(12):  # every window another, so nothing is left out as a move already taken there
        info = {
            "valid_commands": [syntax_of(ScrollDown), syntax_of(FindInPage), syntax_of(Back)],
            "url": page,
            "scrollbar": (first, first + 10, 40),
            "window_text": "The tower was finished in 1889 for the World's Fair.",
            "window_paragraphs": ["The tower was finished in 1889 for the World's Fair."],
        }
        command = policy.act("♦Question\nWho designed the Eiffel Tower?\n♦Next action", info)
        commands.append(command)
        if command == "Back":
            break
    assert commands[-1] == "Back"  # with both budgets spent only Back is left
    assert sum(c == "Scrolled down 1" for c in commands) <= MAX_PAGE_SCROLLS
    finds = [c.removeprefix("Find in page: ") for c in commands if c.startswith("Find in page: ")]
    assert len(finds) <= MAX_PAGE_FINDS and len(set(finds)) == len(finds)
    assert set(finds) <= {"designed", "eiffel"}  # the question's words the window lacks ("tower" it has)
    policy._scrolls[page] = MAX_PAGE_SCROLLS
    policy._sought[page] = ["designed", "eiffel"]
    assert set(policy.valid_choices({**info, "scrollbar": (30, 40, 40)})) == {"back"}
    policy.reset(QUESTION)  # a new episode starts with fresh budgets
    assert set(policy.valid_choices(info)) == {"down", "find", "back"}


def test_guided_gives_up_rather_than_decline_when_every_other_move_is_spent(random_engine) -> None:
    from browser_env.actions import EndDecline, Search
    from demonstrations.scripted.reading import search_queries

    policy = LMPolicy(random_engine, guided=True)
    policy.reset(QUESTION)
    info = {"valid_commands": [syntax_of(Search), syntax_of(EndDecline)], "url": None}
    assert set(policy.valid_choices(info)) == {"search", "nonsense", "controversial"}
    policy._searched.update(q.casefold() for q in search_queries(QUESTION))
    assert policy._guided(None, info) is None  # not "End: Nonsense", which would tell the user so


def test_guided_quotes_are_offered_only_where_the_quote_scorer_rates_them(random_engine) -> None:
    from agent.policies.scripted import WordOverlap

    relevant = "The tower was designed by the engineer Gustave Eiffel and his company."
    other = "Paris is the capital of France and its largest city by far."
    info = {
        "valid_commands": [syntax_of(Quote)],
        "url": "https://example.org/eiffel.html",
        "title": "Eiffel Tower",
        "window_paragraphs": [f"{other} {relevant}"],
        "quotes": [],
    }
    policy = LMPolicy(random_engine, guided=True)
    policy.reset(QUESTION)
    assert policy.valid_choices(info)["quote"] == [other, relevant]  # without a scorer: every sentence
    rated = LMPolicy(random_engine, guided=True, quote_scorer=WordOverlap(threshold=0.5))
    rated.reset(QUESTION)
    assert rated.valid_choices(info)["quote"] == [relevant]
    strict = LMPolicy(random_engine, guided=True, quote_scorer=WordOverlap(threshold=1.1))
    strict.reset(QUESTION)
    assert "quote" not in strict.valid_choices(info)  # nothing on this window worth quoting


def test_scripted_policy_quotes_the_answer_and_ends(web) -> None:
    policy = ScriptedPolicy()
    result = run_episode(QUESTION, policy, web, web)
    assert result.record.end_reason == "answer"
    assert result.actions[0] == f"Search {QUESTION}"
    assert any("Gustave Eiffel, whose company designed" in q.text for q in result.record.quotes)
    assert all(step.valid for step in result.record.steps)
    assert result.answers[0].supported


def test_scripted_policy_gives_up_without_quotes(web) -> None:
    result = run_episode("Zyzzyva quux?", ScriptedPolicy(), web, web)
    assert result.record.end_reason == "abandoned"
    assert result.answers[0].declined and result.answers[0].text == NOT_FOUND


def test_scheduled_mode_with_a_model_scorer_takes_only_valid_actions(random_engine, web) -> None:
    # Greedy choices (temperature 0) from the seeded tiny model: the same episode every time. Every page
    # of the tiny web is about the tower, and the model ranks some of their sentences above their titles
    # alone (a score over the threshold, 0), so the schedule collects its quotes and answers.
    def episode() -> EpisodeResult:
        policy = ScriptedPolicy(QuestionLikelihood(random_engine), name="tiny", temperature=0.0, seed=0)
        return run_episode(QUESTION, policy, web, web, config=EnvConfig(max_actions=30))

    result = episode()
    assert result.record.end_reason == "answer"
    assert result.actions[-1] == "End: Answer"
    assert len(result.record.quotes) == ScheduleConfig().target_quotes
    assert not result.answers[0].declined
    assert episode().actions == result.actions
    assert all(step.valid or step.command.startswith("Find in page:") for step in result.record.steps)
    assert result.record.model_id == "tiny"
    assert result.timings.prompt_tokens > 0 and result.timings.prompt_processing > 0


def test_window_sentences_read_the_envs_paragraphs_and_strip_links() -> None:
    paragraphs = [
        "It is named after the engineer 【3†Gustave Eiffel】, whose company designed and built the tower, "
        "and it stands in Paris. Short.",
        "A heading",
        "The tower was finished in 1889.",
    ]
    sentences = window_sentences(paragraphs, min_chars=10)
    assert sentences[0] == (
        "It is named after the engineer Gustave Eiffel, whose company designed and built the tower, "
        "and it stands in Paris."
    )
    assert "The tower was finished in 1889." in sentences
    assert all("【" not in s for s in sentences)


def test_a_sentence_ending_in_an_italic_title_is_its_own_sentence() -> None:
    paragraph = "In 1969 the band released _Abbey Road._ It topped the charts for weeks."
    assert window_sentences([paragraph], min_chars=10) == [
        "In 1969 the band released _Abbey Road.",
        "It topped the charts for weeks.",
    ]


def test_a_sentence_ending_in_reference_marks_is_its_own_sentence() -> None:
    paragraph = "The show aired on 31 July 2014.[75] Harry later wrote about it.[76][a] He vowed to return."
    assert window_sentences([paragraph], min_chars=10) == [
        "The show aired on 31 July 2014.",
        "Harry later wrote about it.",
        "He vowed to return.",
    ]


def test_an_initial_or_an_abbreviation_does_not_end_a_sentence() -> None:
    paragraph = (
        "John F. Kennedy moved to St. Louis in 1950. The song reached No. 1 there. "
        "It was not in the U.S. Army records."
    )
    assert window_sentences([paragraph], min_chars=5) == [
        "John F. Kennedy moved to St. Louis in 1950.",
        "The song reached No. 1 there.",
        "It was not in the U.S.",  # a dotted acronym ends a sentence as often as not
        "Army records.",
    ]


def test_a_full_stop_before_a_lower_case_word_does_not_end_a_sentence() -> None:
    paragraph = "He won the U.S. presidential election in 1860. Smith et al. and others disagree. It ended."
    assert window_sentences([paragraph], min_chars=5) == [
        "He won the U.S. presidential election in 1860.",
        "Smith et al. and others disagree.",
        "It ended.",
    ]


def test_an_answer_model_that_says_nothing_gives_an_empty_flagged_answer(tiny_lm_dir: Path, web) -> None:
    from agent.answer import ModelAnswerer, compose_answer
    from demonstrations.schemas import QuoteRecord

    engine = biased_engine(tiny_lm_dir, load_causal_lm(str(tiny_lm_dir)).tokenizer.eos_token_id)
    answerer = ModelAnswerer(engine, fallback_prefix="According to the quotes,", attribute=True)
    quote = QuoteRecord(
        url="https://example.org/eiffel.html", title="Eiffel Tower", text="It is 330 metres tall"
    )
    (text,) = answerer.write(QUESTION, [quote])
    assert text == ""
    answer = compose_answer(QUESTION, text, [quote], "answer", web)
    assert not answer.supported and "the answer is empty" in answer.problems


def test_the_greedy_twin_of_a_sampling_policy_takes_the_same_steps_every_time(random_engine, web) -> None:
    sampling = SamplingConfig(temperature=1.0, seed=3, max_new_tokens=12)
    policy = LMPolicy(random_engine, guided=True, sampling=sampling)
    twin = policy.greedy()
    assert twin.sampling.temperature == 0.0 and policy.sampling.temperature == 1.0
    runs = [run_episode(QUESTION, twin, web, web, config=EnvConfig(max_actions=6)) for _ in range(2)]
    assert runs[0].actions == runs[1].actions


def test_the_scripted_agent_loads_no_model_library() -> None:
    """`webgpt ask --policy scripted` starts without importing transformers (seconds of a cold start)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from agent.policies import load_named_agent\n"
        "agent = load_named_agent('scripted', temperature=0.8, seed=3)\n"
        "print(type(agent.policy).__name__, agent.policy.temperature, 'transformers' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["ScriptedPolicy", "0.8", "False"]


def test_an_unknown_mode_is_refused_before_a_model_loads() -> None:
    from agent.policies import load_named_agent

    with pytest.raises(ValueError, match="unknown mode 'wander': use free, guided or scheduled"):
        load_named_agent("no-such-model-folder", mode="wander")


@pytest.mark.parametrize("pages", [0, 4])
def test_quoting_more_pages_than_scheduled_browsing_reads_is_refused(pages: int) -> None:
    from agent.config import AgentConfig

    with pytest.raises(ValueError, match=f"quoted_pages must be 1 to 3, not {pages}"):
        AgentConfig(quoted_pages=pages)
