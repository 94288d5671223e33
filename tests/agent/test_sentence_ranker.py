"""The sentence ranker (agent/sentence_ranker.py) and skimming a page with it (ScheduleConfig.skim)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_models import html

from agent.policies.scripted import ScheduleConfig, ScriptedPolicy, WordOverlap
from agent.rollout import run_episode
from agent.sentence_ranker import FEATURES, SentenceRanker, features, question_kind
from browser_env.config import EnvConfig
from browser_env.docstore import Document
from browser_env.memory_web import MemoryWeb


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("how many seasons of the rugrats are there", "number"),
        ("when did the royal mint move to wales", "when"),
        ("who wrote papa got a brand new bag", "who"),
        ("where was percy jackson filmed", "where"),
        ("what are the colors of the netherlands flag", "other"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_features_see_the_kind_of_answer_and_the_rare_words() -> None:
    question = "when did the royal mint move to wales"
    dated = features(question, "Royal Mint", "The Royal Mint moved to Llantrisant in Wales in 1968.", 0.5)
    undated = features(question, "Royal Mint", "The Royal Mint makes coins for many countries.", 0.5)
    kind = FEATURES.index("wanted_kind")
    assert dated[kind] == 1.0 and undated[kind] == 0.0
    coverage = FEATURES.index("coverage")
    assert dated[coverage] > undated[coverage]
    # "wales" is rarer than "move": covering it counts for more than covering "move".
    rare = features(question, "", "Wales has a mint.", 0.5)[coverage]
    common = features(question, "", "They move a lot.", 0.5)[coverage]
    assert rare > common


def test_the_shipped_ranker_prefers_the_sentence_that_answers() -> None:
    ranker = SentenceRanker.load()
    question = "who wrote the novel moby dick"
    answering, aside = ranker.score(
        question,
        [
            ("Moby-Dick", "Moby-Dick is an 1851 novel by American writer Herman Melville."),
            ("Moby-Dick", "The novel was a commercial failure and out of print when he died."),
        ],
    )
    assert answering > aside


@pytest.mark.parametrize("content", ["not json", '{"weights": [1.0]}', json.dumps({"features": ["x"]})])
def test_a_broken_ranker_file_is_refused_clearly(tmp_path: Path, content: str) -> None:
    path = tmp_path / "ranker.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="not a sentence ranker"):
        SentenceRanker.load(path)


def test_log_odds_follow_the_weights() -> None:
    ranker = SentenceRanker(
        weights=[2.0] + [0.0] * (len(FEATURES) - 1),
        bias=-1.0,
        mean=[0.5] + [0.0] * 8,
        scale=[0.25] + [1.0] * 8,
    )
    values = [1.0] + [0.0] * (len(FEATURES) - 1)
    assert ranker.log_odds(values) == pytest.approx(-1.0 + 2.0 * (1.0 - 0.5) / 0.25)


def test_skimming_reads_the_whole_page_and_quotes_its_best_sentence() -> None:
    def filler(years: range) -> str:
        return "".join(
            f"<p>The harbour lighthouse of Porthcawl was painted in {n} by the council.</p>" for n in years
        )

    answer = "The Porthcawl harbour lighthouse was designed by the engineer Ada Pryce in 1866."
    web = MemoryWeb(
        [
            Document(
                "https://example.org/light",
                "Porthcawl Lighthouse",
                html(
                    "Porthcawl Lighthouse",
                    filler(range(1900, 1930)) + f"<p>{answer}</p>" + filler(range(1930, 1960)),
                ),
                "html",
            )
        ]
    )
    policy = ScriptedPolicy(WordOverlap(), ScheduleConfig(skim=True, target_quotes=1))
    result = run_episode("Who designed the Porthcawl harbour lighthouse?", policy, web, web)
    commands = result.actions
    assert commands.count("Scrolled down 1") >= 2
    assert any(c.startswith("Find in page: The Porthcawl harbour lighthouse") for c in commands)
    assert [q.text for q in result.record.quotes] == [answer]
    assert commands.index(next(c for c in commands if c.startswith("Quote:"))) > commands.index(
        "Scrolled down 1"
    )
    assert all(step.valid for step in result.record.steps)
    assert result.record.end_reason == "answer"


def test_skimming_at_a_temperature_draws_among_the_sentences_read() -> None:
    body = "".join(f"<p>The Porthcawl lighthouse keeper number {n} was from Wales.</p>" for n in range(60))
    page = Document(
        "https://example.org/light", "Porthcawl Lighthouse", html("Porthcawl Lighthouse", body), "html"
    )
    web = MemoryWeb([page])
    quoted = set()
    for seed in range(6):
        policy = ScriptedPolicy(
            WordOverlap(), ScheduleConfig(skim=True, target_quotes=1), temperature=1.0, seed=seed
        )
        result = run_episode("Who was the Porthcawl lighthouse keeper?", policy, web, web)
        quoted |= {q.text for q in result.record.quotes}
        assert all(step.valid for step in result.record.steps)
    assert len(quoted) > 1


@pytest.mark.parametrize("lines_before", range(6, 14))
def test_skimming_quotes_a_sentence_whole_when_a_window_edge_cuts_it(lines_before: int) -> None:
    answer = (
        "The Porthcawl harbour lighthouse, which stands at the end of the old breakwater and was"
        " built of cast iron plates bolted together, was designed by the engineer Ada Pryce in 1866"
        " and first lit in the autumn of that year, replacing a lantern on a pole."
    )
    filler = "".join(f"<p>Item {n}.</p>" for n in range(lines_before))
    body = filler + f"<p>{answer}</p>" + "".join(f"<p>Note {n}.</p>" for n in range(30))
    page = Document("https://example.org/light", "Lighthouse", html("Lighthouse", body), "html")
    web = MemoryWeb([page])
    policy = ScriptedPolicy(WordOverlap(), ScheduleConfig(skim=True, target_quotes=1))
    result = run_episode("Who designed the Porthcawl harbour lighthouse in 1866?", policy, web, web)
    assert [q.text for q in result.record.quotes] == [answer]


class PrefersYears:
    """A second scorer for the tests: 0 for a sentence naming a year, -10 otherwise."""

    threshold = -10.0

    def score(self, question: str, passages: list[tuple[str, str]]) -> list[float]:
        return [0.0 if re.search(r"\b\d{4}\b", text) else -10.0 for _, text in passages]


BOARD = "The Porthcawl harbour lighthouse was designed by the harbour board."
PRYCE = "Ada Pryce designed the Porthcawl lighthouse in 1866."


def two_pages(first: str, second: str) -> MemoryWeb:
    """Two pages that the search lists in this order, each with one sentence about the question."""
    return MemoryWeb(
        [
            Document(
                "https://example.org/light",
                "Porthcawl harbour lighthouse",
                html("Porthcawl harbour lighthouse", f"<p>{first}</p><p>It stands on the breakwater.</p>"),
                "html",
            ),
            Document(
                "https://example.org/wales",
                "Lighthouses of Wales",
                html("Lighthouses of Wales", f"<p>{second}</p><p>Wales has many lighthouses.</p>"),
                "html",
            ),
        ]
    )


@pytest.mark.parametrize("year_first", [True, False])
def test_skimming_two_pages_quotes_the_sentence_the_reranker_tips(year_first: bool) -> None:
    """The word overlap prefers the board's sentence (4 of 4 question words against 3); the reranker tips
    the choice to the one with a year, on the page read first or second. When it was read first, the
    policy goes back and opens that page again before quoting."""
    question = "Who designed the Porthcawl harbour lighthouse?"
    web = two_pages(PRYCE, BOARD) if year_first else two_pages(BOARD, PRYCE)
    assert [r.url for r in web.search(question)] == ["https://example.org/light", "https://example.org/wales"]
    schedule = ScheduleConfig(skim=True, target_quotes=1, results_in_order=True, pages_to_read=2)

    plain = run_episode(question, ScriptedPolicy(WordOverlap(), schedule), web, web)
    assert [q.text for q in plain.record.quotes] == [BOARD]

    policy = ScriptedPolicy(WordOverlap(), replace(schedule, rerank_weight=0.25), reranker=PrefersYears())
    result = run_episode(question, policy, web, web)
    assert [q.text for q in result.record.quotes] == [PRYCE]
    clicks = [c for c in result.actions if c.startswith("Clicked on link")]
    assert len(clicks) == (3 if year_first else 2)
    assert result.actions.count("Back") == (2 if year_first else 1)
    assert all(step.valid for step in result.record.steps)
    assert result.record.end_reason == "answer"


def test_skimming_two_pages_settles_for_one_when_the_search_finds_one() -> None:
    web = MemoryWeb([two_pages(PRYCE, BOARD).documents["https://example.org/light"]])
    schedule = ScheduleConfig(skim=True, target_quotes=1, results_in_order=True, pages_to_read=2)
    policy = ScriptedPolicy(WordOverlap(), schedule, reranker=PrefersYears())
    result = run_episode("Who designed the Porthcawl harbour lighthouse?", policy, web, web)
    assert [q.text for q in result.record.quotes] == [PRYCE]
    assert all(step.valid for step in result.record.steps)


def three_results(best: str) -> MemoryWeb:
    """Three pages the search lists in this order, ``best`` (a sentence holding every question word)
    on the third, the first two rich in the question's other words."""
    pages = [
        ("light", "Porthcawl harbour lighthouse", f"{PRYCE} The Porthcawl harbour lighthouse is white."),
        ("wales", "Porthcawl harbour", "Porthcawl harbour lighthouse was painted white in 1911."),
        ("board", "Harbour board", f"{best} The board met monthly."),
    ]
    return MemoryWeb(
        [Document(f"https://example.org/{u}", t, html(t, f"<p>{body}</p>"), "html") for u, t, body in pages]
    )


