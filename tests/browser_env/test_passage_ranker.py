"""The passage ranker: BM25's first passages ordered again by answer kind, coverage and place."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from corpus_fixtures import corpus_of_rows

from browser_env.search.passage_ranker import FEATURES, Candidate, PassageRanker, features


def one_weight(name: str, weight: float = 1.0) -> PassageRanker:
    """A ranker that scores by one feature alone."""
    return PassageRanker(
        [weight if f == name else 0.0 for f in FEATURES], [0.0] * len(FEATURES), [1.0] * len(FEATURES)
    )


def column(rows: np.ndarray, name: str) -> list[float]:
    return rows[:, FEATURES.index(name)].tolist()


def flat_idf(word: str) -> float:
    return 1.0


QUESTION = "when did the tower of pisa start to lean"
NO_YEAR = Candidate("Pisa", "The tower of Pisa is a tower in Pisa, the tower of Pisa.", 9.0, 3)
YEAR = Candidate("Pisa", "The tower of Pisa began to lean in 1178, during building.", 6.0, 0)


def test_features_say_what_the_question_wants_and_where_the_passage_sits() -> None:
    rows = features(QUESTION, [NO_YEAR, YEAR], flat_idf)
    assert rows.shape == (2, len(FEATURES))
    assert column(rows, "wanted_kind") == [0.0, 1.0]  # "when" wants a year
    assert column(rows, "bm25_share") == [1.0, pytest.approx(6 / 9)]
    assert column(rows, "log_place") == [pytest.approx(np.log(4)), 0.0]
    # "lean" is in the second passage only: it covers more of the question
    assert column(rows, "coverage")[1] > column(rows, "coverage")[0]
    other = features("tower of pisa", [NO_YEAR, YEAR], flat_idf)
    assert column(other, "wanted_kind") == [1.0, 1.0]  # no kind asked: every passage holds it


def test_rarity_weighs_the_question_words() -> None:
    rare = {"pisa": 10.0}
    rows = features(
        "pisa tower",
        [Candidate("", "tower", 1.0, 0), Candidate("", "pisa", 1.0, 0)],
        lambda w: rare.get(w, 1.0),
    )
    assert column(rows, "coverage") == [pytest.approx(1 / 11), pytest.approx(10 / 11)]
    assert column(rows, "rarest_present") == [0.0, 1.0]


def test_the_order_follows_the_weights_and_keeps_bm25_order_on_ties() -> None:
    candidates = [NO_YEAR, YEAR]
    assert one_weight("wanted_kind").order(QUESTION, candidates, flat_idf).tolist() == [1, 0]
    assert one_weight("bm25_share").order(QUESTION, candidates, flat_idf).tolist() == [0, 1]
    assert one_weight("new_name", 0.0).order(QUESTION, candidates, flat_idf).tolist() == [0, 1]


def test_search_orders_bm25s_passages_again_unless_told_not_to(tmp_path: Path) -> None:
    rows = [
        {
            "title": "Pisa tower notes",
            "text": "Tower of Pisa, lean, start. The tower of Pisa: start, lean. Tower of Pisa start lean.",
        },
        {"title": "Construction of the tower", "text": "The tower began to lean in 1178."},
        {"title": "Filler", "text": "Nothing about it at all."},
    ]
    corpus = corpus_of_rows(tmp_path, "reranked", rows)
    search = corpus.search
    search.rerank = False
    assert [r.title for r in search.search(QUESTION, k=2)] == [
        "Pisa tower notes",
        "Construction of the tower",
    ]
    search.rerank = True
    search._ranker = one_weight("wanted_kind")
    assert [r.title for r in search.search(QUESTION, k=2)] == [
        "Construction of the tower",
        "Pisa tower notes",
    ]
    ids, _ = search.rank(QUESTION, 2)
    assert search.passages.get(ids[:1])[0].title == "Construction of the tower"


def test_the_shipped_ranker_loads_and_prefers_a_passage_with_the_kind_asked_for() -> None:
    ranker = PassageRanker.load()
    assert len(ranker.weights) == len(FEATURES)
    assert ranker.order(QUESTION, [NO_YEAR, YEAR], flat_idf).tolist() == [1, 0]


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"features": ["other"], "weights": [1], "mean": [0], "scale": [1]}),
        json.dumps({}),
    ],
)
def test_a_broken_ranker_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "ranker.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="not a passage ranker"):
        PassageRanker.load(path)


def test_a_ranker_round_trips_through_json(tmp_path: Path) -> None:
    path = tmp_path / "ranker.json"
    ranker = one_weight("coverage", 2.5)
    path.write_text(json.dumps(ranker.to_json()), encoding="utf-8")
    assert PassageRanker.load(path) == ranker
