"""`webgpt demos generate` end to end: a real (tiny) corpus, the real store, then the exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from browser_env.textmatch import locate_quote
from demonstrations.store import EpisodeStore
from webgpt_cli.app import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_corpus() -> str:
    from browser_env.corpus import build_corpus

    corpus = build_corpus(
        "demos-tiny", [str(FIXTURES / "tiny_web.jsonl")], dense=False, force=True, show_progress=False
    )
    corpus.close()
    return "demos-tiny"


def test_generate_stores_verified_episodes_and_reports(tmp_path, tiny_corpus):
    db, report = tmp_path / "demos.sqlite", tmp_path / "report.json"
    result = runner.invoke(
        app,
        ["demos", "generate", "--corpus", tiny_corpus, "--questions", str(FIXTURES / "tiny_questions.jsonl"),
         "--detours", "0.5", "--seed", "3", "--db", str(db), "--report", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "6 episodes" in result.output
    summary = json.loads(report.read_text())
    assert summary["episodes"] == 6
    assert summary["supported"] + summary["declined"] == 6
    assert summary["supported"] >= 3
    assert summary["quotes"] == summary["quotes_verified"] == summary["supported"]
    assert f"quotes verified against their pages: {summary['quotes']} of {summary['quotes']}" in result.output

    from browser_env.corpus import open_corpus

    with EpisodeStore(db) as store, open_corpus(tiny_corpus) as corpus:
        episodes = list(store.iter_episodes(source="scripted"))
        assert len(episodes) == 6
        for episode in episodes:
            assert episode.finished and episode.corpus == tiny_corpus and episode.metadata["question_id"]
            for quote in episode.quotes:
                assert locate_quote(corpus.fetcher.fetch(quote.url).text, quote.text) == (
                    quote.start,
                    quote.end,
                )
        from browser_env.env import EnvConfig
        from demonstrations.replay import replay_episode

        for episode in episodes:
            assert replay_episode(episode, corpus.make_env(EnvConfig.from_dict(episode.env_config))).ok

    out = tmp_path / "bc.jsonl"
    result = runner.invoke(
        app, ["demos", "export", "bc", str(out), "--split", "all", "--db", str(db), "--source", "scripted"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum(r["kind"] == "answer" for r in rows) == summary["supported"]
    assert {r["source"] for r in rows} == {"scripted"}


def test_generate_is_reproducible_and_limit_offset_select(tmp_path, tiny_corpus):
    commands = []
    for name in ("a", "b"):
        db = tmp_path / f"{name}.sqlite"
        args = ["demos", "generate", "-c", tiny_corpus, "-q", str(FIXTURES / "tiny_questions.jsonl"),
                "--limit", "2", "--offset", "1", "--detours", "1", "--db", str(db)]  # fmt: skip
        assert runner.invoke(app, args).exit_code == 0
        with EpisodeStore(db) as store:
            episodes = list(store.iter_episodes())
            commands.append([[s.command for s in e.steps] for e in episodes])
            assert [e.question for e in episodes] == [
                "who is the eiffel tower named after",
                "who made the first ascent of mount everest",
            ]
    assert commands[0] == commands[1]


def test_generate_errors_are_clear(tmp_path, tiny_corpus):
    result = runner.invoke(
        app, ["demos", "generate", "-c", "no-such-corpus", "-q", str(FIXTURES / "questions.txt")]
    )
    assert result.exit_code == 1
    assert "no questions with gold answers" in result.output  # checked before opening anything
    result = runner.invoke(
        app, ["demos", "generate", "-c", "no-such-corpus", "-q", str(FIXTURES / "tiny_questions.jsonl")]
    )
    assert result.exit_code == 1 and "no corpus named 'no-such-corpus'" in result.output
    result = runner.invoke(
        app, ["demos", "generate", "-c", tiny_corpus, "-q", str(FIXTURES / "broken.jsonl")]
    )
    assert result.exit_code == 1 and "line 4" in result.output
    result = runner.invoke(
        app,
        [
            "demos",
            "generate",
            "-c",
            tiny_corpus,
            "-q",
            str(FIXTURES / "tiny_questions.jsonl"),
            "--detours",
            "2",
        ],
    )
    assert result.exit_code == 1 and "--detours" in result.output


def test_supported_questions_get_further_episodes_on_other_pages(tmp_path):
    from browser_env.corpus import build_corpus

    pages = [
        ("Eiffel Tower", "The Eiffel Tower was designed by the engineer Gustave Eiffel and his company."),
        ("Gustave Eiffel", "Gustave Eiffel designed the Eiffel Tower for the 1889 World's Fair in Paris."),
        ("Paris", "Paris is the capital of France and home to many museums and monuments."),
    ]
    web = tmp_path / "web.jsonl"
    web.write_text(
        "".join(
            json.dumps({"url": f"https://en.wikipedia.org/wiki/{t.replace(' ', '_')}", "title": t, "text": x})
            + "\n"
            for t, x in pages
        )
    )
    build_corpus("demos-twice", [str(web)], dense=False, force=True, show_progress=False).close()
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"question": "who designed the eiffel tower", "answer": ["Gustave Eiffel"]})
    )
    db, report = tmp_path / "s.sqlite", tmp_path / "r.json"
    args = ["demos", "generate", "-c", "demos-twice", "-q", str(questions), "--detours", "0"]
    result = runner.invoke(
        app, [*args, "--episodes-per-question", "3", "--db", str(db), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())
    assert summary["episodes"] == 2 and summary["supported"] == 2 and summary["alternatives"] == 1
    store = EpisodeStore(db)
    try:
        episodes = sorted(store.iter_episodes(), key=lambda e: e.metadata["attempt"])
    finally:
        store.close()
    first, second = (e.quotes[0].url for e in episodes)
    assert first != second  # the further episode quotes another page
    assert episodes[1].metadata["avoided_urls"] == [first]
    refused = runner.invoke(app, [*args, "--episodes-per-question", "0", "--db", str(db)])
    assert refused.exit_code != 0 and "--episodes-per-question" in refused.output


def test_the_report_counts_questions_outside_the_split_apart(tmp_path, tiny_corpus):
    questions = str(FIXTURES / "tiny_questions.jsonl")
    reports = {}
    for split in ("train", "test"):
        report, db = tmp_path / f"{split}.json", str(tmp_path / "s.db")
        options = ["-c", tiny_corpus, "-q", questions, "--split", split, "--db", db, "--report", str(report)]
        result = runner.invoke(app, ["demos", "generate", *options])
        reports[split] = json.loads(report.read_text()) if result.exit_code == 0 else None
    done = [r for r in reports.values() if r is not None]
    assert done, reports  # the six questions fall in at least one split
    for report in done:
        assert report["questions_without_gold_answers"] == 0
        assert report["episodes"] + report["questions_outside_split"] == report["questions_read"]