@pytest.mark.parametrize("pages_to_read", [2, 3])
def test_skimming_quotes_the_best_sentence_of_the_results_it_reads(pages_to_read: int) -> None:
    """The best sentence is on the third result: reading three results (the default schedule) quotes
    it; reading two quotes one of the first two, never opening the third."""
    question = "Who designed the Porthcawl harbour lighthouse?"
    web = three_results(BOARD)
    assert [r.url.rsplit("/", 1)[1] for r in web.search(question)] == ["light", "wales", "board"]
    schedule = ScheduleConfig(skim=True, target_quotes=1, results_in_order=True, pages_to_read=pages_to_read)
    policy = ScriptedPolicy(WordOverlap(), schedule)
    result = run_episode(question, policy, web, web)
    quoted = result.record.quotes
    assert len(quoted) == 1 and (quoted[0].text == BOARD) is (pages_to_read == 3)
    read = policy.sentences_read()  # every sentence weighed on the pages read, best first
    assert {r.url.rsplit("/", 1)[1] for r in read} == {"light", "wales", "board"} - (
        set() if pages_to_read == 3 else {"board"}
    )
    assert read[0].sentence == quoted[0].text and read[0].url == quoted[0].url
    assert [r.score for r in read] == sorted((r.score for r in read), reverse=True)
    assert quoted[0].url.endswith("/board") is (pages_to_read == 3)
    assert all(step.valid for step in result.record.steps)
    assert result.record.end_reason == "answer"


