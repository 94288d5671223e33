"""`webgpt browse` driven through a pipe, as the issue's walkthrough does, on a small JSONL corpus."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from browser_env.corpus import build_corpus
from webgpt_cli.app import app

EIFFEL = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named "
    "after the engineer Gustave Eiffel, whose company designed and built the tower.\n\nHistory\n\n"
    + "\n\n".join(f"Paragraph {i} of the history of the tower and its visitors." for i in range(40))
)


@pytest.fixture(scope="module")
def corpus_name(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browse-corpus")
    source = folder / "articles.jsonl"
    rows = [
        {"title": "Eiffel Tower", "text": EIFFEL},
        {"title": "Gustave Eiffel", "text": "Gustave Eiffel was a French civil engineer."},
        {"title": "Paris", "text": "Paris is the capital of France. The Eiffel Tower is in Paris."},
    ]
    source.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    build_corpus("browse-test", [str(source)], dense=False, show_progress=False)
    return "browse-test"


def run_browse(corpus_name: str, commands: list[str]) -> str:
    result = CliRunner().invoke(
        app,
        ["browse", "--corpus", corpus_name, "--question", "Who is the Eiffel Tower named after?"],
        input="\n".join(commands) + "\n",
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_piped_walkthrough_quotes_and_ends(corpus_name):
    output = run_browse(
        corpus_name,
        [
            "Search eiffel tower",
            "Clicked on link 0",
            "Find in page: Gustave",
            "Quote: named after the engineer Gustave Eiffel",
            "End: Answer",
        ],
    )
    assert "♦Title\nSearch results for: eiffel tower\n" in output
    assert "【0†Eiffel Tower†en.wikipedia.org】" in output
    assert "♦Title\nEiffel Tower (en.wikipedia.org)\n♦Scrollbar: 0 - 11\n" in output
    assert "From Eiffel Tower (en.wikipedia.org)\n> named after the engineer Gustave Eiffel\n" in output
    assert "Episode ended: answer" in output
    assert "[1] Eiffel Tower (https://en.wikipedia.org/wiki/Eiffel_Tower)" in output


def test_refused_quote_and_garbage_are_reported(corpus_name):
    output = run_browse(
        corpus_name,
        [
            "Search eiffel tower",
            "Clicked on link 0",
            "Quote: named after the architect Stephen Sauvestre",
            "hello there",
            "Scrolled down 9",
        ],
    )
    assert "♦Error: that text is not on the current page" in output
    assert "♦Error: invalid action: not a command: 'hello there'" in output
    assert "♦Error: invalid action: not a command: 'Scrolled down 9'" in output
    assert "♦Actions left: 95" in output
    assert "Quotes collected: 0" in output
    assert "stopped (no more commands); actions taken: 5, invalid: 2" in output


def test_unknown_corpus_is_a_clear_error():
    result = CliRunner().invoke(app, ["browse", "--corpus", "nope", "--question", "q"])
    assert result.exit_code != 0
    assert "nope" in result.output
