"""Answer rows from scheduled browsing's own quotes: the answer cites the quote holding the gold, in
every order the quotes are shown."""

from __future__ import annotations

import random
import re

from demonstrations.reading_rows import ReadQuote
from demonstrations.schemas import QuestionRecord
from training.browsed_answers import _rows, browsed_answer_rows, quoting_schedule

QUESTION = "who designed the porthcawl harbour lighthouse"
QUOTES = [
    ReadQuote("https://example.org/pier", "Porthcawl pier", "example.org", "The pier was rebuilt in 1906."),
    ReadQuote(
        "https://example.org/lighthouse",
        "Porthcawl lighthouse",
        "example.org",
        "The lighthouse was designed by the engineer Ada Pryce in 1866.",
    ),
    ReadQuote(
        "https://example.org/harbour", "Porthcawl harbour", "example.org", "The harbour opened in 1828."
    ),
]


def _cited(completion: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", completion)}


def test_each_variant_cites_the_quote_holding_the_gold_wherever_it_stands() -> None:
    rows = list(_rows(QUESTION, ["ada pryce"], QUOTES, random.Random(3), variants=4, clause_words=30))
    assert len(rows) == 4
    assert rows[0]["quotes"] == [vars(q) for q in QUOTES]  # the order browsing quoted them in, first
    for row in rows:
        number = [q["title"] for q in row["quotes"]].index("Porthcawl lighthouse") + 1
        assert _cited(row["completion"]) == {number}
        assert row["completion"].startswith(f"Ada Pryce [{number}]. According to Porthcawl lighthouse, “")
        assert f"[{number}] Porthcawl lighthouse" in row["prompt"] and QUESTION in row["prompt"]
        assert row["kind"] == "answer" and row["source"] == "browsed"
    assert len({r["episode_id"] for r in rows}) == 1
    assert len({r["prompt"] for r in rows}) > 1  # shuffled: not always the same position


def test_no_rows_without_a_choice_or_without_the_gold() -> None:
    rng = random.Random(0)
    assert list(_rows(QUESTION, ["Ada Pryce"], QUOTES[1:2], rng, 3, 30)) == []  # one quote
    assert list(_rows(QUESTION, ["Brunel"], QUOTES, rng, 3, 30)) == []  # no quote holds it
    # a gold answer the question itself names is not evidence of support
    assert list(_rows(QUESTION, ["lighthouse"], QUOTES, rng, 3, 30)) == []
    # nor is a number inside a longer one
    assert list(_rows(QUESTION, ["86"], QUOTES, rng, 3, 30)) == []


def test_the_schedule_quotes_several_pages_and_is_otherwise_the_default() -> None:
    from agent.policies import SKIM_SCHEDULE

    schedule = quoting_schedule(3)
    assert schedule.target_quotes == 3 and SKIM_SCHEDULE.target_quotes == 1
    assert schedule.pages_to_read == SKIM_SCHEDULE.pages_to_read and schedule.skim


def test_rows_come_from_browsing_a_corpus(tiny_corpus) -> None:
    asked = [
        QuestionRecord(
            id="q1", question="who is the eiffel tower named after", gold_answers=["Gustave Eiffel"]
        ),
        QuestionRecord(id="q2", question="who is the eiffel tower named after", gold_answers=["Mozart"]),
    ]
    seen: list[tuple[int, int, int]] = []
    rows = list(browsed_answer_rows(tiny_corpus, asked, variants=2, on_question=lambda *a: seen.append(a)))
    assert seen == [(1, 2, 1), (2, 2, 1)]  # the second question's quotes do not hold its gold
    assert len(rows) == 2 and all(len(r["quotes"]) >= 2 for r in rows)
    for row in rows:
        number = next(i for i, q in enumerate(row["quotes"], 1) if "Gustave Eiffel" in q["text"])
        assert row["completion"].startswith(f"Gustave Eiffel [{number}].")
        assert row["gold_answers"] == ["Gustave Eiffel"]
