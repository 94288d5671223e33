"""The span reader (agent/span_reader.py): gold spans, decoding, training steps, saving and loading,
with a tiny real BERT on the packaged MiniLM tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.span_reader import SpanReader, load_base
from training.span_reader import ReaderRow, encode_batch, gold_span, save_reader, train_reader, with_adapter

QUESTION = "Who designed the Eiffel Tower?"
SENTENCE = "It is named after the engineer Gustave Eiffel, whose company designed and built the tower."


def test_the_gold_span_is_the_earliest_whole_word_match_ignoring_case_and_punctuation() -> None:
    assert gold_span(SENTENCE, ["gustave eiffel"]) == (31, 45)
    assert gold_span("Built 1887-1889 by Eiffel.", ["1889", "Eiffel"]) == (11, 15)
    assert gold_span("Won the U.S.-Open twice.", ["U.S. Open"]) is None  # "us" is not "U.S." as words
    assert gold_span("He was 100 years old.", ["10"]) is None
    assert gold_span("The Beatles played.", ["the beatles"]) == (4, 11)
    assert gold_span("Nothing here.", ["Eiffel"]) is None


def rows() -> list[ReaderRow]:
    golds = ("Gustave Eiffel",)
    return [
        ReaderRow(QUESTION, golds, "Eiffel Tower", SENTENCE, gold_span(SENTENCE, golds)),
        ReaderRow(QUESTION, golds, "Paris", "Paris is the capital of France.", None),
        ReaderRow(
            "How tall is the Eiffel Tower?",
            ("330 metres",),
            "Eiffel Tower",
            "It is 330 metres tall.",
            gold_span("It is 330 metres tall.", ["330 metres"]),
        ),
    ]


def test_the_training_targets_point_at_the_gold_words_or_at_cls(tiny_bert_dir: Path) -> None:
    _, tokenizer = load_base(str(tiny_bert_dir))
    encoded, starts, ends = encode_batch(tokenizer, rows())
    ids = encoded["input_ids"]
    assert tokenizer.decode(ids[0][starts[0] : ends[0] + 1]) == "gustave eiffel"
    assert (starts[1], ends[1]) == (0, 0)
    assert tokenizer.decode(ids[2][starts[2] : ends[2] + 1]) == "330 metres"


def test_a_few_steps_lower_the_loss_and_the_reader_then_finds_the_span(tiny_bert_dir: Path) -> None:
    base, tokenizer = load_base(str(tiny_bert_dir))
    model = with_adapter(base, rank=8, seed=0)
    losses = train_reader(model, tokenizer, rows(), batch_size=3, learning_rate=1e-2, max_steps=80)
    assert sum(losses[-5:]) / 5 < 0.3 * losses[0]
    reader = SpanReader(model, tokenizer, threshold=0.0)
    paris = ("Paris", "Paris is the capital of France.")
    found, empty = reader.best_spans(QUESTION, [("Eiffel Tower", SENTENCE), paris])
    assert found is not None and found.text == "Gustave Eiffel" and found.start == 31
    assert found.margin > 0
    assert empty is not None and empty.margin < found.margin
    assert reader.lead(QUESTION, [paris, ("Eiffel Tower", SENTENCE)]) == ("Gustave Eiffel", 2)
    reader.threshold = found.margin + 1
    assert reader.lead(QUESTION, [("Eiffel Tower", SENTENCE)]) is None


def test_a_saved_reader_loads_with_the_same_spans_and_margins(tiny_bert_dir: Path, tmp_path: Path) -> None:
    base, tokenizer = load_base(str(tiny_bert_dir))
    model = with_adapter(base, rank=4, seed=1)
    train_reader(model, tokenizer, rows(), batch_size=3, learning_rate=1e-2, max_steps=5)
    save_reader(model, tmp_path / "reader", {"threshold": 1.5, "base": str(tiny_bert_dir)})
    loaded = SpanReader.load(tmp_path / "reader")
    assert loaded.threshold == 1.5
    passages = [("Eiffel Tower", SENTENCE), ("", "It is 330 metres tall.")]
    before = SpanReader(model, tokenizer).best_spans(QUESTION, passages)
    after = loaded.best_spans(QUESTION, passages)
    assert [s.text for s in after if s] == [s.text for s in before if s]
    assert [round(s.margin, 4) for s in after if s] == [round(s.margin, 4) for s in before if s]


def test_a_missing_or_broken_reader_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a span reader"):
        SpanReader.load(tmp_path / "absent")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "reader.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a span reader"):
        SpanReader.load(broken)
    (broken / "reader.json").write_text(json.dumps({"threshold": 0}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a span reader"):  # no adapter files
        SpanReader.load(broken)


def test_a_checkpoint_naming_a_reader_starts_its_answers_with_the_readers_span(
    tiny_lm_dir: Path, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from agent.policies import load_agent
    from demonstrations.schemas import QuoteRecord

    base, tokenizer = load_base(str(tiny_bert_dir))
    model = with_adapter(base, rank=8, seed=0)
    train_reader(model, tokenizer, rows(), batch_size=3, learning_rate=1e-2, max_steps=80)
    checkpoint = tmp_path / "policy"
    shutil.copytree(tiny_lm_dir, checkpoint)
    save_reader(model, checkpoint / "reader", {"threshold": -1000.0, "base": str(tiny_bert_dir)})
    quotes = [QuoteRecord(url="https://x/eiffel", title="Eiffel Tower", text=SENTENCE)]

    (checkpoint / "webgpt.json").write_text(json.dumps({"mode": "scheduled"}), encoding="utf-8")
    plain = load_agent(str(checkpoint), seed=0)
    assert plain.answerer.lead_reader is None
    assert not plain.answerer.write(QUESTION, quotes)[0].startswith("Gustave Eiffel [1].")

    settings = {"mode": "scheduled", "lead_reader": "reader"}
    (checkpoint / "webgpt.json").write_text(json.dumps(settings), encoding="utf-8")
    agent = load_agent(str(checkpoint), seed=0)
    assert agent.answerer.lead_reader is not None
    assert agent.answerer.write(QUESTION, quotes)[0].startswith("Gustave Eiffel [1].")

    settings["lead_reader"] = "absent"
    (checkpoint / "webgpt.json").write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(ValueError, match="not a span reader"):
        load_agent(str(checkpoint), seed=0)
