from __future__ import annotations

import re

from demonstrations.formats import answer_prompt
from demonstrations.reading_rows import ReadQuote, reading_rows
from demonstrations.schemas import QuestionRecord

EIFFEL = QuestionRecord(id="q1", question="Who designed the Eiffel Tower?", gold_answers=["Gustave Eiffel"])
UNANSWERED = QuestionRecord(
    id="q2", question="Who painted the Mona Lisa?", gold_answers=["Leonardo da Vinci"]
)


def test_the_answer_cites_the_quote_that_holds_the_gold(tiny_corpus) -> None:
    rows = list(reading_rows(tiny_corpus, [EIFFEL, UNANSWERED], seed=0, variants=4, max_distractors=2))
    assert rows, "the Eiffel page supports the answer"
    assert {row["question"] for row in rows} == {EIFFEL.question}  # nothing made up for the other one
    assert len({row["episode_id"] for row in rows}) == 1  # variants of one question stay together
    for row in rows:
        quotes = [ReadQuote(**quote) for quote in row["quotes"]]
        assert row["prompt"] == answer_prompt(row["question"], quotes)
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", row["completion"])}
        assert len(cited) == 1
        (number,) = cited
        assert "Gustave Eiffel" in quotes[number - 1].text
        assert row["completion"].startswith("Gustave Eiffel [")
        others = [q for i, q in enumerate(quotes, start=1) if i != number]
        assert all("gustave eiffel" not in q.text.lower() for q in others)  # distractors hold no gold
        assert row["kind"] == "answer" and row["source"] == "reading"
        assert row["gold_answers"] == ["Gustave Eiffel"]


def test_quotes_are_verbatim_corpus_text(tiny_corpus) -> None:
    for row in reading_rows(tiny_corpus, [EIFFEL], seed=1, variants=2):
        for quote in row["quotes"]:
            ids = tiny_corpus.search.bm25.top(quote["text"], 5)[0].tolist()
            texts = [" ".join(p.text.split()) for p in tiny_corpus.search.passages.get(ids)]
            assert any(" ".join(quote["text"].split()) in text for text in texts), quote


def test_distractors_vary_where_the_answer_sits(tiny_corpus) -> None:
    rows = list(reading_rows(tiny_corpus, [EIFFEL] * 12, seed=3, variants=1, max_distractors=2))
    sizes = {len(row["quotes"]) for row in rows}
    assert len(sizes) > 1  # with and without distractors
    numbers = {re.search(r"\[(\d+)\]", row["completion"]).group(1) for row in rows}  # type: ignore[union-attr]
    assert len(numbers) > 1  # the supporting quote is not always [1]
