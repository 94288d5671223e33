"""Behaviour cloning: fine-tune the policy on demonstrations with TRL's ``SFTTrainer``.

    webgpt train bc --data bc.jsonl --output_dir runs/bc                    # LoRA on smollm2-135m
    webgpt train bc --config training/presets/bc-smollm2-cpu.yaml          # the shipped recipe
    webgpt train bc --config ... --base_model HuggingFaceTB/SmolLM2-1.7B-Instruct --bf16 true   # a GPU

The data is a behaviour-cloning export (``webgpt demos export bc``: TRL's ``prompt``/``completion``
columns, one row per browsing step and per answer), or an episode store (``.sqlite``) read directly.
Each row becomes exactly what the agent shows the model at inference (docs/checkpoints.md): in the
``chat`` format the browsing conversation (system instruction with the action help, the observation
shortened to fit as ``agent.prompts.fit_observation`` does) or the answering conversation, and the
command or answer as the assistant turn; the loss is on the completion only. The run folder gets the
adapter (or the full model), the tokenizer, ``webgpt.json`` (how the agent drives it), the resolved
config, ``metrics.jsonl`` and ``loss.png``; an interrupted run resumes from its last checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import AGENT_CONFIG, MAX_QUOTED_PAGES, AgentConfig, as_mode
from demonstrations.formats import CLAUSE_WORDS

KINDS = ("browse", "answer")
# --batching: the trainer's sampling strategy for each
SAMPLING_STRATEGIES = {"random": "random", "by_length": "group_by_length", "rebalanced": "batch_rebalance"}


@dataclass
class BCConfig:
    """Behaviour cloning settings (every field is a ``webgpt train bc`` flag)."""

    data: str = field(
        default="", metadata={"help": "BC export (.jsonl or datasets folder) or store (.sqlite)."}
    )
    output_dir: str = field(default="runs/bc", metadata={"help": "Run folder: checkpoints, adapter, logs."})
    base_model: str = field(default="smollm2-135m", metadata={"help": "Model id, folder or hub id."})
    prompt_format: str | None = field(
        default=None, metadata={"help": "chat or plain (default: by tokenizer)."}
    )
    kinds: str = field(default="browse,answer", metadata={"help": "Row kinds to train on."})
    sources: str | None = field(default=None, metadata={"help": "Keep only these sources (comma list)."})
    use_lora: bool = field(default=True, metadata={"help": "LoRA adapter (else full fine-tuning)."})
    init_adapter: str | None = field(
        default=None,
        metadata={
            "help": "Go on training this LoRA adapter (a folder or id, on base_model) instead of a new one: "
            "a round of expert iteration on top of a trained policy. The lora_* settings are then its own."
        },
    )
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = field(default="all-linear", metadata={"help": "Comma list or all-linear."})
    learning_rate: float = 2e-4
    num_train_epochs: float = 1.0
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many steps (-1: the epochs)."})
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    per_device_eval_batch_size: int = field(
        default=4,
        metadata={
            "help": "Rows per evaluation batch. The held-out loss is the mean of its batches' token means, "
            "so it compares between runs evaluated at the same size, whatever their training batches."
        },
    )
    batching: str = field(
        default="random",
        metadata={
            "help": "How rows make batches: random (shuffled); by_length (rows of similar length together, "
            "so less padding, but each step sees one kind of row: fitted less well); rebalanced (each "
            "optimizer step a shuffled sample, split into micro-batches by length). With "
            "per_device_train_batch_size 1 no batch holds padding at all (docs/training.md)."
        },
    )
    warmup_steps: float = field(default=0.03, metadata={"help": "Warm-up: steps, or a share of all if < 1."})
    max_length: int = field(default=1024, metadata={"help": "Tokens per example; observations shortened."})
    eval_fraction: float = field(default=0.05, metadata={"help": "Share of episodes held out for eval."})
    eval_steps: int = 50
    logging_steps: int = 5
    save_steps: int = 50
    save_total_limit: int = 2
    seed: int = 0
    bf16: bool = False
    gradient_checkpointing: bool = False
    mode: str = field(
        default="free", metadata={"help": "How the agent drives the result: free, guided or scheduled."}
    )
    answer_max_new_tokens: int = field(
        default=160, metadata={"help": "Longest answer the trained agent writes, in tokens (webgpt.json)."}
    )
    clause_words: int = field(
        default=CLAUSE_WORDS,
        metadata={
            "help": "Words of the cited quote the trained agent repeats after its short answer, copied "
            "from the quote (webgpt.json); 0: the model writes the whole answer."
        },
    )
    quoted_pages: int = field(
        default=1,
        metadata={
            "help": "Pages whose best sentence scheduled browsing quotes for the trained agent to choose "
            "among (webgpt.json; 1 to 3)."
        },
    )
    guided_skim: bool = field(
        default=False,
        metadata={
            "help": "Guided browsing reads each page it opens to the end before the model chooses there "
            "(webgpt.json; for policies trained on the skimming teacher's decisions)."
        },
    )
    guided_compare_pages: int = field(
        default=1,
        metadata={
            "help": "Guided skimming offers Quote: once this many results are read to the end, then quotes "
            "the best sentence of them all (webgpt.json; 1: each page's best as soon as it is read)."
        },
    )
    corroboration: bool = field(
        default=False,
        metadata={
            "help": "Skimming weighs the best sentences read again by how often other results of a search "
            "for the question repeat their new words, before quoting one (webgpt.json)."
        },
    )
    answer_model: str | None = field(
        default=None,
        metadata={
            "help": "Another checkpoint that writes the trained agent's answers (webgpt.json): a folder "
            "relative to output_dir or a shipped id; for a policy trained on to browse, the policy it was "
            "trained from."
        },
    )
    max_rows: int | None = field(default=None, metadata={"help": "Use at most this many rows (quick runs)."})

    def __post_init__(self) -> None:
        kinds = [k.strip() for k in self.kinds.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"kinds must be a comma list of {', '.join(KINDS)}, not {self.kinds!r}")
        if self.prompt_format not in (None, "chat", "plain"):
            raise ValueError(f"prompt_format must be chat or plain, not {self.prompt_format!r}")
        as_mode(self.mode)
        if not 0 <= self.eval_fraction < 1:
            raise ValueError("eval_fraction must be in [0, 1)")
        if not 1 <= self.quoted_pages <= MAX_QUOTED_PAGES:
            raise ValueError(f"quoted_pages must be 1 to {MAX_QUOTED_PAGES}, not {self.quoted_pages}")
        if self.batching not in SAMPLING_STRATEGIES:
            raise ValueError(
                f"batching must be one of {', '.join(SAMPLING_STRATEGIES)}, not {self.batching!r}"
            )
        if self.init_adapter and not self.use_lora:
            raise ValueError("init_adapter continues a LoRA adapter: it needs use_lora true")


@dataclass
class BCResult:
    output_dir: Path
    train_rows: int
    eval_rows: int
    steps: int
    seconds: float
    train_loss: float | None
    eval_loss: float | None
    tokens_per_second: float | None
    peak_memory_mb: float
    peak_gpu_memory_mb: float | None = None
    mfu: float | None = None  # model FLOPs utilisation on a known GPU (training/common.py)
    steady_tokens_per_second: float | None = None  # the steps after the first quarter (StepClock)
    steady_mfu: float | None = None
    padding_share: float | None = None  # of the training batches' tokens (training.common.PaddingCount)


# Data ------------------------------------------------------------------------------------------------------
def read_rows(data: str, *, sources: set[str] | None = None) -> list[dict[str, Any]]:
    """Behaviour-cloning rows from an export (JSONL or ``datasets`` folder) or straight from a store."""
    path = Path(data).expanduser()
    if not data or not path.exists():
        raise FileNotFoundError(
            f"no behaviour-cloning data at {data!r}: export some with `webgpt demos export bc`"
        )
    if path.suffix == ".sqlite":
        from demonstrations.exports import bc_rows
        from demonstrations.store import EpisodeStore

        with EpisodeStore(path) as store:
            rows = list(bc_rows(store.iter_episodes(), sources=sources))
    elif path.is_dir():
        from datasets import load_from_disk

        rows = [dict(row) for row in load_from_disk(str(path))]
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if sources is not None:
        rows = [row for row in rows if row.get("source") in sources]
    return rows


def held_out(key: str, fraction: float) -> bool:
    """Whether the episode ``key`` belongs to the evaluation share (fixed by its hash)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


