"""Reward-model data: reading exports (JSONL and datasets folders), the question-hash split, truncation
that keeps the answer, and automatic comparisons from episodes with gold answers.
Run: .venv/bin/pytest tests/training/test_reward_data.py"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demonstrations.exports import comparison_rows, write_rows
from demonstrations.formats import reward_input
from demonstrations.schemas import AnswerRecord, ComparedAnswer, ComparisonRecord, EpisodeRecord, QuoteRecord
from training.reward_data import (
    DataError,
    answer_text,
    automatic_comparisons,
    encode,
    held_out,
    is_supported,
    normalize_row,
    read_comparison_rows,
    read_episodes,
    split_by_question,
)

QUESTION = "Who designed the Eiffel Tower?"
EIFFEL = QuoteRecord(
    url="https://example.org/eiffel",
    title="Eiffel Tower",
    domain="example.org",
    text="It is named after the engineer Gustave Eiffel, whose company designed and built the tower.",
)
PARIS = QuoteRecord(
    url="https://example.org/paris", title="Paris", domain="example.org", text="Paris is in France."
)


def record(preference: str = "A", **extra) -> ComparisonRecord:
    return ComparisonRecord(
        question=QUESTION,
        answer_a=ComparedAnswer(text="Gustave Eiffel's company [1].", quotes=[EIFFEL]),
        answer_b=ComparedAnswer(text="Nobody knows.", quotes=[PARIS]),
        preference=preference,
        **extra,
    )


def test_jsonl_and_datasets_exports_read_the_same(tmp_path: Path) -> None:
    records = [record("A"), record("B", strength="much_better"), record("tie")]
    rows = list(comparison_rows(records))
    write_rows(rows, tmp_path / "pairs.jsonl", kind="comparisons")
    write_rows(rows, tmp_path / "pairs-hf", kind="comparisons", fmt="hf")
    from_jsonl = read_comparison_rows([tmp_path / "pairs.jsonl"])
    from_hf = read_comparison_rows([str(tmp_path / "pairs-hf")])
    assert from_jsonl == from_hf
    assert [r["label"] for r in from_jsonl] == [1.0, 1.0, 0.5]
    assert [r["tie"] for r in from_jsonl] == [False, False, True]
    assert [r["margin"] for r in from_jsonl] == [0.0, 1.0, 0.0]
    assert from_jsonl[1]["chosen"].endswith("Nobody knows.")  # B preferred: chosen is answer B
    assert from_jsonl[0]["prompt"] + from_jsonl[0]["chosen"] == reward_input(
        QUESTION, [EIFFEL], records[0].answer_a.text
    )
    assert answer_text(from_jsonl[0]["chosen"]) == "Gustave Eiffel's company [1]."
    assert len(read_comparison_rows([tmp_path / "pairs.jsonl", tmp_path / "pairs-hf"])) == 6


def test_rows_with_only_the_trl_columns_and_bad_rows(tmp_path: Path) -> None:
    row = normalize_row({"prompt": "♦Question\nq\n", "chosen": "a", "rejected": "b"})
    assert (
        row["label"] == 1.0
        and not row["tie"]
        and row["source"] == "unknown"
        and row["question"] == "♦Question\nq\n"
    )
    assert normalize_row({"chosen": "a", "rejected": "b", "tie": True})["label"] == 0.5
    with pytest.raises(DataError, match="missing text column"):
        normalize_row({"prompt": "p", "completion": "c"})
    with pytest.raises(DataError, match="outside"):
        normalize_row({"chosen": "a", "rejected": "b", "label": 2})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"chosen": "a", "rejected": "b"}\nnot json\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2"):
        read_comparison_rows([bad])
    with pytest.raises(DataError, match="no such file"):
        read_comparison_rows([tmp_path / "absent.jsonl"])


def test_split_keeps_questions_together_and_never_changes() -> None:
    rows = [{"question": f"question {i % 50}", "n": i} for i in range(200)]
    train, held = split_by_question(rows, 0.2)
    assert len(train) + len(held) == 200
    assert {r["question"] for r in train}.isdisjoint({r["question"] for r in held})
    assert 0.05 < len(held) / 200 < 0.4
    assert held == split_by_question(list(reversed(rows)), 0.2)[1][::-1]
    assert held_out("Question  0", 0.2) == held_out("question 0", 0.2)  # case and spacing folded
    assert split_by_question(rows, 0.0) == (rows, [])


def test_long_inputs_lose_the_end_of_their_quotes_never_the_answer(tokenizer) -> None:
    long_quote = QuoteRecord(
        url="u", title="Long", domain="example.org", text="tower " * 400 + "LASTQUOTEWORD"
    )
    row = normalize_row(next(comparison_rows([record()])))
    answer = "Gustave Eiffel's company designed it [1]."
    side = reward_input(QUESTION, [long_quote], answer)[len(row["prompt"]) :]
    full = tokenizer(
        reward_input(QUESTION, [long_quote], answer) + tokenizer.eos_token, add_special_tokens=False
    )
    ids = encode(tokenizer, row["prompt"], side, 64)
    assert len(full["input_ids"]) > 64 and len(ids) == 64
    text = tokenizer.decode(ids)
    assert text.startswith("♦Question\n" + QUESTION) and "♦Quotes\n[1] Long (example.org)" in text
    assert text.endswith("♦Answer\n" + answer + tokenizer.eos_token)
    assert "LASTQUOTEWORD" not in text
    # an input that fits is tokenized exactly as agent.reward tokenizes it
    short = encode(tokenizer, row["prompt"], row["chosen"], 512)
    expected = tokenizer(row["prompt"] + row["chosen"] + tokenizer.eos_token, add_special_tokens=False)[
        "input_ids"
    ]
    assert short == expected
    # an answer that alone is too long keeps its end, as agent.reward does
    huge = encode(tokenizer, row["prompt"], "♦Quotes\n\n♦Answer\n" + "word " * 300 + "END", 32)
    assert len(huge) == 32 and tokenizer.decode(huge).endswith("END" + tokenizer.eos_token)


def test_supported() -> None:
    assert is_supported("Gustave Eiffel's company designed it [1].", [EIFFEL], ["Gustave Eiffel"])
    assert not is_supported(
        "Gustave Eiffel designed it [2].", [EIFFEL, PARIS], ["Gustave Eiffel"]
    )  # wrong quote
    assert not is_supported("Gustave Eiffel designed it.", [EIFFEL], ["Gustave Eiffel"])  # no citation
    assert not is_supported("Gustave Eiffel designed it [3].", [EIFFEL], ["Gustave Eiffel"])  # no such quote


def episode(answer: str | None, quotes: list[QuoteRecord], gold: list[str] | None = None) -> EpisodeRecord:
    return EpisodeRecord(
        question=QUESTION,
        source="model",
        quotes=quotes,
        answer=AnswerRecord(text=answer) if answer is not None else None,
        end_reason="answer" if answer is not None else "nonsense",
        gold_answers=gold if gold is not None else ["Gustave Eiffel"],
    )


def test_automatic_comparisons_pair_right_and_supported_against_the_rest(tmp_path: Path) -> None:
    good = episode("Gustave Eiffel's company designed it [1].", [EIFFEL])
    good_again = episode("Gustave Eiffel's company designed it [1].", [EIFFEL])  # same text: used once
    wrong = episode("Paris designed it [1].", [PARIS])
    unsupported = episode("Gustave Eiffel designed it [1].", [PARIS])  # right, but its quote does not say so
    declined = episode(None, [])
    other = episode("A [1].", [PARIS], gold=[])
    other.question = "A question without gold?"
    pairs = automatic_comparisons([good, good_again, wrong, unsupported, declined, other])
    assert len(pairs) == 2
    assert all(p.source == "automatic" and p.annotator == "automatic" for p in pairs)
    assert [p.preference for p in pairs] == ["A", "B"]  # the good answer alternates sides
    winners = [p.answer_a if p.preference == "A" else p.answer_b for p in pairs]
    losers = [p.answer_b if p.preference == "A" else p.answer_a for p in pairs]
    assert {w.episode_id for w in winners} == {good.id}
    assert {w.text for w in losers} == {"Paris designed it [1].", "Gustave Eiffel designed it [1]."}
    assert winners[0].quotes == [EIFFEL]
    assert automatic_comparisons([good, wrong])[0].id == automatic_comparisons([good, wrong])[0].id  # stable
    overridden = automatic_comparisons([wrong, unsupported], gold={QUESTION: ["Paris"]})  # gold given apart
    assert len(overridden) == 1 and overridden[0].answer_a.text == "Paris designed it [1]."
    # they export and read back like any comparisons, and come from a JSONL trace or a store
    rows = read_comparison_rows_from(pairs, tmp_path)
    assert {r["source"] for r in rows} == {"automatic"} and all(r["label"] == 1.0 for r in rows)
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(e.model_dump(mode="json")) + "\n" for e in (good, wrong)))
    assert len(automatic_comparisons(read_episodes(trace))) == 1


def read_comparison_rows_from(pairs: list[ComparisonRecord], folder: Path) -> list[dict]:
    write_rows(comparison_rows(pairs), folder / "auto.jsonl", kind="comparisons")
    return read_comparison_rows([folder / "auto.jsonl"])


def test_cap_per_source_keeps_at_most_the_limit_of_each_source() -> None:
    from training.reward_data import cap_per_source

    rows = [{"source": "truthfulqa", "n": i} for i in range(10)] + [
        {"source": "automatic", "n": i} for i in range(3)
    ]
    capped = cap_per_source(rows, 4, seed=1)
    assert [r["source"] for r in capped].count("truthfulqa") == 4
    assert [r["source"] for r in capped].count("automatic") == 3
    assert capped == [r for r in rows if r in capped]  # order kept
    assert cap_per_source(rows, 4, seed=1) == capped and cap_per_source(rows, 0) == rows
