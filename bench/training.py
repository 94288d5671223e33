"""Training throughput: tokens per second, peak memory and MFU of behaviour cloning and of the reward
model, for SmolLM2 bases of three sizes, on this machine (its CPU, or its GPU when it has one).

    .venv/bin/python bench/training.py --bc-data runs/ship/bc.jsonl --rm-data runs/ship/truthfulqa-pairs.jsonl
    .venv/bin/python bench/training.py ... --models smollm2-135m --steps 4          # a CPU's quick look
    python3 bench/training.py ... --shape-from .gpu/smollm2-135m --steps 30   # a GPU, weights not there
    .venv/bin/python bench/training.py ... --trainers bc --models smollm2-135m --batch 4 --accumulate 2 \
        --max-length 512 --bf16 --epoch-rows 128 --batching random,random:1x8,rebalanced:2x4,by_length \
        --repeats 2                                                   # the batchings side by side

Each (trainer, base) runs in its own process (peak memory is a process's), with the project's own
trainers (``training.bc.train_bc``, ``training.reward.train_reward``) on real rows: the recipe's
behaviour-cloning rows (``webgpt train recipe --stages demos,data`` writes ``runs/ship/bc.jsonl``) and
TruthfulQA pairs (``webgpt demos import truthfulqa`` then ``webgpt demos export comparisons``, or the
recipe's ``rm`` stage, which writes ``runs/ship/truthfulqa-pairs.jsonl``). Speed
does not depend on what the weights hold, so a base whose weights are not on the machine is built with
random weights in its published shape (``SHAPES``) from the 135M model's config and tokenizer
(``--shape-from``, or the converted ``smollm2-135m``); every row of the result says which it used.
Rates are over the whole training loop (the first steps' start-up included) and, as "warm", over the
time inside the steps after the first quarter (``training.common.StepClock``). Writes
``bench/results/training.json`` (or ``--out``) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from training.bc import SAMPLING_STRATEGIES  # noqa: E402  (after the path above)

# The published shapes of SmolLM2 (HuggingFaceTB/SmolLM2-*-Instruct config.json): Llama blocks, vocabulary
# 49,152, tied embeddings.
SHAPES: dict[str, dict[str, int]] = {
    "smollm2-135m": {
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
    },
    "smollm2-360m": {
        "hidden_size": 960,
        "intermediate_size": 2560,
        "num_hidden_layers": 32,
        "num_attention_heads": 15,
        "num_key_value_heads": 5,
    },
    "smollm2-1.7b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 24,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
    },
}
TRAINERS = ("bc", "rm")


def shape_source(shape_from: str | None) -> Path:
    """The folder whose config and tokenizer random bases are shaped from."""
    if shape_from:
        return Path(shape_from)
    from agent.models import resolve_checkpoint

    return Path(resolve_checkpoint("smollm2-135m"))


def base_folder(model: str, shape_from: str | None, work: Path) -> tuple[str, str]:
    """A base to train and what its weights are: the converted SmolLM2-135M when it is on this machine
    (``real``), else a model of ``model``'s shape with random weights saved under ``work``."""
    if model == "smollm2-135m" and shape_from is None:
        return str(shape_source(None)), "real"
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = shape_source(shape_from)
    config = AutoConfig.from_pretrained(source)
    for key, value in SHAPES[model].items():
        setattr(config, key, value)
    config.head_dim = config.hidden_size // config.num_attention_heads
    torch.manual_seed(0)
    folder = work / model
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # a 1.7B base initialises in seconds
        AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder), "random"


def batching_shape(spec: str, args: argparse.Namespace) -> tuple[str, int, int]:
    """A ``--batching`` entry, ``NAME`` or ``NAME:BATCHxACCUMULATE``, as (name, batch, accumulation)."""
    name, _, shape = spec.partition(":")
    if not shape:
        return name, args.batch, args.accumulate
    batch, _, accumulate = shape.partition("x")
    if not (batch.isdigit() and accumulate.isdigit() and int(batch) > 0 and int(accumulate) > 0):
        raise ValueError(f"{spec!r}: the shape after the colon is BATCHxACCUMULATE, as in random:1x8")
    return name, int(batch), int(accumulate)


