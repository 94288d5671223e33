from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from demonstrations.exports import (
    BC_COLUMNS,
    COMPARISON_COLUMNS,
    EXPORT_MARKER,
    bc_rows,
    comparison_rows,
    write_jsonl,
    write_rows,
)
from demonstrations.formats import answer_prompt, reward_input
from demonstrations.schemas import (
    AnswerRecord,
    ComparedAnswer,
    ComparisonRecord,
    EpisodeRecord,
    QuoteRecord,
    StepRecord,
)
from demonstrations.store import EpisodeStore

QUOTE = QuoteRecord(
    url="https://en.wikipedia.org/wiki/X", title="X", domain="en.wikipedia.org", text="X is 42."
)


def episode(source="human", end_reason="answer", *, invalid_step=False) -> EpisodeRecord:
    steps = [
        StepRecord(index=0, observation="♦Question\nwhat is x\n…obs0", command="Search x"),
        StepRecord(index=1, observation="…obs1", command="Clicked on link 0"),
    ]
    if invalid_step:
        steps.append(
            StepRecord(index=2, observation="…obs2", command="Quote: nope", valid=False, error="not on page")
        )
    steps.append(StepRecord(index=len(steps), observation="…obs3", command="Quote: X is 42."))
    steps.append(StepRecord(index=len(steps), observation="…obs4", command="End: Answer"))
    answered = end_reason == "answer"
    return EpisodeRecord(
        question="what is x",
        source=source,
        steps=steps,
        quotes=[QUOTE] if answered else [],
        answer=AnswerRecord(text="42 [1].", citations=[1]) if answered else None,
        end_reason=end_reason,
    )


def comparison(preference="A", strength=None, source="human") -> ComparisonRecord:
    quote_b = QuoteRecord(url="https://b.org/", title="B page", domain="b.org", text="X might be 41.")
    return ComparisonRecord(
        question="what is x",
        answer_a=ComparedAnswer(text="42 [1].", quotes=[QUOTE]),
        answer_b=ComparedAnswer(text="41 [1].", quotes=[quote_b]),
        preference=preference,
        strength=strength,
        annotator="ann",
        source=source,
    )


# ------------------------------------------------------------------------------------------ behaviour cloning


def test_bc_rows_are_observation_command_pairs_plus_an_answer_row():
    rows = list(bc_rows([episode()]))
    assert [r["kind"] for r in rows] == ["browse"] * 4 + ["answer"]
    assert rows[0] == {
        "prompt": "♦Question\nwhat is x\n…obs0",
        "completion": "Search x",
        "kind": "browse",
        "episode_id": rows[0]["episode_id"],
        "step": 0,
        "source": "human",
        "valid": True,
    }
    assert rows[-1]["prompt"] == answer_prompt("what is x", [QUOTE])
    assert rows[-1]["prompt"].endswith("♦Answer\n")
    assert rows[-1]["completion"] == "42 [1]."
    assert rows[-1]["step"] is None
    assert all(set(r) == set(BC_COLUMNS) for r in rows)


def test_bc_invalid_steps_are_left_out_unless_asked():
    ep = episode(invalid_step=True)
    assert [r["completion"] for r in bc_rows([ep], include_answers=False)] == [
        "Search x",
        "Clicked on link 0",
        "Quote: X is 42.",
        "End: Answer",
    ]
    with_invalid = list(bc_rows([ep], include_invalid=True, include_answers=False))
    assert [r["valid"] for r in with_invalid] == [True, True, False, True, True]


def test_bc_filters_by_source_and_ending():
    episodes = [
        episode("human"),
        episode("scripted", "nonsense"),
        episode("model"),
        episode("human", None),
        episode("human", "abandoned"),
    ]
    by_source = {r["source"] for r in bc_rows(episodes, sources={"scripted", "model"})}
    assert by_source == {"scripted", "model"}
    kept = {r["episode_id"] for r in bc_rows(episodes)}
    assert kept == {episodes[0].id, episodes[1].id, episodes[2].id}
    assert {r["episode_id"] for r in bc_rows(episodes, include_declined=False)} == {
        episodes[0].id,
        episodes[2].id,
    }
    assert len({r["episode_id"] for r in bc_rows(episodes, include_unfinished=True)}) == 5
    declined_rows = [r for r in bc_rows(episodes) if r["episode_id"] == episodes[1].id]
    assert all(r["kind"] == "browse" for r in declined_rows)  # no answer row without an answer


