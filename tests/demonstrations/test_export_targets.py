"""`webgpt demos export` never deletes or replaces what it did not write, whatever path it is given."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from webgpt_cli.app import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "store" / "d.sqlite")
    webgpt = str(FIXTURES / "webgpt_comparisons.jsonl")
    result = runner.invoke(app, ["demos", "import", "webgpt-comparisons", webgpt, "--db", path])
    assert result.exit_code == 0, result.output
    return path


def export(db: str, out: str, *options: str):
    return runner.invoke(app, ["demos", "export", "comparisons", out, "--split", "all", *options, "--db", db])


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refused_cleanly(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no error escaped


@pytest.mark.parametrize("fmt", [["--format", "hf"], []])
def test_export_onto_the_current_project_folder_is_refused_and_deletes_nothing(
    db, tmp_path: Path, monkeypatch, fmt
):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('years of work')\n")
    (project / "README.md").write_text("mine\n")
    before = files(project)
    monkeypatch.chdir(project)
    for target in (".", "./", str(project), "src/.."):
        result = export(db, target, *fmt, "--force")
        refused_cleanly(result, f"{project} is the current folder or holds it; refusing to write an export")
    result = export(db, "..", *fmt, "--force")
    refused_cleanly(result, f"{tmp_path} is the current folder or holds it")
    assert files(project) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "store"]


def test_export_onto_the_current_folder_is_refused_even_when_it_is_a_previous_export(
    db, tmp_path, monkeypatch
):
    out = tmp_path / "pairs"
    assert export(db, str(out), "--format", "hf").exit_code == 0
    before = {name: (out / name).read_bytes() for name in files(out)}
    monkeypatch.chdir(out)
    refused_cleanly(export(db, ".", "--format", "hf", "--force"), "is the current folder or holds it")
    assert {name: (out / name).read_bytes() for name in files(out)} == before
    monkeypatch.chdir(tmp_path)
    assert export(db, "pairs", "--format", "hf", "--force").exit_code == 0  # by its name, it is replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs", "store"]


def test_hf_export_with_force_keeps_a_folder_of_other_files(db, tmp_path: Path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    refused_cleanly(export(db, str(out), "--format", "hf", "--force"), "not a previous datasets export")
    assert files(out) == ["thesis.tex"]


def test_jsonl_export_never_replaces_a_folder_and_needs_force_for_a_file(db, tmp_path: Path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    for options in ([], ["--force"]):
        result = export(db, str(folder), *options)
        refused_cleanly(result, f"{folder} is a folder and a JSONL export is one file: give a file name")
    assert files(folder) == ["keep.txt"]
    existing = tmp_path / "pairs.jsonl"
    existing.write_text("keep me\n")
    refused_cleanly(export(db, str(existing)), f"{existing} already exists; choose another path")
    assert existing.read_text() == "keep me\n"
    assert export(db, str(existing), "--force").exit_code == 0
    assert len(existing.read_text().splitlines()) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs", "pairs.jsonl", "store"]
