"""Fitting the passage ranker (training/passage_ranker.py) on a real tiny corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import eiffel_questions, fit_without_output

from browser_env.search.passage_ranker import FEATURES, SHIPPED_PASSAGE_RANKER, Candidate, PassageRanker
from training.passage_ranker import hit_rates, main


def flat_idf(word: str) -> float:
    return 1.0


def test_hit_rates_count_questions_with_a_positive_in_the_first_k() -> None:
    plain = Candidate("", "no year here", 2.0, 0)
    dated = Candidate("", "in 1178", 1.0, 0)
    data = [
        ("when did it lean", [plain, dated], [False, True]),
        ("when did it fall", [plain], [False]),
    ]
    assert hit_rates(data, None, flat_idf) == {"hit@1": 0.0, "hit@5": 50.0, "hit@20": 50.0}
    by_year = PassageRanker(
        [1.0 if f == "wanted_kind" else 0.0 for f in FEATURES], [0.0] * len(FEATURES), [1.0] * len(FEATURES)
    )
    assert hit_rates(data, by_year, flat_idf)["hit@1"] == 50.0


def test_the_command_fits_and_writes_a_ranker_that_loads(tiny_corpus, tmp_path: Path) -> None:
    questions = eiffel_questions(tmp_path, 8)
    output = tmp_path / "passage-ranker.json"
    flags = ["--questions", str(questions), "--corpus", tiny_corpus.name, "--split", "all"]
    with pytest.raises(SystemExit, match="too few to fit"):
        main([*flags, "--held_out", "16", "--output", str(output)])
    assert main([*flags, "--held_out", "2", "--output", str(output)]) == 0
    ranker = PassageRanker.load(output)
    report = json.loads(output.with_suffix(".report.json").read_text())
    assert report["fit_questions"] == 14 and report["positives"] > 0
    assert report["held_out_questions"] == 2
    assert set(report["held_out"]["ranker"]) == {"hit@1", "hit@5", "hit@20"}
    assert report["held_out"]["ranker"]["hit@20"] == report["held_out"]["bm25"]["hit@20"] == 100.0
    assert len(ranker.weights) == len(FEATURES)


def test_without_output_it_writes_under_runs_and_search_can_use_it(
    tiny_corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from typer.testing import CliRunner

    from webgpt_cli.app import app

    monkeypatch.chdir(tmp_path)
    written = (
        fit_without_output(main, SHIPPED_PASSAGE_RANKER, tiny_corpus.name, tmp_path) / "passage-ranker.json"
    )
    assert PassageRanker.load(written).weights != PassageRanker.load(SHIPPED_PASSAGE_RANKER).weights
    assert "--rerank --passage-ranker runs/passage-ranker.json" in capsys.readouterr().out

    search = ["corpus", "search", tiny_corpus.name, "eiffel tower", "--rerank"]
    runner = CliRunner()
    own = runner.invoke(app, [*search, "--passage-ranker", str(written)])
    assert own.exit_code == 0 and "1. " in own.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    refused = runner.invoke(app, [*search, "--passage-ranker", str(broken)])
    assert refused.exit_code != 0 and "not a passage ranker" in refused.output
    alone = runner.invoke(app, [*search[:-1], "--passage-ranker", str(written)])
    assert alone.exit_code != 0 and "only with --rerank" in alone.output
