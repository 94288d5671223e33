"""The multi-process training path is real without a GPU: two CPU processes (torchrun, gloo) share the
data. (``accelerate launch --cpu --num_processes 2`` starts one process unless MPI is installed.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_behaviour_cloning_runs_in_two_processes(tiny_lm_dir: Path, tmp_path: Path) -> None:
    rows = [
        {
            "prompt": f"♦Question\nq{i}\n♦Next action",
            "completion": "Search eiffel tower",
            "kind": "browse",
            "episode_id": f"e{i}",
            "source": "scripted",
        }
        for i in range(16)
    ]
    data = tmp_path / "bc.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "run"
    torchrun = Path(sys.executable).with_name("torchrun")
    done = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "--master_port",
            "29531",
            "-m",
            "training.bc",
            "--config",
            str(ROOT / "training" / "presets" / "bc-tiny.yaml"),
            "--data",
            str(data),
            "--base_model",
            str(tiny_lm_dir),
            "--output_dir",
            str(out),
            "--max_steps",
            "3",
            "--eval_fraction",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained 3 steps") == 1  # printed by the main process only
    run = json.loads((out / "run_config.json").read_text())
    assert (out / "adapter_model.safetensors").is_file() and run["config"]["max_steps"] == 3
    assert run["world_size"] == 2


def test_the_accelerate_configs_parse() -> None:
    for name in ("one_gpu", "ddp", "fsdp"):
        config = yaml.safe_load((ROOT / "training" / "accelerate" / f"{name}.yaml").read_text())
        assert config["compute_environment"] == "LOCAL_MACHINE" and config["mixed_precision"] == "bf16"
