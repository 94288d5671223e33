"""Reward-model training end to end on a tiny model: the loss falls, the run resumes, the saved adapter
scores through ``agent.reward``, and ``webgpt train rm`` runs from a preset.
Run: .venv/bin/pytest tests/training/test_reward.py"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from agent.reward import load_reward_model
from demonstrations.exports import comparison_rows, write_rows
from demonstrations.schemas import ComparedAnswer, ComparisonRecord, QuoteRecord
from training.common import METRICS, RUN_CONFIG, read_metrics
from training.reward import RMConfig, _merge_repeated, main, train_reward
from training.rm_metrics import pairwise_loss

PRESETS = Path(__file__).resolve().parents[2] / "training" / "presets"
NAMES = [
    "Gustave Eiffel",
    "Maurice Koechlin",
    "Emile Nouguier",
    "Stephen Sauvestre",
    "Ada Lovelace",
    "Alan Turing",
]


def quote(name: str) -> QuoteRecord:
    return QuoteRecord(
        url="https://example.org/t", title="Tower", domain="example.org", text=f"{name} built it."
    )


def comparisons(count: int = 32) -> list[ComparisonRecord]:
    """Learnable pairs: a cited answer beats a bare refusal, or (every fourth pair) the same claims of
    similar length without citations; every eighth pair is a tie of two cited answers."""
    out = []
    for i in range(count):
        name = NAMES[i % len(NAMES)]
        good = ComparedAnswer(
            text=f"{name} designed the tower [1]. It opened in 1889 [1].", quotes=[quote(name)]
        )
        bad_text = f"{name} designed the tower. It opened in the year 1889." if i % 4 == 0 else "No idea."
        bad = ComparedAnswer(text=bad_text, quotes=[quote(name)])
        tie, swap = i % 8 == 6, i % 2 == 1
        if tie:
            a, b = (
                good,
                ComparedAnswer(text=f"{name} did [1]. The tower opened in 1889 [1].", quotes=[quote(name)]),
            )
        else:
            a, b = (bad, good) if swap else (good, bad)
        out.append(
            ComparisonRecord(
                question=f"Question {i}: who designed tower number {i}?",
                answer_a=a,
                answer_b=b,
                preference="tie" if tie else ("B" if swap else "A"),
                source="human",
            )
        )
    return out


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rm-data") / "pairs.jsonl"
    write_rows(comparison_rows(comparisons()), path, kind="comparisons")
    return path


def tiny_config(base: Path, data: Path, out: Path, **extra) -> RMConfig:
    values = dict(
        data=[str(data)],
        base_model=str(base),
        output_dir=str(out),
        lora_r=4,
        lora_alpha=8,
        lora_dropout=0.0,
        learning_rate=2e-2,
        max_steps=6,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=1,
        max_length=256,
        eval_fraction=0.25,
        eval_steps=3,
        logging_steps=1,
        save_steps=3,
        warmup_steps=0,
        seed=0,
    )
    values.update(extra)
    return RMConfig(**values)


def saved_train_pairs(out: Path) -> int:
    return json.loads((out / RUN_CONFIG).read_text())["train_pairs"]


def mean_pair_loss(model_dir: Path, records: list[ComparisonRecord]) -> float:
    rm = load_reward_model(str(model_dir), dtype="float32")
    chosen, rejected, labels = [], [], []
    for record in records:
        first, second = (
            (record.answer_b, record.answer_a)
            if record.preference == "B"
            else (record.answer_a, record.answer_b)
        )
        chosen.append(rm.score(record.question, first.quotes, [first.text])[0])
        rejected.append(rm.score(record.question, second.quotes, [second.text])[0])
        labels.append(0.5 if record.preference == "tie" else 1.0)
    values = pairwise_loss(torch.tensor(chosen), torch.tensor(rejected), torch.tensor(labels))
    return float(values.mean())


def test_training_lowers_the_loss_and_the_adapter_scores_in_agent_reward(
    tiny_lm_dir: Path, pairs_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rm"
    metrics = train_reward(tiny_config(tiny_lm_dir, pairs_file, out))
    # the saved folder is an adapter on the tiny causal LM, with the score head and the tokenizer
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["task_type"] == "SEQ_CLS" and "score" in adapter["modules_to_save"]
    assert adapter["base_model_name_or_path"] == str(tiny_lm_dir.resolve())
    assert (out / "tokenizer.json").is_file()
    # it loads and scores in the agent, and it learned: lower loss than the untrained head on the base
    records = comparisons()
    random_head = tmp_path / "untrained"
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    base = AutoModelForSequenceClassification.from_pretrained(str(tiny_lm_dir), num_labels=1)
    base.save_pretrained(random_head)
    (random_head / "tokenizer.json").write_bytes((tiny_lm_dir / "tokenizer.json").read_bytes())
    (random_head / "tokenizer_config.json").write_bytes((tiny_lm_dir / "tokenizer_config.json").read_bytes())
    before, after = mean_pair_loss(random_head, records), mean_pair_loss(out, records)
    assert after < before - 0.05, (before, after)
    # the training loss fell, evaluations were logged with every metric, the run config was saved
    rows = read_metrics(out / METRICS)
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == 6 and sum(losses[-2:]) / 2 < losses[0]
    assert metrics["train_tokens_per_second"] > 0 and metrics["train_steady_tokens_per_second"] > 0
    assert metrics["train_steady_mfu"] is None  # no GPU here
    evaluations = [r for r in rows if "eval_accuracy" in r]
    assert [r["step"] for r in evaluations] == [3, 6]  # every eval_steps (the last step's is the final one)
    final = evaluations[-1]
    assert final["eval_pairs"] + final["eval_ties"] == 32 - saved_train_pairs(out)
    assert final["eval_pairs_similar_length"] >= 1 and final["eval_ties"] >= 1
    for key in ("eval_loss", "eval_length_baseline_accuracy", "eval_length_baseline_accuracy_similar_length"):
        assert key in final
    assert final["eval_accuracy"] == 1.0 and final["eval_tie_loss"] < 1.0
    assert metrics["eval_accuracy"] == evaluations[-1]["eval_accuracy"]
    assert (out / "loss.png").stat().st_size > 0
    saved = json.loads((out / RUN_CONFIG).read_text())
    assert saved["config"]["max_length"] == 256 and saved["train_pairs"] + saved["eval_pairs"] == 32


def test_a_stopped_run_resumes_from_its_last_checkpoint(
    tiny_lm_dir: Path, pairs_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rm"
    train_reward(tiny_config(tiny_lm_dir, pairs_file, out, max_steps=3, eval_fraction=0.0))
    assert (out / "checkpoint-3").is_dir()
    train_reward(tiny_config(tiny_lm_dir, pairs_file, out, max_steps=6, eval_fraction=0.0))
    steps = [r["step"] for r in read_metrics(out / METRICS) if "loss" in r]
    assert steps == [1, 2, 3, 4, 5, 6]  # the second run started at step 4
    assert (out / "checkpoint-6").is_dir()
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6


def test_a_finished_run_started_again_trains_no_step_more(
    tiny_lm_dir: Path, pairs_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rm"
    settings = dict(max_steps=3, eval_steps=100)  # evaluated after training, on the weights at hand
    first = train_reward(tiny_config(tiny_lm_dir, pairs_file, out, **settings))
    trained = (out / "train_results.json").read_text()
    again = train_reward(tiny_config(tiny_lm_dir, pairs_file, out, **settings))
    steps = [r["step"] for r in read_metrics(out / METRICS) if "loss" in r]
    assert steps == [1, 2, 3]  # the trainer alone would take a 4th step
    assert (out / "train_results.json").read_text() == trained  # the run's own training figures stay
    assert again["eval_accuracy"] == first["eval_accuracy"]
    assert again["eval_loss"] == pytest.approx(first["eval_loss"], rel=1e-5)  # the checkpoint's weights


def test_repeated_and_comma_separated_data_flags() -> None:
    argv = ["--data", "a.jsonl", "--max_steps", "3", "--data=b,c", "--data", "d", "e"]
    merged = _merge_repeated(argv)
    assert merged == ["--max_steps", "3", "--data", "a.jsonl", "b,c", "d", "e"]
    assert RMConfig(data=["a.jsonl", "b,c"]).data == ["a.jsonl", "b", "c"]


def test_cli_help_lists_the_fields_and_a_preset_run_trains(
    tiny_lm_dir: Path, pairs_file: Path, tmp_path: Path
) -> None:
    from webgpt_cli.app import app

    runner = CliRunner()
    shown = runner.invoke(app, ["train", "rm", "--help"])
    assert shown.exit_code == 0, shown.output
    for flag in (
        "--data",
        "--base_model",
        "--use_lora",
        "--lora_r",
        "--max_length",
        "--eval_fraction",
        "--similar_length_ratio",
        "--lora_layers",
        "--gradient_checkpointing",
        "--config",
    ):
        assert flag in shown.output
    out = tmp_path / "cli-rm"
    argv = ["train", "rm", "--config", str(PRESETS / "rm-tiny.yaml"), "--data", str(pairs_file)]
    argv += [
        "--base_model",
        str(tiny_lm_dir),
        "--output_dir",
        str(out),
        "--max_steps",
        "2",
        "--lora_layers",
        "1",
    ]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "adapter_config.json").read_text())["layers_to_transform"] == [1]  # the top one
    assert json.loads((out / RUN_CONFIG).read_text())["config"]["max_steps"] == 2
    assert load_reward_model(str(out), dtype="float32").score("Q?", [], ["A [1]."])


def test_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    assert main(["--data", str(tmp_path / "absent.jsonl"), "--output_dir", str(tmp_path / "out")]) == 2