def test_skimming_for_two_quotes_goes_back_for_the_next_pages_best_sentence() -> None:
    """A schedule asking for two quotes quotes the best sentence of the three results read, then goes
    back and quotes the best of another page, instead of ending with one."""
    question = "Who designed the Porthcawl harbour lighthouse?"
    schedule = ScheduleConfig(skim=True, target_quotes=2, results_in_order=True, pages_to_read=3)
    result = run_episode(
        question, ScriptedPolicy(WordOverlap(), schedule), three_results(BOARD), three_results(BOARD)
    )
    quoted = result.record.quotes
    assert [q.url.rsplit("/", 1)[1] for q in quoted][:1] == ["board"] and len(quoted) == 2
    assert quoted[1].url != quoted[0].url
    assert all(step.valid for step in result.record.steps)
    assert result.record.end_reason == "answer"


@pytest.mark.parametrize("budget", [16, 24, 40])
def test_skimming_quotes_what_it_read_before_its_actions_run_out(budget: int) -> None:
    """Three long results and too few actions to read them all: the policy stops reading with a few
    actions left and quotes the best sentence read so far (here on the first result, so it goes back to
    it) instead of running out of actions without a quote."""

    def long_page(slug: str, answer: str = "") -> Document:
        filler = "".join(
            f"<p>The Porthcawl {slug} was repainted in {n} by the harbour council.</p>"
            for n in range(1900, 1960)
        )
        return Document(
            f"https://example.org/{slug}", f"Porthcawl {slug}", html(slug, answer + filler), "html"
        )

    answer = "The Porthcawl harbour lighthouse was designed by the engineer Ada Pryce in 1866."
    web = MemoryWeb([long_page("lighthouse", f"<p>{answer}</p>"), long_page("harbour"), long_page("pier")])
    schedule = ScheduleConfig(skim=True, target_quotes=1, results_in_order=True, pages_to_read=3)
    result = run_episode(
        "Who designed the Porthcawl harbour lighthouse?",
        ScriptedPolicy(WordOverlap(), schedule),
        web,
        web,
        config=EnvConfig(max_actions=budget),
    )
    assert [q.text for q in result.record.quotes] == [answer]
    assert result.record.end_reason == "answer" and len(result.actions) <= budget
    assert all(step.valid for step in result.record.steps)


