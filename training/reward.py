"""The reward model: a scalar head on the policy's base, trained on comparisons with ties as soft labels.

Input is ``demonstrations.formats.reward_input(question, quotes, answer)`` + eos, exactly what
``agent.reward`` scores; the loss is in ``training.rm_metrics`` (cross-entropy on the preference, a tie a
50% label, the margin on non-ties only). Every evaluation logs held-out accuracy overall and on pairs of
similar length beside the "longer answer wins" baseline, and the loss on ties (``metrics.jsonl``,
``loss.png``). The output folder loads with ``agent.reward.load_reward_model``; a run that stops resumes
from its last checkpoint when started again with the same ``--output_dir``.

    webgpt demos export comparisons pairs.jsonl
    webgpt train rm --config training/presets/rm-smollm2-cpu.yaml --data pairs.jsonl --output_dir runs/rm
    webgpt train rm --help
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import Trainer

from agent.models import MODELS, load_tokenizer, peft_wrapping, quiet_load_report, resolve_checkpoint
from demonstrations.exports import comparison_rows
from training.common import (
    MetricsLog,
    StepClock,
    ddp_backend,
    last_checkpoint,
    name_adapter_base,
    peak_memory,
    save_run_config,
    tokens_this_run,
    train_or_restore,
    trainer_mfu,
)
from training.reward_data import (
    DataError,
    answer_text,
    automatic_comparisons,
    cap_per_source,
    encode,
    normalize_row,
    read_comparison_rows,
    read_episodes,
    split_by_question,
)
from training.rm_metrics import pair_metrics, pairwise_loss

logger = logging.getLogger(__name__)


def _flag(default: Any, help: str) -> Any:
    """A config field with its ``--help`` text."""
    return field(default=default, metadata={"help": help})


@dataclass
class RMConfig:
    """Reward-model training; every field is a flag of ``webgpt train rm`` (and a key of a preset)."""

    data: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Comparisons exports (JSONL file or datasets folder from `webgpt demos export "
            "comparisons`); several: comma-separated, space-separated or the flag repeated."
        },
    )
    automatic: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Episode stores (.sqlite) or JSONL traces with gold answers: answers to the same "
            "question are paired, correct and supported against not, as source 'automatic'."
        },
    )
    output_dir: str = _flag("runs/rm", "Run folder: checkpoints, metrics, final model.")
    base_model: str = field(
        default="smollm2-135m",
        metadata={"help": "Base causal LM (model id, folder or hub id); WebGPT started from the policy."},
    )
    use_lora: bool = _flag(True, "LoRA + trained score head; false: full fine-tuning.")
    lora_r: int = _flag(16, "LoRA rank.")
    lora_alpha: int = _flag(32, "LoRA scaling alpha.")
    lora_dropout: float = _flag(0.05, "LoRA dropout.")
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={
            "help": "Modules given LoRA adapters ('all-linear' for any architecture); the score head "
            "is always trained in full."
        },
    )
    lora_layers: int = _flag(
        0,
        "LoRA on the top N transformer layers only (0: all); backpropagation stops below them, so a "
        "small N trains much faster on a CPU.",
    )
    learning_rate: float = _flag(1e-4, "Peak learning rate (1e-5 for full fine-tuning).")
    num_train_epochs: float = _flag(1.0, "Passes over the training pairs.")
    max_steps: int = _flag(-1, "Stop after this many optimizer steps (-1: epochs).")
    per_device_train_batch_size: int = _flag(4, "Pairs per device per step (twice as many sequences).")
    per_device_eval_batch_size: int = _flag(8, "Pairs per device per eval step.")
    gradient_accumulation_steps: int = _flag(4, "Steps accumulated per update.")
    max_length: int = _flag(
        512, "Tokens per input; longer inputs lose the end of their quotes, never the answer."
    )
    eval_fraction: float = _flag(0.1, "Share of questions held out (by hash of the question; 0: none).")
    max_eval_pairs: int = _flag(1000, "At most this many held-out pairs of each source are scored.")
    max_pairs_per_source: int = _flag(
        0, "At most this many training pairs of each source, drawn with the seed (0: all)."
    )
    eval_steps: int = _flag(50, "Evaluate every N optimizer steps (and at the end).")
    logging_steps: int = _flag(5, "Log the training loss every N steps.")
    save_steps: int = _flag(50, "Checkpoint every N steps (resume picks the last).")
    save_total_limit: int = _flag(2, "Checkpoints kept.")
    warmup_steps: float = _flag(0.03, "Warm-up steps, or a ratio of all steps if < 1.")
    weight_decay: float = _flag(0.0, "AdamW weight decay.")
    seed: int = _flag(42, "Seed for initialisation, shuffling and dropout.")
    bf16: bool = _flag(False, "bf16 autocast (GPUs; CPUs with AVX-512 BF16/AMX).")
    gradient_checkpointing: bool = _flag(False, "Trade compute for memory.")
    similar_length_ratio: float = field(
        default=0.2,
        metadata={
            "help": "Pairs whose answer lengths differ by at most this share of the longer are "
            "'similar length' in the evaluation."
        },
    )
    resume: bool = _flag(True, "Resume from the last checkpoint in output_dir.")
    dataloader_num_workers: int = _flag(0, "Data loader worker processes.")

    def __post_init__(self) -> None:
        self.data = _split_list(self.data)
        self.automatic = _split_list(self.automatic)
        self.lora_target_modules = _split_list(self.lora_target_modules)
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ValueError(f"eval_fraction must be in [0, 1), got {self.eval_fraction}")
        if self.max_length < 16:
            raise ValueError(f"max_length must be at least 16 tokens, got {self.max_length}")


def _split_list(values: str | Sequence[str] | None) -> list[str]:
    items = [values] if isinstance(values, str) else list(values or [])
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


# --------------------------------------------------------------------------- data


class PairDataset:
    """Tokenized pairs (a list the Trainer indexes), with answer lengths and sources for the metrics."""

    def __init__(self, rows: Sequence[dict[str, Any]], tokenizer: Any, max_length: int, sources: list[str]):
        self.items = []
        for row in rows:
            if row["source"] not in sources:
                sources.append(row["source"])
            self.items.append(
                {
                    "chosen_ids": encode(tokenizer, row["prompt"], row["chosen"], max_length),
                    "rejected_ids": encode(tokenizer, row["prompt"], row["rejected"], max_length),
                    "label": float(row["label"]),
                    "margin": float(row["margin"]),
                    "len_chosen": float(len(answer_text(row["chosen"]).strip())),
                    "len_rejected": float(len(answer_text(row["rejected"]).strip())),
                    "source_id": float(sources.index(row["source"])),
                }
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]

    def tokens(self) -> int:
        return sum(len(i["chosen_ids"]) + len(i["rejected_ids"]) for i in self.items)


@dataclass
class PairCollator:
    """Chosen inputs then rejected inputs in one right-padded batch (2 × pairs sequences)."""

    pad_token_id: int

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        sequences = [f["chosen_ids"] for f in features] + [f["rejected_ids"] for f in features]
        width = max(len(s) for s in sequences)
        ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
            mask[row, : len(sequence)] = 1

        def column(name: str) -> Any:
            return torch.tensor([f[name] for f in features], dtype=torch.float32)

        return {
            "input_ids": ids,
            "attention_mask": mask,
            "preference": column("label"),
            "margin": column("margin"),
            "pair_info": torch.stack(
                [column("label"), column("len_chosen"), column("len_rejected"), column("source_id")], dim=1
            ),
        }


def load_rows(config: RMConfig) -> list[dict[str, Any]]:
    """The comparison rows of every ``data`` export and the automatic pairs built from ``automatic``."""
    rows = read_comparison_rows(config.data)
    for path in config.automatic:
        pairs = automatic_comparisons(read_episodes(path))
        rows += [normalize_row(row) for row in comparison_rows(pairs)]
    if not rows:
        raise DataError("no comparisons: give --data (an export) or --automatic (episodes with gold)")
    return rows


# --------------------------------------------------------------------------- trainer


class PairwiseRewardTrainer(Trainer):
    """``transformers.Trainer`` with the soft-label pairwise loss; evaluation returns (r_c, r_r) per pair."""

    # compute_loss returns a per-pair mean: the Trainer divides it for gradient accumulation
    loss_is_scaled_for_ga = False

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        rewards = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits[:, 0]
        pairs = inputs["preference"].shape[0]
        chosen, rejected = rewards[:pairs].float(), rewards[pairs:].float()
        loss = pairwise_loss(chosen, rejected, inputs["preference"], inputs["margin"]).mean()
        return (loss, {"chosen": chosen, "rejected": rejected}) if return_outputs else loss

    def prediction_step(
        self, model: Any, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None
    ) -> tuple[Any, Any, Any]:
        import torch

        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
        if prediction_loss_only:
            return loss.detach(), None, None
        rewards = torch.stack([outputs["chosen"], outputs["rejected"]], dim=1).detach()
        return loss.detach(), rewards, inputs["pair_info"]


def metrics_function(sources: list[str], similar_length_ratio: float) -> Any:
    """``compute_metrics`` for the Trainer: ``pair_metrics`` on every held-out pair (NaNs left out)."""

    def compute(prediction: Any) -> dict[str, float]:
        rewards, info = prediction.predictions, prediction.label_ids
        metrics = pair_metrics(
            rewards[:, 0].tolist(),
            rewards[:, 1].tolist(),
            info[:, 0].tolist(),
            info[:, 1].tolist(),
            info[:, 2].tolist(),
            similar_length_ratio=similar_length_ratio,
            sources=[sources[int(i)] for i in info[:, 3]],
        )
        return {k: v for k, v in metrics.items() if not math.isnan(v)}

    return compute


def adapter_base_name(base_model: str) -> str:
    """What the saved adapter names as its base: a model id as is, a folder as an absolute path."""
    if base_model in MODELS:
        return base_model
    path = Path(base_model).expanduser()
    return str(path.resolve()) if path.exists() else base_model


def build_model(config: RMConfig, tokenizer: Any) -> Any:
    """``AutoModelForSequenceClassification`` (one output) on the base; LoRA unless ``use_lora`` is off."""
    import torch
    from transformers import AutoModelForSequenceClassification

    path = resolve_checkpoint(config.base_model)
    if (Path(path) / "adapter_config.json").is_file():
        raise DataError(
            f"{config.base_model} is an adapter; merge it into its base first (load it, merge_and_unload, "
            "save_pretrained) and give that folder as --base_model"
        )
    with quiet_load_report():  # it would name the new score head and the unused lm_head
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    if not config.use_lora:
        return model
    from peft import LoraConfig, TaskType, get_peft_model

    targets = config.lora_target_modules
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets[0] if targets == ["all-linear"] else targets,
        exclude_modules=["score"] if targets == ["all-linear"] else None,
        modules_to_save=["score"],
        layers_to_transform=top_layers(model, config.lora_layers),
    )
    with peft_wrapping():
        return get_peft_model(model, lora)


def top_layers(model: Any, count: int) -> list[int] | None:
    """Indices of the top ``count`` transformer layers (None for all)."""
    total = getattr(model.config, "num_hidden_layers", None)
    if count <= 0 or not total or count >= total:
        return None
    return list(range(total - count, total))


def train_reward(config: RMConfig) -> dict[str, float]:
    """Train (or resume) and save the reward model in ``config.output_dir``; returns the final metrics."""
    import torch
    from transformers import TrainingArguments, set_seed

    set_seed(config.seed)
    rows = load_rows(config)
    train_rows, eval_rows = split_by_question(rows, config.eval_fraction)
    if not train_rows:
        raise DataError(f"all {len(rows)} pairs were held out; lower --eval_fraction")
    train_rows = cap_per_source(train_rows, config.max_pairs_per_source, config.seed)
    eval_rows = cap_per_source(eval_rows, config.max_eval_pairs, config.seed)
    tokenizer = load_tokenizer(resolve_checkpoint(config.base_model))
    sources: list[str] = []
    train_set = PairDataset(train_rows, tokenizer, config.max_length, sources)
    eval_set = PairDataset(eval_rows, tokenizer, config.max_length, sources) if eval_rows else None
    model = build_model(config, tokenizer)
    output = Path(config.output_dir)
    save_run_config(
        config,
        output,
        stage="reward",
        train_pairs=len(train_set),
        eval_pairs=len(eval_set) if eval_set else 0,
        sources=sorted(sources),
    )
    args = TrainingArguments(
        output_dir=str(output),
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        eval_strategy="steps" if eval_set else "no",
        eval_steps=config.eval_steps,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        bf16=config.bf16,
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        remove_unused_columns=False,
        label_names=["pair_info"],
        dataloader_num_workers=config.dataloader_num_workers,
        report_to="none",
        ddp_backend=ddp_backend(),
        include_num_input_tokens_seen="non_padding",  # logs train_tokens_per_second
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
    )
    clock = StepClock()
    trainer = PairwiseRewardTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=PairCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        compute_metrics=metrics_function(sources, config.similar_length_ratio),
        callbacks=[MetricsLog(output, "reward model"), clock],
    )
    resume = last_checkpoint(output) if config.resume else None
    if resume:
        logger.warning("resuming from %s", resume)
    result = train_or_restore(trainer, resume, config.max_steps)
    if result is None:  # a finished run: its training figures stay as the run wrote them
        train_metrics: dict[str, Any] = peak_memory()
    else:
        train_metrics = {**result.metrics, **peak_memory()}
        runtime, tokens = result.metrics.get("train_runtime"), tokens_this_run(trainer, resume)
        throughput = tokens / runtime if tokens and runtime else None
        train_metrics["tokens_per_second"] = throughput
        train_metrics["mfu"] = trainer_mfu(trainer, throughput)
        train_metrics.update(clock.figures(trainer))
        trainer.save_metrics("train", train_metrics)
    trainer.save_model(str(output))
    name_adapter_base(output, adapter_base_name(config.base_model))
    metrics = {k if k.startswith("train") else f"train_{k}": v for k, v in train_metrics.items()}
    if eval_set is not None:
        evaluations = [h for h in trainer.state.log_history if "eval_loss" in h]
        if evaluations and evaluations[-1].get("step") == trainer.state.global_step:
            final = {k: v for k, v in evaluations[-1].items() if k.startswith("eval_")}  # just evaluated
        else:
            final = trainer.evaluate()
        trainer.save_metrics("eval", final)
        metrics.update(final)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """``webgpt train rm [--config PRESET.yaml] [--FIELD VALUE ...]``: parse, train, print the metrics."""
    import json

    from trl import TrlParser

    summary = (__doc__ or "").split("\n\n")[0]
    presets = "--config PRESET.yaml sets any of these flags from a YAML file; flags given override it."
    parser = TrlParser(
        dataclass_types=[RMConfig], prog="webgpt train rm", description=summary, epilog=presets
    )
    (config,) = parser.parse_args_and_config(_merge_repeated(list(argv) if argv is not None else None))
    try:
        metrics = train_reward(config)
    except DataError as error:
        print(f"Error: {error}")
        return 2
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}, indent=1))
    return 0


def _merge_repeated(
    argv: list[str] | None, flags: tuple[str, ...] = ("--data", "--automatic")
) -> list[str] | None:
    """``--data a --data b`` → ``--data a b`` (argparse keeps only the last of a repeated list flag)."""
    if argv is None:
        return None
    out: list[str] = []
    values: dict[str, list[str]] = {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        name, eq, inline = arg.partition("=")
        if name in flags:
            collected = values.setdefault(name, [])
            if eq:
                collected.append(inline)
            index += 1
            while index < len(argv) and not argv[index].startswith("--"):
                collected.append(argv[index])
                index += 1
            continue
        out.append(arg)
        index += 1
    for name, collected in values.items():
        out += [name, *collected]
    return out


if __name__ == "__main__":  # accelerate launch [--cpu --num_processes 2] -m training.reward --config ...
    raise SystemExit(main())