@pytest.mark.parametrize("budget", ["action_budget", "quote_budget"])
def test_bc_keeps_the_answer_of_a_rollout_that_ran_out_of_a_budget(budget):
    answer = AnswerRecord(text="42 [1].", citations=[1])
    rollout = episode("model").model_copy(update={"end_reason": budget, "answer": answer, "quotes": [QUOTE]})
    rows = list(bc_rows([rollout]))
    assert [r["kind"] for r in rows] == ["browse"] * 4 + ["answer"]
    assert rows[-1]["prompt"] == answer_prompt("what is x", [QUOTE]) and rows[-1]["completion"] == "42 [1]."
    unanswered = rollout.model_copy(update={"answer": None})
    assert [r["kind"] for r in bc_rows([unanswered])] == ["browse"] * 4
    assert [r["kind"] for r in bc_rows([rollout], include_answers=False)] == ["browse"] * 4


# ------------------------------------------------------------------------------------------ comparisons


def test_comparison_rows_put_each_answer_with_its_own_quotes():
    (row,) = comparison_rows([comparison("B", "much_better")])
    assert set(row) == set(COMPARISON_COLUMNS)
    assert row["prompt"] == "♦Question\nwhat is x\n"
    # TRL's RewardTrainer scores prompt + chosen: exactly the reward model's input for that answer
    quote_b = comparison().answer_b.quotes
    assert row["prompt"] + row["chosen"] == reward_input("what is x", quote_b, "41 [1].")
    assert row["prompt"] + row["rejected"] == reward_input("what is x", [QUOTE], "42 [1].")
    assert "X might be 41." in row["chosen"] and "X might be 41." not in row["rejected"]
    assert (row["label"], row["tie"], row["strength"], row["margin"]) == (1.0, False, "much_better", 1.0)


def test_ties_are_kept_and_marked_as_half_labels():
    rows = list(comparison_rows([comparison("tie"), comparison("A")]))
    assert [(r["tie"], r["label"], r["strength"], r["margin"]) for r in rows] == [
        (True, 0.5, "tie", 0.0),
        (False, 1.0, "better", 0.0),
    ]
    assert rows[0]["chosen"].endswith("42 [1].")  # a tie keeps answer A first
    assert len(list(comparison_rows([comparison("tie"), comparison("A")], include_ties=False))) == 1


def test_comparison_source_filter_and_margin_value():
    records = [comparison(source="webgpt", strength="much_better"), comparison(source="human")]
    rows = list(comparison_rows(records, sources={"webgpt"}, much_better_margin=2.5))
    assert [(r["source"], r["margin"]) for r in rows] == [("webgpt", 2.5)]


def test_quoteless_comparisons_still_follow_the_layout():
    record = ComparisonRecord(
        question="q?",
        answer_a=ComparedAnswer(text="yes"),
        answer_b=ComparedAnswer(text="no"),
        preference="A",
        source="truthfulqa",
    )
    (row,) = comparison_rows([record])
    assert row["prompt"] + row["chosen"] == reward_input("q?", [], "yes")


# ------------------------------------------------------------------------------------------ writers


def test_jsonl_writer_round_trips_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out" / "bc.jsonl"
    assert write_jsonl(bc_rows([episode()]), path) == 5
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["completion"] == "Search x" and rows[0]["prompt"].startswith("♦Question")
    with pytest.raises(FileExistsError):
        write_jsonl([], path)
    assert write_jsonl([], path, overwrite=True) == 0
    assert path.read_text() == ""
    assert [p.name for p in path.parent.iterdir()] == ["bc.jsonl"]  # no temporary files left behind