def run_one(trainer: str, model: str, batching: str, args: argparse.Namespace) -> dict[str, Any]:
    """One training run in this process (``batching`` a ``--batching`` entry); its figures."""
    import torch

    from training.common import gpu_name

    gpu = torch.cuda.is_available()
    bf16 = gpu or args.bf16
    batching, batch, accumulate = (
        batching_shape(batching, args) if trainer == "bc" else ("random", args.batch, 1)
    )
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        base, weights = base_folder(model, args.shape_from, work)
        common: dict[str, Any] = {
            "base_model": base,
            "max_steps": args.steps,
            "per_device_train_batch_size": batch,
            "max_length": args.max_length,
            "eval_fraction": 0.0,
            "save_steps": 10**6,
            "logging_steps": max(1, args.steps // 4),
            "bf16": bf16,
            "gradient_checkpointing": args.gradient_checkpointing,
            "use_lora": not args.full,
        }
        started = time.perf_counter()
        if trainer == "bc":
            from training.bc import BCConfig, train_bc

            if args.epoch_rows:  # one epoch over the same rows, however they are batched
                common.update(max_steps=-1, max_rows=args.epoch_rows, num_train_epochs=1)
            config = BCConfig(
                data=args.bc_data,
                output_dir=str(work / "bc"),
                batching=batching,
                gradient_accumulation_steps=accumulate,
                **common,
            )
            result = train_bc(config)
            figures = {
                "train_seconds": result.seconds,
                "train_steps": result.steps,
                "padding_share": result.padding_share,
                "tokens_per_second": result.tokens_per_second,
                "peak_rss_mib": result.peak_memory_mb,
                "peak_gpu_mib": result.peak_gpu_memory_mb,
                "mfu": result.mfu,
                "steady_tokens_per_second": result.steady_tokens_per_second,
                "steady_mfu": result.steady_mfu,
                "train_loss": result.train_loss,
            }
        else:
            from training.reward import RMConfig, train_reward

            metrics = train_reward(
                RMConfig(
                    data=[args.rm_data],
                    output_dir=str(work / "rm"),
                    gradient_accumulation_steps=1,
                    resume=False,
                    **common,
                )
            )
            figures = {
                "tokens_per_second": metrics.get("train_tokens_per_second"),
                "peak_rss_mib": metrics.get("train_peak_rss_mib"),
                "peak_gpu_mib": metrics.get("train_peak_gpu_mib"),
                "mfu": metrics.get("train_mfu"),
                "steady_tokens_per_second": metrics.get("train_steady_tokens_per_second"),
                "steady_mfu": metrics.get("train_steady_mfu"),
                "train_loss": metrics.get("train_loss"),
            }
        return {
            "trainer": trainer,
            "model": model,
            "batching": batching,
            "weights": weights,
            "device": gpu_name() if gpu else cpu_name(),
            "bf16": bf16,
            "lora": not args.full,
            "steps": args.steps,
            "batch": batch,
            "accumulate": accumulate,
            "max_length": args.max_length,
            "gradient_checkpointing": args.gradient_checkpointing,
            "seconds": round(time.perf_counter() - started, 1),
            **figures,
        }


def cpu_name() -> str:
    """The processor's model name and core count ("AMD EPYC, 2 cores")."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    return f"{name or platform.machine()}, {os.cpu_count()} cores"


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    def show(value: Any, digits: int = 0) -> str:
        if value is None:
            return "—"
        return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)

    def accumulated(row: dict[str, Any]) -> str:
        return f" (×{row['accumulate']})" if row.get("accumulate", 1) > 1 else ""

    lines = [
        "| trainer | base | weights | tuned | device | bf16 | batch × tokens | batching | padding | steps "
        "| train s | tokens/s | warm tokens/s | peak RSS MiB | peak GPU MiB | MFU | warm MFU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            blanks = " — |" * 7
            lines.append(f"| {r['trainer']} | {r['model']} |{blanks} failed: {r['error']} |{blanks}")
            continue
        mfu, warm_mfu = (percent(r.get(key)) for key in ("mfu", "steady_mfu"))
        lines.append(
            f"| {r['trainer']} | {r['model']} | {r['weights']} | {'LoRA' if r.get('lora', True) else 'full'} "
            f"| {r['device']} | {r['bf16']} | "
            f"{r['batch']}{accumulated(r)} × {r['max_length']} | {r.get('batching', 'random')} | "
            f"{percent(r.get('padding_share'))} | {show(r.get('train_steps', r['steps']))} | "
            f"{show(r.get('train_seconds'), 1)} | {show(r['tokens_per_second'], 1)} | "
            f"{show(r.get('steady_tokens_per_second'), 1)} | "
            f"{show(r['peak_rss_mib'])} | {show(r['peak_gpu_mib'])} | {mfu} | {warm_mfu} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bc-data", required=True, help="behaviour-cloning rows (JSONL)")
    parser.add_argument("--rm-data", required=True, help="comparison pairs (JSONL)")
    parser.add_argument("--models", default=",".join(SHAPES), help="comma list of " + ", ".join(SHAPES))
    parser.add_argument("--trainers", default=",".join(TRAINERS))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--accumulate", type=int, default=1, help="BC's gradient accumulation steps")
    parser.add_argument(
        "--batching",
        default="random",
        help="BC's batchings, a comma list of webgpt train bc --batching values (random, by_length, "
        "rebalanced), each with its own shape if wanted: random:1x8 is batches of 1 row, 8 accumulated",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run every configuration N times, interleaved (drift evens out)",
    )
    parser.add_argument(
        "--epoch-rows",
        type=int,
        default=0,
        help="BC: one epoch over the first N rows instead of --steps (a fair side by side of batchings)",
    )
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--bf16", action="store_true", help="bf16 on a CPU too (a GPU always uses it)")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--full", action="store_true", help="full fine-tuning (else LoRA, as the recipe)")
    parser.add_argument("--shape-from", default=None, help="config + tokenizer folder for random bases")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "training.json")
    parser.add_argument("--one", nargs=3, metavar=("TRAINER", "MODEL", "BATCHING"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        print("RESULT " + json.dumps(run_one(*args.one, args)), flush=True)
        return
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    trainers = [t.strip() for t in args.trainers.split(",") if t.strip()]
    batchings = [b.strip() for b in args.batching.split(",") if b.strip()]
    unknown = [m for m in models if m not in SHAPES] + [t for t in trainers if t not in TRAINERS]
    try:
        unknown += [b for b in batchings if batching_shape(b, args)[0] not in SAMPLING_STRATEGIES]
    except ValueError as error:
        parser.error(str(error))
    if unknown:
        parser.error(f"unknown model, trainer or batching: {', '.join(unknown)}")
    for path in (args.bc_data, args.rm_data):
        if not Path(path).is_file():
            parser.error(
                f"no such file: {path} (make both with `webgpt train recipe --stages demos,data,rm`)"
            )
    rows: list[dict[str, Any]] = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    errors = args.out.with_suffix(".errors.log")
    runs = [
        (model, trainer, batching)
        for _ in range(args.repeats)
        for model in models
        for trainer in trainers
        for batching in (batchings if trainer == "bc" else ["random"])
    ]
    for model, trainer, batching in runs:
        command = [sys.executable, __file__, *sys.argv[1:], "--one", trainer, model, batching]
        done = subprocess.run(command, capture_output=True, text=True)
        result = next((line[7:] for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
        if result is None:
            error = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            rows.append({"trainer": trainer, "model": model, "error": error})
            with errors.open("a") as log:
                log.write(f"== {trainer} {model}\n{done.stderr[-20000:]}\n")
        else:
            rows.append(json.loads(result))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        args.out.write_text(json.dumps(rows, indent=1))  # after each run: a cut-off sweep keeps its rows
    print(table(rows))


if __name__ == "__main__":
    main()