def to_example(row: dict[str, Any], tokenizer: Any, prompt_format: str, max_length: int) -> dict[str, Any]:
    """A row as the model sees it at inference: conversational prompt/completion (chat), or text (plain).
    Browsing observations are shortened to fit ``max_length`` with the completion."""
    from agent.prompts import ANSWER_INSTRUCTION, browsing_messages, fit_observation, render_messages

    completion = str(row["completion"])
    kind = row.get("kind", "browse")

    def messages_for(prompt: str) -> list[dict[str, str]]:
        if kind == "answer":
            return [{"role": "system", "content": ANSWER_INSTRUCTION}, {"role": "user", "content": prompt}]
        return browsing_messages(prompt)

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    prompt = str(row["prompt"])
    reserve = count(completion) + 16
    overhead = count(render_messages(tokenizer, messages_for(""), prompt_format, generation_prompt=True))
    budget = max_length - reserve - overhead
    if kind == "browse" and count(prompt) > budget:
        prompt = fit_observation(prompt, max(32, budget), count)
    messages = messages_for(prompt)
    if prompt_format == "chat":
        return {"prompt": messages, "completion": [{"role": "assistant", "content": completion}]}
    text = render_messages(tokenizer, messages, "plain", generation_prompt=True)
    return {"prompt": text, "completion": completion + (tokenizer.eos_token or "")}


