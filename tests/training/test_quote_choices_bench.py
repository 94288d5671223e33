"""bench/quote_choices.py: one browse's next best sentences quoted as the environment quotes them, the
picker's features, and the picks it reports side by side."""

from __future__ import annotations

import math
from types import ModuleType

import pytest
from bench_modules import load_bench

from agent.policies.scripted import ScheduleConfig, ScriptedPolicy, WordOverlap
from agent.rollout import browse
from browser_env import textmatch
from browser_env.env import EnvConfig
from browser_env.memory_web import Document, MemoryWeb

QUESTION = "Who designed the Porthcawl harbour lighthouse?"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("quote_choices")


def html(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


@pytest.fixture
def web() -> MemoryWeb:
    pages = [
        (
            "light",
            "Porthcawl harbour lighthouse",
            "<p>The Porthcawl harbour lighthouse was designed by Pryce.</p>",
        ),
        ("wales", "Porthcawl harbour", "<p>Porthcawl harbour lighthouse was painted white in 1911.</p>"),
    ]
    return MemoryWeb([Document(f"https://example.org/{u}", t, html(t, body), "html") for u, t, body in pages])


def test_choices_are_the_browses_quote_then_the_next_best_sentences_quoted_verbatim(
    bench: ModuleType, web: MemoryWeb
) -> None:
    schedule = ScheduleConfig(skim=True, target_quotes=1, results_in_order=True, pages_to_read=2)
    policy = ScriptedPolicy(WordOverlap(), schedule)
    config = EnvConfig()
    browsed = browse(QUESTION, policy, web, web, config=config)
    choices = bench.quote_choices(browsed, policy, web, 3, config)
    assert choices[0][0] == browsed.quotes[0]  # the browse's own quote first, as one answer has it
    assert len(choices) == len({textmatch.normalize(q.text) for q, _ in choices}) >= 2
    for quote, score in choices[1:]:
        page = web.fetch(quote.url)
        assert score is not None and page.text[quote.start : quote.end] == quote.text
        assert (
            textmatch.verify_quote(page.text, quote.text, quote.start, quote.end, quote.page_sha256) is None
        )
    assert bench.quote_from_page("https://example.org/light", "Not on the page at all.", web, config) is None


def cand(answer: str, sentence: str, score: float | None, right: bool = False, reward: float = 0.0) -> dict:
    return {
        "answer": answer,
        "sentence": sentence,
        "score": score,
        "declined": False,
        "right": right,
        "reward": reward,
    }


def test_the_features_weigh_agreement_by_the_rankers_scores(bench: ModuleType) -> None:
    cands = [
        cand("Pryce [1]. According to A, “…” [1].", "Designed by John Pryce.", -1.0),
        cand("John Pryce [1].", "John Pryce built it in 1860.", -2.0),
        cand("Porthcawl harbour [1].", "It stands in 1911 in Porthcawl harbour.", None),
    ]
    rows = bench.features(QUESTION, cands)
    named = [dict(zip(bench.FEATURES, row, strict=True)) for row in rows]
    weights = [1.0, math.exp(-1.0), math.exp(bench.MISSING_SCORE_GAP)]
    assert [r["score_gap"] for r in named] == [0.0, -1.0, bench.MISSING_SCORE_GAP]
    assert [r["first"] for r in named] == [1.0, 0.0, 0.0]
    # "pryce" and "john pryce" agree (one holds the other); the third agrees with neither
    assert named[0]["agreement"] == pytest.approx(weights[1] / sum(weights))
    assert named[1]["agreement"] == pytest.approx(weights[0] / sum(weights))
    assert named[2]["agreement"] == 0.0
    assert [r["support"] for r in named] == [0.5, 0.5, 0.0]  # share of the others' quotes holding the lead
    assert named[2]["echo"] == 1.0 and named[0]["echo"] == 0.0  # "porthcawl harbour" is the question's
    assert named[0]["wanted_kind"] == 1.0 and named[2]["wanted_kind"] == 0.0  # a new name for "who"
    assert named[1]["lead_words"] == 2.0 and named[0]["no_lead"] == 0.0


def test_the_report_counts_each_pick_and_the_picker_learns_a_plain_signal(bench: ModuleType) -> None:
    rows = []
    for k in range(40):
        right_second = k % 2 == 0  # the second candidate, a name, is right on every other question
        rows.append(
            {
                "question": f"Who designed lighthouse number {k}?",
                "cands": [
                    cand(
                        "Lighthouse [1].",
                        "The lighthouse is white.",
                        -1.0,
                        right=not right_second,
                        reward=1.0,
                    ),
                    cand("Pryce [1].", "Pryce designed it.", -1.5, right=right_second, reward=0.0),
                ],
            }
        )
    (entry,) = bench.report(rows, 2)
    assert entry["questions"] == 40 and entry["first"] == 20 and entry["any"] == 40
    assert entry["reward model"] == 20  # the reward model always prefers the first here
    assert entry["agreement"] == 20  # nothing agrees: the first
    assert entry["picker (5-fold)"] == 20  # both kinds of question look alike: no signal to learn
    for row in rows:  # now the right one, first or second, is the one with a new name in its lead
        if row["cands"][0]["right"]:
            row["cands"][0]["answer"], row["cands"][1]["answer"] = "Pryce [1].", "Lighthouse [1]."
    (entry,) = bench.report(rows, 2)
    assert entry["picker (5-fold)"] == 40 and entry["first"] == 20


def test_the_corroboration_pick_weighs_the_rankers_score_and_the_other_results(
    bench: ModuleType, web: MemoryWeb
) -> None:
    rows = [
        {
            "question": QUESTION,
            "cands": [
                {**cand("Porthcawl [1].", "The Porthcawl harbour lighthouse is white.", -1.0), "title": "A"},
                {
                    **cand("Pryce [1].", "The lighthouse was designed by Pryce.", -1.2, right=True),
                    "title": "B",
                },
                {**cand("Wales [1].", "It stands in Wales.", None), "title": "C"},
            ],
        }
    ]
    (entry,) = bench.report(rows, 2)
    assert "corroboration" not in entry  # not reckoned: no pick by it
    bench.add_corroboration(rows, web)
    values = [c["corroboration"] for c in rows[0]["cands"]]
    # "white" and "pryce" are each in 1 of the 2 results; "stands" and "wales" in neither.
    assert values == pytest.approx([math.log(2), math.log(2), 0.0])
    (entry,) = bench.report(rows, 2)
    assert entry["corroboration"] == 0  # 0.5 × log 2 does not make up a score 0.2 lower
    rows[0]["cands"][1]["corroboration"] = 2.0
    (entry,) = bench.report(rows, 2)
    assert entry["corroboration"] == 1 and entry["first"] == 0
    assert bench.corroborated(rows[0]["cands"]) == 1  # the unscored third counts as the best score