def test_jsonl_writer_leaves_no_partial_file_on_error(tmp_path):
    def rows():
        yield {"prompt": "a", "completion": "b"}
        raise RuntimeError("broken source")

    with pytest.raises(RuntimeError):
        write_jsonl(rows(), tmp_path / "x.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_hf_folders_load_back_with_datasets(tmp_path):
    from datasets import load_from_disk

    count = write_rows(bc_rows([episode(), episode("scripted")]), tmp_path / "bc", kind="bc", fmt="hf")
    assert count == 10
    data = load_from_disk(str(tmp_path / "bc"))
    assert data.column_names == list(BC_COLUMNS)
    assert data[4]["kind"] == "answer" and data[4]["step"] is None
    assert data[0]["step"] == 0

    write_rows(
        comparison_rows([comparison("tie"), comparison("B")]), tmp_path / "cmp", kind="comparisons", fmt="hf"
    )
    pairs = load_from_disk(str(tmp_path / "cmp"))
    assert pairs.column_names == list(COMPARISON_COLUMNS)
    assert pairs["label"] == [0.5, 1.0] and pairs["tie"] == [True, False]


def test_hf_empty_export_keeps_its_columns(tmp_path):
    from datasets import load_from_disk

    assert write_rows([], tmp_path / "empty", kind="comparisons", fmt="hf") == 0
    assert load_from_disk(str(tmp_path / "empty")).column_names == list(COMPARISON_COLUMNS)


def test_exports_from_a_real_store(tmp_path):
    store = EpisodeStore(tmp_path / "demos.sqlite")
    first = episode("human")
    store.save_episode(first)
    store.save_episode(episode("scripted", "nonsense"))
    store.add_comparison(comparison("tie"))
    bc = list(bc_rows(store.iter_episodes(), sources={"human"}))
    assert [r["completion"] for r in bc][-2:] == ["End: Answer", "42 [1]."]
    assert {r["episode_id"] for r in bc} == {first.id}
    (row,) = comparison_rows(store.iter_comparisons())
    assert row["tie"] is True
    store.close()


def test_jsonl_writer_gives_the_usual_file_mode_without_touching_the_umask(tmp_path, monkeypatch):
    calls = []
    previous = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", calls.append)
        write_jsonl(bc_rows([episode()]), tmp_path / "bc.jsonl")
        monkeypatch.undo()
        assert calls == []
        assert stat.S_IMODE((tmp_path / "bc.jsonl").stat().st_mode) == 0o640  # 0o666 less the umask
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(previous)


def test_hf_export_refuses_to_replace_what_it_did_not_write(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    (folder / "state.json").write_text("{}")
    with pytest.raises(FileExistsError, match="not a previous datasets export"):
        write_rows(bc_rows([episode()]), folder, kind="bc", fmt="hf", overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["state.json", "thesis.tex"]
    plain = tmp_path / "bc.jsonl"
    plain.write_text("keep me")
    with pytest.raises(FileExistsError, match="not a previous datasets export"):
        write_rows(bc_rows([episode()]), plain, kind="bc", fmt="hf", overwrite=True)
    assert plain.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bc.jsonl", "notes"]  # nothing left behind


def test_hf_export_with_overwrite_replaces_a_previous_export(tmp_path):
    from datasets import load_from_disk

    out = tmp_path / "bc"
    assert write_rows(bc_rows([episode()]), out, kind="bc", fmt="hf") == 5
    assert (out / EXPORT_MARKER).is_file()
    assert write_rows(bc_rows([episode(), episode()]), out, kind="bc", fmt="hf", overwrite=True) == 10
    assert len(load_from_disk(str(out))) == 10
    (out / EXPORT_MARKER).unlink()  # a folder written before the marker existed is still an export
    assert write_rows([], out, kind="bc", fmt="hf", overwrite=True) == 0
    assert len(load_from_disk(str(out))) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["bc"]  # no staging or old folders left


def test_hf_export_that_fails_while_writing_keeps_the_previous_export(tmp_path, monkeypatch):
    from datasets import Dataset, load_from_disk

    out = tmp_path / "bc"
    write_rows(bc_rows([episode()]), out, kind="bc", fmt="hf")
    before = sorted(p.name for p in out.iterdir())

    def half_written(self, dataset_path, **kwargs):
        Path(dataset_path, "data-00000-of-00001.arrow").write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Dataset, "save_to_disk", half_written)
    with pytest.raises(OSError, match="disk full"):
        write_rows(bc_rows([episode(), episode()]), out, kind="bc", fmt="hf", overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in out.iterdir()) == before
    assert len(load_from_disk(str(out))) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["bc"]
