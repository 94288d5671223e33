"""The training benchmark (bench/training.py): its SmolLM2 shapes are the published sizes, and a base of
a shape it builds from a config and tokenizer alone trains and reports its figures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from bench_modules import load_bench


@pytest.mark.parametrize(
    ("model", "millions"),
    [("smollm2-135m", 134.5), ("smollm2-360m", 361.8), ("smollm2-1.7b", 1711.4)],
)
def test_each_shape_has_its_published_size(model: str, millions: float) -> None:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    bench = load_bench("training")
    config = LlamaConfig(vocab_size=49152, tie_word_embeddings=True, **bench.SHAPES[model])
    with torch.device("meta"):
        size = sum(p.numel() for p in AutoModelForCausalLM.from_config(config).parameters())
    assert size / 1e6 == pytest.approx(millions, abs=0.1)


def test_a_base_shaped_from_a_config_trains_and_reports(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_bench("training")
    # a shape of the tiny model's own scale, so that one step runs in seconds here
    monkeypatch.setitem(
        bench.SHAPES,
        "tiny",
        {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        },
    )
    rows = [
        {"kind": "answer", "prompt": f"♦Question\nq{i}\n♦Quotes\n♦Answer\n", "completion": f"a{i} [1]."}
        for i in range(4)
    ]
    data = tmp_path / "bc.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for full in (False, True):
        args = argparse.Namespace(
            bc_data=str(data),
            rm_data="",
            shape_from=str(tiny_lm_dir),
            steps=1,
            batch=2,
            max_length=1024,
            bf16=False,
            gradient_checkpointing=False,
            full=full,
            accumulate=1,
            epoch_rows=0,
        )
        result = bench.run_one("bc", "tiny", "random", args)
        assert result["weights"] == "random" and result["trainer"] == "bc" and result["steps"] == 1
        assert result["lora"] is not full
        assert result["tokens_per_second"] > 0 and result["peak_rss_mib"] > 0
        assert result["mfu"] is None and result["peak_gpu_mib"] is None  # no GPU here
        assert f"| bc | tiny | random | {'full' if full else 'LoRA'} |" in bench.table([result])
    assert "failed: boom" in bench.table([{"trainer": "rm", "model": "tiny", "error": "boom"}])
    # one epoch over the first rows, batched by length: every row once, however many --steps says
    args.epoch_rows, args.steps = 4, 1
    grouped = bench.run_one("bc", "tiny", "by_length", args)
    assert grouped["batching"] == "by_length" and grouped["train_steps"] == 2
    assert grouped["padding_share"] is not None and grouped["train_seconds"] > 0
    assert "| by_length |" in bench.table([grouped])
    # a shape of its own: one row a batch, two accumulated, so no padding at all and 2 steps for 4 rows
    single = bench.run_one("bc", "tiny", "random:1x2", args)
    assert (single["batch"], single["accumulate"], single["train_steps"]) == (1, 2, 2)
    assert single["padding_share"] == 0.0
    assert "| 1 (×2) × 1024 | random |" in bench.table([single])
    with pytest.raises(ValueError, match="BATCHxACCUMULATE"):
        bench.batching_shape("random:4", args)
