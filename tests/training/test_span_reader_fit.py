"""``webgpt train reader`` (training/span_reader.py) end to end on the tiny corpus, with a tiny BERT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.span_reader import SpanReader
from training.span_reader import ReaderRow, main, training_rows


def test_training_rows_keep_every_positive_and_the_asked_share_of_negatives() -> None:
    rows = [ReaderRow("q", ("a",), "t", f"s{i}", (0, 1) if i < 3 else None) for i in range(20)]
    chosen = training_rows(rows, negatives=2.0, seed=0)
    assert sum(row.span is not None for row in chosen) == 3
    assert sum(row.span is None for row in chosen) == 6
    assert training_rows(rows, negatives=2.0, seed=0) == chosen
    assert sum(row.span is None for row in training_rows(rows, negatives=100.0, seed=0)) == 17


def test_the_command_trains_and_writes_a_reader_that_loads(
    tiny_corpus, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"question": "Who designed the Eiffel Tower?", "answer": ["Gustave Eiffel"]},
        {"question": "How tall is the Eiffel Tower?", "answer": ["330 metres"]},
        {"question": "When was the Eiffel Tower built?", "answer": ["1887"]},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    output = tmp_path / "reader"
    flags = ["--questions", str(questions), "--corpus", tiny_corpus.name, "--split", "all"]
    flags += ["--base", str(tiny_bert_dir), "--batch_size", "4", "--output_dir", str(output)]
    with pytest.raises(SystemExit, match="too few"):
        main([*flags, "--held_out", "3"])
    assert main([*flags, "--held_out", "1", "--max_steps", "3", "--threshold", "0.5"]) == 0
    settings = json.loads((output / "reader.json").read_text())
    report = settings["report"]
    assert report["steps"] == 3 and report["fit_questions"] == 2 and report["fit_rows_with_gold"] >= 2
    assert report["held_out"]["sentences_with_gold"] >= 1
    adapter = json.loads((output / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(tiny_bert_dir)
    reader = SpanReader.load(output)
    assert reader.threshold == 0.5
    (span,) = reader.best_spans("Who designed it?", [("Eiffel Tower", "Gustave Eiffel designed it.")])
    assert span is not None and span.text in "Gustave Eiffel designed it."
