"""`webgpt demos export ...` from a real store, as JSONL and as datasets folders."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from demonstrations.formats import reward_input
from demonstrations.imports import read_webgpt_comparisons
from webgpt_cli.app import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def imported(tmp_path: Path) -> str:
    db = str(tmp_path / "d.sqlite")
    webgpt = str(FIXTURES / "webgpt_comparisons.jsonl")
    assert runner.invoke(app, ["demos", "import", "webgpt-comparisons", webgpt, "--db", db]).exit_code == 0
    assert (
        runner.invoke(
            app, ["demos", "import", "truthfulqa", str(FIXTURES / "truthfulqa.csv"), "--db", db]
        ).exit_code
        == 0
    )
    return db


def test_export_comparisons_jsonl_with_source_filter(tmp_path):
    db = imported(tmp_path)
    out = tmp_path / "cmp.jsonl"
    result = runner.invoke(
        app, ["demos", "export", "comparisons", str(out), "--split", "all", "--source", "webgpt", "--db", db]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 comparisons rows" in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["tie"] for r in rows] == [False, True, False, False]
    first = read_webgpt_comparisons(FIXTURES / "webgpt_comparisons.jsonl")[0]
    assert rows[0]["prompt"] + rows[0]["chosen"] == reward_input(
        first.question, first.answer_a.quotes, first.answer_a.text
    )
    assert rows[0]["margin"] == 1.0 and rows[2]["margin"] == 0.0

    refused = runner.invoke(app, ["demos", "export", "comparisons", str(out), "--split", "all", "--db", db])
    assert refused.exit_code == 1 and "already exists" in refused.output
    no_ties = runner.invoke(
        app,
        ["demos", "export", "comparisons", str(out), "--split", "all", "--no-ties", "--force", "--db", db],
    )
    assert no_ties.exit_code == 0 and "wrote 18 comparisons rows" in no_ties.output


def test_export_hf_folder_loads_with_datasets(tmp_path):
    from datasets import load_from_disk

    db = imported(tmp_path)
    out = tmp_path / "cmp-hf"
    result = runner.invoke(
        app, ["demos", "export", "comparisons", str(out), "--split", "all", "--format", "hf", "--db", db]
    )
    assert result.exit_code == 0, result.output
    data = load_from_disk(str(out))
    assert len(data) == 19
    assert {"prompt", "chosen", "rejected", "label", "tie", "margin"} <= set(data.column_names)
    assert sorted(set(data["source"])) == ["truthfulqa", "webgpt"]


def test_export_bc_from_an_empty_store_writes_an_empty_file(tmp_path):
    out = tmp_path / "bc.jsonl"
    result = runner.invoke(
        app, ["demos", "export", "bc", str(out), "--split", "all", "--db", str(tmp_path / "empty.sqlite")]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 0 bc rows" in result.output and out.read_text() == ""


def test_export_hf_with_force_never_deletes_a_folder_it_did_not_write(tmp_path):
    db = imported(tmp_path)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("not an export")
    command = [
        "demos",
        "export",
        "comparisons",
        str(out),
        "--split",
        "all",
        "--format",
        "hf",
        "--force",
        "--db",
        db,
    ]
    refused = runner.invoke(app, command)
    assert refused.exit_code == 1 and "not a previous datasets export" in refused.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (out / "notes.txt").unlink()
    assert runner.invoke(app, command).exit_code == 0  # an empty folder holds nothing to lose
    assert runner.invoke(app, command).exit_code == 0  # and a previous export is replaced


def test_exports_keep_to_the_training_split_unless_asked(tmp_path):
    from demonstrations.splits import split_of

    db = imported(tmp_path)
    everything = tmp_path / "all.jsonl"
    result = runner.invoke(
        app, ["demos", "export", "comparisons", str(everything), "--split", "all", "--db", db]
    )
    assert result.exit_code == 0, result.output
    questions = [json.loads(line)["question"] for line in everything.read_text().splitlines()]
    assert {split_of(q) for q in questions} == {"train", "test"}  # the fixtures hold both
    by_split = {}
    for split in ("train", "test"):
        out = tmp_path / f"{split}.jsonl"
        flags = [] if split == "train" else ["--split", "test"]  # train is the default
        result = runner.invoke(app, ["demos", "export", "comparisons", str(out), *flags, "--db", db])
        assert result.exit_code == 0, result.output
        by_split[split] = [json.loads(line)["question"] for line in out.read_text().splitlines()]
        assert {split_of(q) for q in by_split[split]} == {split}
        left_out = len(questions) - len(by_split[split])
        assert f"left out {left_out} comparisons of questions outside the {split} split" in result.output
    assert sorted(by_split["train"] + by_split["test"]) == sorted(questions)
    refused = runner.invoke(
        app, ["demos", "export", "bc", str(tmp_path / "x.jsonl"), "--split", "dev", "--db", db]
    )
    assert refused.exit_code != 0 and "--split must be train, test or all" in refused.output
