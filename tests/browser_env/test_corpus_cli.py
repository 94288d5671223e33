"""``webgpt corpus build|list|search|remove`` through typer's CliRunner."""

from __future__ import annotations

import pytest
from corpus_fixtures import write_html_folder, write_jsonl
from typer.testing import CliRunner

from webgpt_cli.app import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBGPT_HOME", str(tmp_path / "home"))


def webgpt(*args: str):
    return runner.invoke(app, ["corpus", *args])


def test_build_list_search_remove(tmp_path):
    jsonl, site = write_jsonl(tmp_path, ".jsonl.xz"), write_html_folder(tmp_path)
    result = webgpt("build", "garden", str(jsonl), str(site), "--no-dense", "-q")
    assert result.exit_code == 0, result.output
    assert "Built corpus 'garden': 8 documents" in result.output
    assert "4 skipped" in result.output and "not JSON" in result.output

    listing = webgpt("list")
    assert listing.exit_code == 0 and "garden" in listing.output and "jsonl, html" in listing.output

    found = webgpt("search", "garden", "tomato stake", "-k", "2")
    assert found.exit_code == 0
    assert found.output.startswith("1. Growing tomatoes\n   https://my-site.local/guide/tomatoes.html")
    reranked = webgpt("search", "garden", "tomato stake", "-k", "2", "--rerank")
    assert reranked.exit_code == 0 and "1. Growing tomatoes" in reranked.output

    assert "No results." in webgpt("search", "garden", "qwertyuiop").output
    assert webgpt("remove", "garden").exit_code == 0
    assert "No corpora" in webgpt("list").output


def test_errors_are_reported_with_exit_code_1(tmp_path):
    jsonl = str(write_jsonl(tmp_path))
    missing = webgpt("build", "x", str(tmp_path / "nope.jsonl"), "--no-dense", "-q")
    assert missing.exit_code == 1 and "unknown source" in missing.output
    assert webgpt("build", "x", jsonl, "--no-dense", "-q").exit_code == 0
    again = webgpt("build", "x", jsonl, "--no-dense", "-q")
    assert again.exit_code == 1 and "already exists" in again.output
    assert webgpt("build", "x", jsonl, "--no-dense", "-q", "--force").exit_code == 0
    no_vectors = webgpt("search", "x", "tower", "--mode", "dense")
    assert no_vectors.exit_code == 1 and "no dense vectors" in no_vectors.output
    unknown = webgpt("search", "nothing", "tower")
    assert unknown.exit_code == 1 and "no corpus named 'nothing'" in unknown.output
    assert webgpt("remove", "nothing").exit_code == 1


def test_a_corpus_built_from_older_passage_text_still_searches_and_says_to_rebuild(tmp_path):
    import json

    from browser_env.home import corpora_dir

    jsonl = str(write_jsonl(tmp_path))
    assert webgpt("build", "old", jsonl, "--no-dense", "-q").exit_code == 0
    assert "older version" not in webgpt("list").output
    meta_path = corpora_dir() / "old" / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["passage_text"]  # what builds before the revision wrote
    meta_path.write_text(json.dumps(meta))

    listing = webgpt("list")
    assert listing.exit_code == 0 and "Corpus 'old' was built by an older version" in listing.output
    assert "webgpt corpus build old SOURCE... --force" in listing.output
    assert "(pages are shown without them)" in listing.output
    found = webgpt("search", "old", "tower", "-k", "1")
    assert found.exit_code == 0 and found.output.startswith("1. ") and "older version" in found.output
    meta["title_links"] = {"documents_linked": 1, "links": 1}  # linked text is stored as built
    meta_path.write_text(json.dumps(meta))
    assert "its pages, search index and snippets still hold" in webgpt("list").output
    meta["passage_text"] = 3  # bold, italics and accents as now; category links not yet gone
    meta_path.write_text(json.dumps(meta))
    notice = webgpt("list").output
    assert "category links and gallery file names" in notice
    assert "bold and italics" not in notice and "accented" not in notice

    assert webgpt("build", "old", jsonl, "--no-dense", "-q", "--force").exit_code == 0
    assert "older version" not in webgpt("list").output