def test_browsing_uses_the_ranker_a_run_or_its_checkpoint_names(tiny_lm_dir: Path, tmp_path: Path) -> None:
    import shutil

    from agent.policies import load_agent
    from agent.sentence_ranker import SHIPPED_RANKER

    shipped = SentenceRanker.load()
    fitted = replace(shipped, weights=[w + 1.0 for w in shipped.weights], bias=shipped.bias - 2.0)
    own = tmp_path / "own-ranker.json"
    own.write_text(json.dumps(fitted.to_json()), encoding="utf-8")
    checkpoint = tmp_path / "policy"
    shutil.copytree(tiny_lm_dir, checkpoint)
    settings = checkpoint / "webgpt.json"
    settings.write_text(json.dumps({"mode": "scheduled"}), encoding="utf-8")

    def weights(**options) -> list[float]:  # type: ignore[no-untyped-def]
        return load_agent(str(checkpoint), seed=0, **options).policy.scorer.weights

    assert weights() == shipped.weights == SentenceRanker.load(SHIPPED_RANKER).weights
    assert weights(ranker=own) == fitted.weights  # a run's own ranker
    guided = load_agent(str(checkpoint), mode="guided", seed=0, ranker=own).policy
    assert guided.quote_scorer.weights == fitted.weights
    shutil.copy2(own, checkpoint / "ranker.json")
    settings.write_text(json.dumps({"mode": "scheduled", "sentence_ranker": "ranker.json"}), encoding="utf-8")
    assert weights() == fitted.weights  # the checkpoint's, read from its folder
    assert weights(ranker=SHIPPED_RANKER) == shipped.weights  # the run's choice wins
    with pytest.raises(ValueError, match="no sentence ranker at"):
        weights(ranker=tmp_path / "missing.json")
    settings.write_text(json.dumps({"mode": "scheduled", "reader": "likelihood"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a sentence ranker: drop --ranker"):
        weights(ranker=own)


def test_the_scripted_policy_refuses_a_ranker() -> None:
    from agent.policies import load_named_agent

    with pytest.raises(ValueError, match="without a sentence ranker"):
        load_named_agent("scripted", ranker="ranker.json")