# Training --------------------------------------------------------------------------------------------------
def train_bc(config: BCConfig) -> BCResult:
    """Run behaviour cloning as ``config`` says; resumes an interrupted run in the same ``output_dir``."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTConfig, SFTTrainer

    from agent.models import peft_wrapping, resolve_checkpoint
    from agent.prompts import default_format
    from training.common import (
        MetricsLog,
        PaddingCount,
        StepClock,
        ddp_backend,
        last_checkpoint,
        peak_memory,
        save_run_config,
        tokens_this_run,
        train_or_restore,
        trainer_mfu,
    )

    set_seed(config.seed)
    output = Path(config.output_dir)
    base_path = resolve_checkpoint(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    prompt_format = config.prompt_format or default_format(tokenizer)
    kinds = {k.strip() for k in config.kinds.split(",")}
    sources = {s.strip() for s in config.sources.split(",")} if config.sources else None
    rows = [row for row in read_rows(config.data, sources=sources) if row.get("kind", "browse") in kinds]
    if config.max_rows is not None:
        rows = rows[: config.max_rows]
    if not rows:
        raise ValueError(f"{config.data} has no rows of kinds {sorted(kinds)} to train on")
    train, evaluation = [], []
    for row in rows:
        example = to_example(row, tokenizer, prompt_format, config.max_length)
        key = str(row.get("episode_id") or row["prompt"])
        (evaluation if held_out(key, config.eval_fraction) else train).append(example)
    if not train:
        raise ValueError("every row fell in the evaluation share: lower eval_fraction or add data")

    model = AutoModelForCausalLM.from_pretrained(
        base_path, dtype=torch.bfloat16 if config.bf16 else torch.float32
    )
    peft_config = None
    if config.init_adapter:
        model = _trainable_adapter(model, config.init_adapter)
    elif config.use_lora:
        from peft import LoraConfig

        targets: str | list[str] = config.lora_target_modules
        if targets != "all-linear":
            targets = [t.strip() for t in targets.split(",") if t.strip()]
        peft_config = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=targets,
            task_type="CAUSAL_LM",
        )
    has_eval = bool(evaluation)
    args = SFTConfig(
        output_dir=str(output),
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        train_sampling_strategy=SAMPLING_STRATEGIES[config.batching],
        warmup_steps=config.warmup_steps,
        include_num_input_tokens_seen="non_padding",
        max_length=config.max_length,
        completion_only_loss=True,
        packing=False,
        logging_steps=config.logging_steps,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps if has_eval else None,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        bf16=config.bf16,
        use_cpu=not torch.cuda.is_available(),  # bf16 on a CPU needs it said
        activation_checkpointing=config.gradient_checkpointing,
        report_to=[],
        disable_tqdm=True,
        dataset_num_proc=None,
        ddp_backend=ddp_backend(),
    )
    clock = StepClock()
    with peft_wrapping():  # SFTTrainer wraps the model with PEFT (see agent.models.peft_wrapping)
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(train),
            eval_dataset=Dataset.from_list(evaluation) if has_eval else None,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[MetricsLog(output, f"Behaviour cloning: {config.base_model}"), clock],
        )
    padding = PaddingCount.of_training(trainer)
    save_run_config(
        config,
        output,
        rows={"train": len(train), "eval": len(evaluation)},
        base_path=base_path,
        world_size=trainer.args.world_size,
    )
    resume = last_checkpoint(output)
    started = time.perf_counter()
    outcome = train_or_restore(trainer, resume, config.max_steps)
    seconds = time.perf_counter() - started
    eval_loss = trainer.evaluate()["eval_loss"] if has_eval else None
    _save(trainer, tokenizer, output, config, prompt_format)
    tokens = tokens_this_run(trainer, resume)
    throughput = round(tokens / seconds, 1) if tokens > 0 and seconds else None
    memory = peak_memory()
    steady = clock.figures(trainer)
    return BCResult(
        output_dir=output,
        train_rows=len(train),
        eval_rows=len(evaluation),
        steps=trainer.state.global_step,
        seconds=round(seconds, 2),
        train_loss=outcome.training_loss if outcome and tokens > 0 else None,  # none when nothing trained
        eval_loss=eval_loss,
        tokens_per_second=throughput,
        peak_memory_mb=round(memory["peak_rss_mib"], 1),
        peak_gpu_memory_mb=round(memory["peak_gpu_mib"], 1) if "peak_gpu_mib" in memory else None,
        mfu=trainer_mfu(trainer, throughput),
        steady_tokens_per_second=steady["steady_tokens_per_second"],
        steady_mfu=steady["steady_mfu"],
        padding_share=padding.share(),
    )


def _trainable_adapter(model: Any, name: str) -> Any:
    """``model`` wrapped with the LoRA adapter ``name``, its weights trainable."""
    from peft import PeftModel

    from agent.models import peft_wrapping, resolve_checkpoint

    folder = Path(resolve_checkpoint(name))
    if not (folder / "adapter_config.json").is_file():
        raise ValueError(f"init_adapter {name!r}: {folder} holds no LoRA adapter (adapter_config.json)")
    with peft_wrapping():
        wrapped = PeftModel.from_pretrained(model, str(folder), is_trainable=True)
    for settings in wrapped.peft_config.values():  # the base as loaded here, as for a new adapter
        settings.base_model_name_or_path = model.name_or_path
    return wrapped


def _save(trainer: Any, tokenizer: Any, output: Path, config: BCConfig, prompt_format: str) -> None:
    """The final model (adapter or full weights), its tokenizer and ``webgpt.json``."""
    trainer.save_model(str(output))
    tokenizer.save_pretrained(str(output))
    from training.common import name_adapter_base

    name_adapter_base(output, config.base_model)
    agent = AgentConfig(
        mode=as_mode(config.mode),
        few_shot=False,
        prompt_format=prompt_format,
        attribute=False,
        max_prompt_tokens=config.max_length,  # observations shortened at inference as in training
        answer_max_new_tokens=config.answer_max_new_tokens,
        clause_words=config.clause_words or None,
        quoted_pages=config.quoted_pages if config.quoted_pages != 1 else None,
        guided_skim=config.guided_skim or None,
        guided_compare_pages=config.guided_compare_pages if config.guided_compare_pages != 1 else None,
        corroboration=config.corroboration or None,
        answer_model=config.answer_model,
    )
    (output / AGENT_CONFIG).write_text(json.dumps(agent.to_dict(), indent=2) + "\n", encoding="utf-8")


def _main_process() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def main(argv: list[str] | None = None) -> int:
    """``webgpt train bc``: parse flags (and ``--config``), train, print a summary line."""
    from trl import TrlParser

    try:
        (config,) = TrlParser(dataclass_types=[BCConfig]).parse_args_and_config(args=argv)
        result = train_bc(config)
    except (FileNotFoundError, ValueError) as error:
        print(f"Error: {error}")
        return 2
    if not _main_process():
        return 0
    print(
        f"trained {result.steps} steps on {result.train_rows} rows in {result.seconds} s "
        f"(train loss {result.train_loss}, eval loss {result.eval_loss}, "
        f"{result.tokens_per_second} tokens/s"
        + (f" ({result.steady_tokens_per_second} once warm)" if result.steady_tokens_per_second else "")
        + f", peak {result.peak_memory_mb} MB"
        + (f", GPU peak {result.peak_gpu_memory_mb} MB" if result.peak_gpu_memory_mb is not None else "")
        + (f", MFU {result.mfu:.1%}" if result.mfu is not None else "")
        + (f" ({result.steady_mfu:.1%} once warm)" if result.steady_mfu is not None else "")
        + (f", batches {result.padding_share:.0%} padding" if result.padding_share is not None else "")
        + f"): {result.output_dir}"
    )
    return 0


if __name__ == "__main__":  # accelerate launch [--cpu --num_processes 2] -m training.bc --config ...
    raise SystemExit(main())
