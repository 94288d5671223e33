"""Corroboration (agent/corroboration.py) and skimming's second say with it (``SecondSay``)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from tiny_models import html

from agent.corroboration import Corroboration, corroboration, new_stems, result_counts
from agent.policies.page_reading import SecondSay
from agent.policies.scripted import ScheduleConfig, ScriptedPolicy, WordOverlap
from agent.rollout import run_episode
from browser_env.config import EnvConfig
from browser_env.docstore import Document
from browser_env.memory_web import MemoryWeb
from browser_env.web import SearchResult

QUESTION = "Who designed the Porthcawl harbour lighthouse?"
BOARD = "The Porthcawl harbour lighthouse was designed by the harbour board."
PRYCE = "Ada Pryce designed the Porthcawl lighthouse in 1866."


def test_only_the_words_the_question_lacks_count() -> None:
    assert new_stems(QUESTION, PRYCE) == new_stems("", "Ada Pryce 1866")
    assert new_stems(QUESTION, "The Porthcawl harbour lighthouse was designed.") == set()


def test_corroboration_is_the_mean_log_count_of_the_results_holding_each_new_word() -> None:
    counts = result_counts(["Ada Pryce built it.", "Pryce, Pryce and 1866.", "Nothing here."])
    assert counts == result_counts(["Ada Pryce built it.", "Pryce and 1866.", "Nothing here."])  # once a text
    # ada: 1 result, pryce: 2, 1866: 1.
    assert corroboration(QUESTION, PRYCE, counts) == pytest.approx((2 * math.log(2) + math.log(3)) / 3)
    assert corroboration(QUESTION, BOARD, counts) == 0.0  # "board" is in no result
    assert corroboration(QUESTION, "The Porthcawl lighthouse was designed.", counts) == 0.0  # adds nothing


class CountingWeb(MemoryWeb):
    def __init__(self, documents: list[Document]) -> None:
        super().__init__(documents)
        self.searches: list[tuple[str, int]] = []

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        self.searches.append((query, k))
        return super().search(query, k)


def page(slug: str, title: str, body: str) -> Document:
    return Document(f"https://example.org/{slug}", title, html(title, f"<p>{body}</p>"), "html")


def porthcawl(pryce_pages: int) -> CountingWeb:
    """The lighthouse pages the search lists first (the board's sentence on the first, Ada Pryce's on the
    second), then ``pryce_pages`` pages that name her and the year, sharing one word with the question."""
    pages = [
        page("light", "Porthcawl harbour lighthouse", f"{BOARD} It stands on the breakwater."),
        page("wales", "Porthcawl harbour", f"{PRYCE} The harbour lighthouse is white."),
    ]
    pages += [
        page(f"pryce{k}", f"Pryce family {k}", "Ada Pryce built lighthouses from 1866 in Porthcawl.")
        for k in range(pryce_pages)
    ]
    return CountingWeb(pages)


def test_one_search_a_question_on_the_bound_backend() -> None:
    scorer = Corroboration(results=5)
    with pytest.raises(ValueError, match="bind"):
        scorer.score(QUESTION, [("", PRYCE)])
    web = porthcawl(3)
    scorer.bind(web)
    first = scorer.score(QUESTION, [("", PRYCE), ("", BOARD)])
    assert scorer.score(QUESTION, [("", BOARD)]) == first[1:]
    assert web.searches == [(QUESTION, 5)]
    assert first[0] > first[1]
    scorer.score("Where is Porthcawl?", [("", PRYCE)])
    assert len(web.searches) == 2
    scorer.bind(web)  # a new episode searches again
    scorer.score(QUESTION, [("", PRYCE)])
    assert len(web.searches) == 3


class Fixed:
    threshold = 0.0

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values
        self.asked: list[list[str]] = []

    def score(self, question: str, passages: list[tuple[str, str]]) -> list[float]:
        self.asked.append([text for _, text in passages])
        return [self.values[text] for _, text in passages]


def test_a_second_say_weighs_only_the_best_options_again() -> None:
    scorer = Fixed({"a": 0.0, "b": 4.0, "c": 10.0, "d": 10.0})
    passages = [("", t) for t in "abcd"]
    weighed = SecondSay(scorer, weight=0.5, best=2).weigh(QUESTION, passages, [3.0, 2.0, 1.0, 0.0])
    assert weighed == [3.0, 4.0, 1.0, 0.0]  # a and b were the best two: a gains 0, b gains 2
    assert scorer.asked == [["a", "b"]]
    assert SecondSay(scorer, weight=1.0).weigh(QUESTION, passages, [0.0] * 4) == [0.0, 4.0, 10.0, 10.0]
    assert SecondSay(scorer, weight=1.0).weigh(QUESTION, passages[:1], [7.0]) == [7.0]  # nothing to weigh


@pytest.mark.parametrize("pryce_pages", [0, 4])
def test_skimming_quotes_the_sentence_other_results_corroborate(pryce_pages: int) -> None:
    """Word overlap prefers the board's sentence (every question word); when four more results name Ada
    Pryce and the year, corroboration tips the choice to her sentence. The rollout binds the episode's
    search to the scorer (one search of the question, beside the episode's own)."""
    web = porthcawl(pryce_pages)
    assert [r.url.rsplit("/", 1)[1] for r in web.search(QUESTION)][:2] == ["light", "wales"]
    schedule = ScheduleConfig(
        skim=True, target_quotes=1, results_in_order=True, pages_to_read=2, rerank_best=3, rerank_weight=0.5
    )
    policy = ScriptedPolicy(WordOverlap(), schedule, reranker=Corroboration())
    result = run_episode(QUESTION, policy, web, web)
    assert [q.text for q in result.record.quotes] == [PRYCE if pryce_pages else BOARD]
    assert all(step.valid for step in result.record.steps)
    assert result.record.end_reason == "answer"


def test_a_checkpoint_asks_for_corroboration(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from agent.policies import CORROBORATION_BEST, CORROBORATION_WEIGHT, load_agent

    checkpoint = tmp_path / "policy"
    shutil.copytree(tiny_lm_dir, checkpoint)
    settings = {"mode": "guided", "guided_skim": True, "corroboration": True}
    (checkpoint / "webgpt.json").write_text(json.dumps(settings))
    guided = load_agent(str(checkpoint), device="cpu").policy
    assert guided.second_say is not None and isinstance(guided.second_say.scorer, Corroboration)
    assert (guided.second_say.weight, guided.second_say.best) == (CORROBORATION_WEIGHT, CORROBORATION_BEST)
    scheduled = load_agent(str(checkpoint), device="cpu", mode="scheduled").policy
    assert isinstance(scheduled.reranker, Corroboration)
    assert scheduled.config.rerank_best == CORROBORATION_BEST
    (checkpoint / "webgpt.json").write_text(json.dumps({"mode": "guided", "guided_skim": True}))
    assert load_agent(str(checkpoint), device="cpu").policy.second_say is None
    assert load_agent(str(checkpoint), device="cpu", mode="scheduled").policy.reranker is None
    (checkpoint / "webgpt.json").write_text(json.dumps({"corroboration": True, "lead_confidence": True}))
    with pytest.raises(ValueError, match="pick one"):
        load_agent(str(checkpoint), device="cpu")


class Unreachable:
    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        raise ConnectionError("search host unreachable")


def test_a_search_that_fails_leaves_the_order_as_it_is() -> None:
    scorer = Corroboration()
    scorer.bind(Unreachable())
    assert scorer.score(QUESTION, [("", PRYCE), ("", BOARD)]) == [0.0, 0.0]


def test_results_the_environment_blocks_do_not_corroborate() -> None:
    """The four pages naming Ada Pryce are on a blocked site: the board's sentence is quoted, as with
    none of them (their words reach corroboration no more than the browser)."""
    web = porthcawl(0)
    for k in range(4):
        url = f"https://blocked.example/pryce{k}"
        web.documents[url] = Document(
            url,
            f"Pryce family {k}",
            html("Pryce", "<p>Ada Pryce built lighthouses from 1866 in Porthcawl.</p>"),
            "html",
        )
    schedule = ScheduleConfig(
        skim=True, target_quotes=1, results_in_order=True, pages_to_read=2, rerank_best=3, rerank_weight=0.5
    )
    config = EnvConfig(blocklist=("blocked.example",))
    for blocked, quoted in ((config, BOARD), (EnvConfig(), PRYCE)):
        policy = ScriptedPolicy(WordOverlap(), schedule, reranker=Corroboration())
        result = run_episode(QUESTION, policy, web, web, config=blocked)
        assert [q.text for q in result.record.quotes] == [quoted]
