"""Behaviour cloning on a tiny real model: the loss falls, the run folder is complete, a run resumes,
and the result loads and drives the agent."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from demonstrations.formats import answer_prompt
from training.bc import BCConfig, BCResult, read_rows, to_example, train_bc
from training.common import METRICS, StepClock, model_flops_utilisation, read_metrics

PRESET = Path(__file__).resolve().parents[2] / "training" / "presets" / "bc-tiny.yaml"
OBSERVATION = "♦Question\nWho designed the tower?\n♦Quotes\n♦Past actions\n♦Title\nNo page open\n"


class Quote:
    title, domain, text = "Eiffel Tower", "example.org", "The tower was designed by Gustave Eiffel."


def rows(n: int = 24) -> list[dict]:
    """A learnable set: the same observation always asks for the same command."""
    out = []
    for i in range(n):
        out.append(
            {
                "prompt": OBSERVATION + f"♦Next action {i % 3}",
                "completion": "Search eiffel tower",
                "kind": "browse",
                "episode_id": f"e{i}",
                "source": "scripted",
            }
        )
        out.append(
            {
                "prompt": answer_prompt("Who designed the tower?", [Quote()]),
                "completion": "Gustave Eiffel designed it [1].",
                "kind": "answer",
                "episode_id": f"e{i}",
                "source": "scripted",
            }
        )
    return out


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "bc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows()), encoding="utf-8")
    return path


def test_rows_become_what_the_agent_shows_the_model(tokenizer) -> None:
    browse, answer = rows(1)
    example = to_example(browse, tokenizer, "chat", 512)
    assert example["prompt"][0]["role"] == "system" and example["prompt"][-1]["content"] == browse["prompt"]
    assert example["completion"] == [{"role": "assistant", "content": "Search eiffel tower"}]
    plain = to_example(answer, tokenizer, "plain", 512)
    assert plain["prompt"].endswith("♦Answer\n") and plain["completion"].endswith(tokenizer.eos_token)


def test_long_observations_are_shortened_like_at_inference(tokenizer) -> None:
    from browser_env.protocol import Observation, parse_observation

    page = "\n".join(f"Line {n} of a long page about iron towers and their engineers." for n in range(400))
    observation = Observation("Who designed the tower?", title="Towers", scrollbar=(0, 399), text=page)
    long = dict(rows(1)[0], prompt=observation.render())
    example = to_example(long, tokenizer, "chat", 1200)
    text = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)
    assert len(tokenizer(text)["input_ids"]) <= 1200
    shortened = parse_observation(example["prompt"][-1]["content"])
    assert shortened is not None and shortened.question == "Who designed the tower?" and shortened.text_cut


def losses(folder: Path) -> list[float]:
    return [row["loss"] for row in read_metrics(folder / METRICS) if "loss" in row]


def test_a_few_lora_steps_lower_the_loss_and_leave_a_complete_run(
    tiny_lm_dir: Path, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    config = BCConfig(
        data=str(data),
        output_dir=str(out),
        base_model=str(tiny_lm_dir),
        max_steps=20,
        per_device_train_batch_size=4,
        learning_rate=5e-2,
        max_length=512,
        eval_fraction=0.2,
        eval_steps=10,
        logging_steps=1,
        save_steps=10,
        lora_r=8,
        lora_alpha=16,
    )
    result = train_bc(config)
    curve = losses(out)
    assert result.steps == 20 and len(curve) == 20
    assert sum(curve[-3:]) / 3 < sum(curve[:3]) / 3 - 0.15  # a random 2-layer model learns slowly via LoRA
    assert result.eval_loss is not None and result.train_rows and result.eval_rows
    assert result.tokens_per_second and result.peak_memory_mb > 0
    assert result.steady_tokens_per_second and result.steady_tokens_per_second > 0  # steps 5 to 20
    assert result.mfu is None and result.peak_gpu_memory_mb is None  # no GPU here: no peak to compare with
    assert result.steady_mfu is None
    for name in ("adapter_config.json", "webgpt.json", "run_config.json", "loss.png", "tokenizer.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        tiny_lm_dir
    )
    settings = json.loads((out / "webgpt.json").read_text())
    assert settings["mode"] == "free" and settings["clause_words"] == 30  # the demonstrations' clause
    assert "quoted_pages" not in settings  # one quote: what an agent does unless told otherwise
    assert json.loads((out / "run_config.json").read_text())["config"]["lora_r"] == 8


def test_full_fine_tuning_learns_the_commands_and_the_agent_uses_them(
    tiny_lm_dir: Path, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "full"
    config = BCConfig(
        data=str(data),
        output_dir=str(out),
        base_model=str(tiny_lm_dir),
        use_lora=False,
        max_steps=50,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        max_length=1024,  # the chat turn with the action help needs room at inference
        eval_fraction=0.0,
        logging_steps=1,
        save_steps=100,
    )
    train_bc(config)
    curve = losses(out)
    assert sum(curve[-3:]) / 3 < 0.6 * sum(curve[:3]) / 3

    from agent.policies import load_agent

    agent = load_agent(str(out), device="cpu", temperature=0.0)
    assert agent.mode == "free"
    assert agent.policy.act(OBSERVATION + "♦Next action 0", {}).startswith("Search ")  # the one command
    assert agent.policy.retries == 0  # greedy, at the first try: not a lucky sample among the retries


def test_an_interrupted_run_resumes_from_its_last_checkpoint(
    tiny_lm_dir: Path, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    common = dict(
        data=str(data),
        output_dir=str(out),
        base_model=str(tiny_lm_dir),
        per_device_train_batch_size=4,
        max_length=512,
        eval_fraction=0.0,
        logging_steps=1,
        save_steps=4,
        lora_r=8,
        lora_alpha=16,
    )
    train_bc(BCConfig(max_steps=4, **common))
    assert (out / "checkpoint-4").is_dir()
    resumed = train_bc(BCConfig(max_steps=8, **common))
    steps = [row["step"] for row in read_metrics(out / METRICS) if "loss" in row]
    assert resumed.steps == 8 and steps == list(range(1, 9))  # 5..8 continued, not started again
    # its rate counts the tokens of steps 5..8 only, not those the checkpoint had already seen
    seen = {n: json.loads((out / f"checkpoint-{n}" / "trainer_state.json").read_text()) for n in (4, 8)}
    own = seen[8]["num_input_tokens_seen"] - seen[4]["num_input_tokens_seen"]
    assert resumed.tokens_per_second is not None
    assert resumed.tokens_per_second * resumed.seconds == pytest.approx(own, rel=0.02)
    # a finished epoch started again trains nothing: no rate, no training loss (not 0.0)
    epoch = dict(common, output_dir=str(tmp_path / "epoch"), save_steps=100)
    done = train_bc(BCConfig(num_train_epochs=1, **epoch))
    again = train_bc(BCConfig(num_train_epochs=1, **epoch))
    assert done.steps == again.steps == 12 and done.tokens_per_second and done.train_loss
    assert again.tokens_per_second is None and again.train_loss is None
    # so does a run of max_steps (the trainer alone would take one step more), evaluated on its weights
    bounded = dict(common, output_dir=str(tmp_path / "bounded"), eval_fraction=0.2)
    finished = train_bc(BCConfig(max_steps=4, **bounded))
    restarted = train_bc(BCConfig(max_steps=4, **bounded))
    steps = [row["step"] for row in read_metrics(tmp_path / "bounded" / METRICS) if "loss" in row]
    assert restarted.steps == 4 and steps == [1, 2, 3, 4] and restarted.train_loss is None
    assert restarted.eval_loss == pytest.approx(finished.eval_loss, rel=1e-5)


def test_the_command_line_takes_a_preset_and_flags(tiny_lm_dir: Path, data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from webgpt_cli.app import app

    out = tmp_path / "cli-run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "bc",
            "--config",
            str(PRESET),
            "--data",
            str(data),
            "--base_model",
            str(tiny_lm_dir),
            "--output_dir",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "trained 6 steps" in result.output and (out / "adapter_model.safetensors").is_file()
    help_text = CliRunner().invoke(app, ["train", "bc", "--help"]).output
    assert "--lora_r" in help_text and "--max_length" in help_text


def test_missing_data_is_one_sentence(tmp_path: Path) -> None:
    from training.bc import main

    assert main(["--data", str(tmp_path / "nothing.jsonl")]) == 2
    with pytest.raises(FileNotFoundError, match="webgpt demos export bc"):
        read_rows(str(tmp_path / "nothing.jsonl"))


def test_a_trained_adapter_goes_on_training_from_where_it_was(
    tiny_lm_dir: Path, data: Path, tmp_path: Path
) -> None:
    common = dict(
        data=str(data),
        base_model=str(tiny_lm_dir),
        per_device_train_batch_size=4,
        learning_rate=5e-2,
        max_length=512,
        eval_fraction=0.0,
        logging_steps=1,
        save_steps=50,
    )
    first = tmp_path / "round1"
    train_bc(BCConfig(output_dir=str(first), max_steps=20, lora_r=4, lora_alpha=8, **common))
    fresh = tmp_path / "fresh"
    train_bc(BCConfig(output_dir=str(fresh), max_steps=3, **common))
    named = first / "adapter_config.json"  # the base by a model id, as the shipped adapters name it
    named.write_text(json.dumps({**json.loads(named.read_text()), "base_model_name_or_path": "tiny-id"}))
    again = tmp_path / "round2"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_bc(BCConfig(output_dir=str(again), max_steps=3, init_adapter=str(first), **common))
    assert not [w for w in caught if "config file" in str(w.message)]  # PEFT found the base when saving
    assert losses(again)[0] < losses(fresh)[0] - 0.15  # it starts where round 1 ended, not from scratch
    assert losses(again)[0] == pytest.approx(losses(first)[-1], abs=0.5)
    saved = json.loads((again / "adapter_config.json").read_text())
    assert saved["r"] == 4 and saved["base_model_name_or_path"] == str(tiny_lm_dir)
    with pytest.raises(ValueError, match="holds no LoRA adapter"):
        train_bc(
            BCConfig(output_dir=str(tmp_path / "bad"), max_steps=1, init_adapter=str(tiny_lm_dir), **common)
        )
    with pytest.raises(ValueError, match="needs use_lora"):
        BCConfig(data=str(data), init_adapter=str(first), use_lora=False)


def test_model_flops_utilisation_counts_six_flops_a_parameter_a_token_against_the_gpus_peak() -> None:
    # 135M parameters at 100k tokens/s on an H100 (989 TFLOP/s bf16): 6 * 135e6 * 1e5 / 989e12
    assert model_flops_utilisation(135_000_000, 100_000.0, "NVIDIA H100 80GB HBM3") == 0.0819
    assert model_flops_utilisation(135_000_000, 100_000.0, "NVIDIA H200", devices=2) == 0.0410
    assert model_flops_utilisation(135_000_000, 100_000.0, "NVIDIA A100-SXM4-40GB") == 0.2596
    assert model_flops_utilisation(135_000_000, 100_000.0, None) is None  # CPU: no known peak
    assert model_flops_utilisation(135_000_000, 100_000.0, "Some Future GPU") is None
    assert model_flops_utilisation(135_000_000, None, "NVIDIA H100") is None


def test_the_step_clock_counts_the_steps_after_the_first_quarter_and_only_their_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    import training.common

    clock = StepClock()
    # 8 steps of 100 tokens: the first lasts 10 s (start-up), the others 1 s each, with 5 s between
    # steps 4 and 5 (an evaluation) that must not count.
    times: list[float] = []
    now = 0.0
    for step in range(1, 9):
        now += 5.0 if step == 5 else 0.0
        times += [now, now + (10.0 if step == 1 else 1.0)]
        now = times[-1]
    ticks = iter(times)
    monkeypatch.setattr(training.common.time, "perf_counter", lambda: next(ticks))
    assert clock.tokens_per_second() is None
    for step in range(1, 9):
        clock.on_step_begin(None, SimpleNamespace(num_input_tokens_seen=100 * (step - 1)), None)
        clock.on_step_end(None, SimpleNamespace(num_input_tokens_seen=100 * step), None)
    # steps 3 to 8 (after a quarter of 8): 600 tokens in 6 s of steps
    assert clock.tokens_per_second() == 100.0
    short = StepClock()
    short.marks = [(1.0, 10), (1.0, 20)]
    assert short.tokens_per_second() is None  # two steps: no warm part to measure


def write_rows(path: Path, some_rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in some_rows), encoding="utf-8")
    return path


def train_on_answers(data: Path, output: Path, base: Path, **settings: Any) -> BCResult:
    """A short behaviour-cloning run on the answer rows of ``data``."""
    return train_bc(
        BCConfig(
            data=str(data),
            output_dir=str(output),
            base_model=str(base),
            kinds="answer",
            max_length=512,
            save_steps=100,
            **settings,
        )
    )


def test_batching_by_length_leaves_less_of_each_batch_padding(tiny_lm_dir: Path, tmp_path: Path) -> None:
    mixed = [
        dict(row, prompt=row["prompt"] + (" and the iron lattice of its tower" * 8 if i % 2 else ""))
        for i, row in enumerate(r for r in rows(64) if r["kind"] == "answer")
    ]
    data = write_rows(tmp_path / "mixed.jsonl", mixed)
    shares = {}
    for batching in ("random", "by_length", "rebalanced"):
        result = train_on_answers(
            data,
            tmp_path / f"run-{batching}",
            tiny_lm_dir,
            num_train_epochs=1,
            per_device_train_batch_size=2,
            gradient_accumulation_steps=2,
            eval_fraction=0.0,
            batching=batching,
        )
        assert result.steps == 16 and result.padding_share is not None
        shares[batching] = result.padding_share
    # half short rows, half long: shuffled, most batches hold both; by length (the trainer sorts groups of 16
    # rows here, 8 batches), a batch holds both only where a group's lengths change; rebalanced, each step's
    # 4 shuffled rows are sorted by length and split in two, so a batch holds both only when a step has
    # one short row or three
    assert shares["by_length"] < shares["random"] / 2
    assert shares["rebalanced"] < shares["random"] / 2
    with pytest.raises(ValueError, match="batching must be one of random, by_length, rebalanced"):
        BCConfig(data=str(data), batching="grouped")


def test_one_row_a_batch_accumulated_is_the_same_step_as_one_batch(tiny_lm_dir: Path, tmp_path: Path) -> None:
    # rows of three lengths in one step: the step's loss is the mean over all its completion tokens
    # whether the rows come as one padded batch or one at a time, accumulated (a mean of the rows' own
    # means would weigh a short answer as much as a long one); and the held-out loss, evaluated in
    # batches of the same size, does not depend on the training batches either
    answers = [
        "Eiffel [1].",
        "Gustave Eiffel designed it [1].",
        "Gustave Eiffel, an engineer, designed it " * 4,
    ]
    answer_rows = [r for r in rows(16) if r["kind"] == "answer"]
    data = write_rows(
        tmp_path / "varied.jsonl", [dict(row, completion=answers[i % 3]) for i, row in enumerate(answer_rows)]
    )
    step_loss, held_out_loss = {}, {}
    for batch, accumulate in ((8, 1), (1, 8)):
        result = train_on_answers(
            data,
            tmp_path / f"run-{batch}x{accumulate}",
            tiny_lm_dir,
            max_steps=1,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accumulate,
            lora_dropout=0.0,
            eval_fraction=0.25,  # 3 of the 16 episodes
        )
        assert result.steps == 1 and result.train_loss is not None and result.eval_rows == 3
        step_loss[batch], held_out_loss[batch] = result.train_loss, result.eval_loss
    assert step_loss[1] == pytest.approx(step_loss[8], rel=1e-4)
    assert held_out_loss[1] == pytest.approx(held_out_loss[8], rel=1e-4)


@pytest.mark.parametrize("pages", [0, 4])
def test_quoting_more_pages_than_scheduled_browsing_reads_is_refused(pages: int, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"quoted_pages must be 1 to 3, not {pages}"):
        BCConfig(data=str(tmp_path / "rows.jsonl"), quoted_pages=pages)
