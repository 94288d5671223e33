"""What every training stage shares: the run folder (resolved config, seed, metrics log, loss curves as
PNG), resuming from the last checkpoint, and loading a base model with or without LoRA."""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from transformers import TrainerCallback

RUN_CONFIG = "run_config.json"
METRICS = "metrics.jsonl"
LOSS_PLOT = "loss.png"


def save_run_config(config: Any, output_dir: str | Path, **extra: Any) -> Path:
    """Write the resolved configuration (every field, defaults included) and the environment to
    ``run_config.json`` in the run folder, so that a run can be reproduced and compared."""
    import torch
    import transformers
    import trl

    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    values = asdict(config) if is_dataclass(config) else dict(vars(config))
    record = {
        "config": {k: v for k, v in values.items() if _jsonable(v)},
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
        },
        **extra,
    }
    path = folder / RUN_CONFIG
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, default=str)
    except (TypeError, ValueError):
        return False
    return True


def name_adapter_base(folder: str | Path, base: str) -> None:
    """Make a saved LoRA adapter in ``folder`` name its base as ``base`` (how the user named it, so the
    folder stays portable). Training keeps the path it loaded the base from, where PEFT finds the
    base's config whenever it saves; the name is set once the final adapter is written."""
    adapter = Path(folder) / "adapter_config.json"
    if adapter.is_file():
        settings = json.loads(adapter.read_text(encoding="utf-8"))
        settings["base_model_name_or_path"] = base
        adapter.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def ddp_backend() -> str | None:
    """``gloo`` when several processes train without a GPU (``torchrun --nproc_per_node 2``), else the
    trainer's own choice."""
    import os

    import torch

    several = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return "gloo" if several and not torch.cuda.is_available() else None


def last_checkpoint(output_dir: str | Path) -> str | None:
    """The newest ``checkpoint-N`` folder of an interrupted run (to resume from), or None."""
    from transformers.trainer_utils import get_last_checkpoint

    folder = Path(output_dir)
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def checkpoint_state(checkpoint: str | None) -> dict[str, Any]:
    """The trainer's state saved in ``checkpoint`` (empty without one)."""
    state = Path(checkpoint) / "trainer_state.json" if checkpoint else None
    return json.loads(state.read_text(encoding="utf-8")) if state is not None and state.is_file() else {}


def already_finished(checkpoint: str | None, max_steps: int) -> bool:
    """Whether ``checkpoint`` holds the last of a run's ``max_steps`` steps. The trainer checks its step
    budget only after a step, so resuming from it would train one step more than asked."""
    return max_steps > 0 and int(checkpoint_state(checkpoint).get("global_step") or 0) >= max_steps


def restore_finished(trainer: Any, checkpoint: str) -> None:
    """Load a finished run's last checkpoint into ``trainer`` (its weights, LoRA or full, and its state)
    instead of training on: what ``trainer.train`` would have resumed from, without the extra step."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import TrainerState

    folder = Path(checkpoint)
    adapter, full = folder / "adapter_model.safetensors", folder / "model.safetensors"
    if adapter.is_file():
        set_peft_model_state_dict(trainer.model, load_file(str(adapter)))
    elif full.is_file():
        trainer.model.load_state_dict(load_file(str(full)), strict=False)
    else:
        raise FileNotFoundError(f"{folder} holds no weights to resume from")
    trainer.state = TrainerState.load_from_json(str(folder / "trainer_state.json"))


def train_or_restore(trainer: Any, resume: str | None, max_steps: int) -> Any:
    """``trainer.train`` resumed from ``resume`` (its ``TrainOutput``), or None for a run that checkpoint
    already finished, whose weights and state are loaded instead of training a step past ``max_steps``."""
    if resume and already_finished(resume, max_steps):
        restore_finished(trainer, resume)
        return None
    return trainer.train(resume_from_checkpoint=resume)


def tokens_this_run(trainer: Any, resumed_from: str | None) -> int:
    """The input tokens ``trainer`` trained on in this process: all it has seen, less what the checkpoint
    it resumed from had (a resumed run's rate counts only its own part; a finished run resumed, none)."""
    seen = int(trainer.state.num_input_tokens_seen or 0)
    return seen - int(checkpoint_state(resumed_from).get("num_input_tokens_seen") or 0)


class MetricsLog(TrainerCallback):
    """Appends every log line of the trainer to ``metrics.jsonl`` and redraws ``loss.png`` (training
    loss, evaluation loss and any evaluation accuracies against the step) as training goes."""

    def __init__(self, output_dir: str | Path, title: str, plot_every: int = 1) -> None:
        self.folder = Path(output_dir)
        self.title = title
        self.plot_every = max(1, plot_every)
        self._logs = 0

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if not logs or not state.is_world_process_zero:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        row = {"step": state.global_step, "epoch": state.epoch, **logs}
        with (self.folder / METRICS).open("a", encoding="utf-8") as out:
            out.write(json.dumps(row, default=float) + "\n")
        self._logs += 1
        if self._logs % self.plot_every == 0:
            plot_metrics(self.folder / METRICS, self.folder / LOSS_PLOT, self.title)

    def on_train_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if state.is_world_process_zero and (self.folder / METRICS).is_file():
            plot_metrics(self.folder / METRICS, self.folder / LOSS_PLOT, self.title)


class StepClock(TrainerCallback):
    """The trainer's tokens per second once warm: the tokens of its steps after the first quarter (at
    least the first step) over the time spent inside those steps, so that start-up, the first steps'
    kernel choices and allocations, and evaluations and checkpoints between steps do not count. None for
    fewer than 3 steps."""

    def __init__(self) -> None:
        self.began = 0.0
        self.marks: list[tuple[float, int]] = []  # each step's seconds, the tokens seen at its end

    def on_step_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        self.began = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the step's kernels done, not only queued
        self.marks.append((time.perf_counter() - self.began, int(state.num_input_tokens_seen or 0)))

    def tokens_per_second(self) -> float | None:
        if len(self.marks) < 3:
            return None
        warm = max(1, len(self.marks) // 4)
        seconds = sum(step for step, _ in self.marks[warm:])
        tokens = self.marks[-1][1] - self.marks[warm - 1][1]
        return round(tokens / seconds, 1) if seconds > 0 and tokens > 0 else None

    def figures(self, trainer: Any) -> dict[str, float | None]:
        """``steady_tokens_per_second`` and ``steady_mfu`` of ``trainer``'s run."""
        rate = self.tokens_per_second()
        return {"steady_tokens_per_second": rate, "steady_mfu": trainer_mfu(trainer, rate)}


class PaddingCount:
    """A data collator's wrapper that counts the tokens of the batches it makes, and how many of them are
    padding (``attention_mask`` 0): what batching rows of similar length saves."""

    def __init__(self, collate: Callable[[list[Any]], Any]) -> None:
        self.collate = collate
        self.tokens = 0
        self.padding = 0

    def __call__(self, examples: list[Any]) -> Any:
        batch = self.collate(examples)
        ids, mask = batch["input_ids"], batch.get("attention_mask")
        self.tokens += int(ids.numel())
        self.padding += int(ids.numel() - mask.sum()) if mask is not None else 0
        return batch

    def share(self) -> float | None:
        """The share of the counted tokens that were padding; None before any batch."""
        return round(self.padding / self.tokens, 4) if self.tokens else None

    @classmethod
    def of_training(cls, trainer: Any) -> PaddingCount:
        """A count of ``trainer``'s training batches (not its evaluation batches): its training data
        loader is made with the collator wrapped."""
        make_loader = trainer.get_train_dataloader
        count = cls(trainer.data_collator)

        def counted_loader(*args: Any, **kwargs: Any) -> Any:
            collate = trainer.data_collator
            trainer.data_collator = count
            try:
                return make_loader(*args, **kwargs)
            finally:
                trainer.data_collator = collate

        trainer.get_train_dataloader = counted_loader
        return count


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    file = Path(path)
    if not file.is_file():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_metrics(metrics: str | Path, out: str | Path, title: str) -> Path | None:
    """Loss curves (and evaluation accuracies, on a second axis) from ``metrics.jsonl`` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics)
    series: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key in ("step", "epoch") or not isinstance(value, int | float) or isinstance(value, bool):
                continue
            wanted = ("loss" in key and "runtime" not in key) or "accuracy" in key
            if wanted and math.isfinite(value):
                series.setdefault(key, []).append((int(row["step"]), float(value)))
    if not series:
        return None
    figure, loss_axis = plt.subplots(figsize=(7, 4), dpi=100)
    accuracy_axis = None
    for key, points in sorted(series.items()):
        steps, values = zip(*points, strict=True)
        if "accuracy" in key:
            accuracy_axis = accuracy_axis or loss_axis.twinx()
            accuracy_axis.plot(steps, values, "--", marker=".", label=key)
        else:
            loss_axis.plot(steps, values, marker="." if len(points) < 50 else None, label=key)
    loss_axis.set_xlabel("step")
    loss_axis.set_ylabel("loss")
    loss_axis.set_title(title)
    handles, labels = loss_axis.get_legend_handles_labels()
    if accuracy_axis is not None:
        accuracy_axis.set_ylabel("accuracy")
        more_handles, more_labels = accuracy_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    loss_axis.legend(handles, labels, loc="best", fontsize="small")
    figure.tight_layout()
    path = Path(out)
    figure.savefig(path)
    plt.close(figure)
    return path


def add_question_flags(parser: argparse.ArgumentParser) -> None:
    """``--questions``, ``--corpus``, ``--split`` and ``--held_out``: what a fit on search results reads,
    and the split's first questions it keeps out (``held_out_split``)."""
    parser.add_argument(
        "--questions", type=Path, required=True, help="NQ-open JSONL (or any set load_questions reads)."
    )
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--split", default="train", choices=("train", "test", "all"))
    parser.add_argument(
        "--held_out", type=int, default=160, help="The split's first questions, kept out of the fit."
    )


def question_file(path: str) -> Path:
    """The ``--questions`` file, or a clear error when none was given."""
    if not path.strip():
        raise ValueError(
            "give --questions: an NQ-open JSONL, TruthfulQA CSV or HotpotQA JSON file "
            "(for example ../shared/data/qa/nq_open_dev.jsonl)"
        )
    return Path(path)


def split_questions(path: str | Path, split: str) -> list[Any]:
    """The questions of ``path`` (``question_file``) in ``split`` (train, test or all) that have gold
    answers."""
    from demonstrations.imports import load_questions
    from demonstrations.splits import select

    loaded = load_questions(question_file(str(path)))
    return [q for q in select(loaded, split) if q.gold_answers]  # type: ignore[arg-type]


def write_fitted(path: Path, fitted: dict[str, Any], report: dict[str, Any]) -> None:
    """Write a fitted scorer's JSON to ``path`` and its fit's report beside it (``.report.json``), and
    print the report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fitted, indent=1) + "\n", encoding="utf-8")
    path.with_suffix(".report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))


def held_out_split(args: argparse.Namespace) -> tuple[list[Any], list[Any], Any]:
    """The split's questions with gold answers, as (the first ``held_out``, the rest), and the corpus."""
    from browser_env.corpus import ensure_default_corpus, open_corpus

    questions = split_questions(args.questions, args.split)
    corpus = ensure_default_corpus() if args.corpus == "default" else open_corpus(args.corpus)
    return questions[: args.held_out], questions[args.held_out :], corpus


def reachable_hint(corpus: str = "CORPUS", questions: str | None = None, split: str = "all") -> str:
    """The command that writes (or completes) a reachable cache."""
    flags = f" --questions {questions}" if questions else ""
    return f"python bench/teacher.py --corpus {corpus}{flags} --split {split}"


def load_reachable(path: str | Path) -> dict[str, bool]:
    """The reachable cache ``bench/teacher.py`` writes: question → whether BM25 ranks a passage holding
    a gold answer in its top 20."""
    try:
        cache = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such reachable cache; write one with: {reachable_hint()}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a reachable cache written by bench/teacher.py ({error})") from None
    if not isinstance(cache, dict):
        raise ValueError(f"{path}: not a reachable cache written by bench/teacher.py (not an object)")
    return cache


class _Asked(Protocol):
    @property
    def question(self) -> str: ...


Q = TypeVar("Q", bound=_Asked)


def reachable_only(questions: Sequence[Q], path: str | Path) -> list[Q]:
    """The ``questions`` (each with a ``question``) that the reachable cache at ``path`` marks reachable."""
    reachable = load_reachable(path)
    return [q for q in questions if reachable.get(q.question)]


# Dense bf16 tensor-core peaks (FLOP/s) of the GPUs these trainings are expected on, by name fragment.
PEAK_BF16_FLOPS = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "A10G": 125e12,
    "L4": 121e12,
}


def model_flops_utilisation(
    parameters: int, tokens_per_second: float | None, device_name: str | None, devices: int = 1
) -> float | None:
    """The share of the GPUs' peak bf16 FLOP/s a training reached, counting 6 FLOPs per parameter per
    token (forward and backward, as PaLM's MFU does; a LoRA's frozen weights still cost the forward and
    the backward through activations, so this slightly overstates LoRA's work). None off a GPU this
    table knows, or without a throughput."""
    peak = next((v for k, v in PEAK_BF16_FLOPS.items() if device_name and k in device_name), None)
    if peak is None or not tokens_per_second or parameters <= 0:
        return None
    return round(6 * parameters * tokens_per_second / (peak * devices), 4)


def trainer_mfu(trainer: Any, tokens_per_second: float | None) -> float | None:
    """``model_flops_utilisation`` of a ``transformers.Trainer``'s model at ``tokens_per_second``, on this
    machine's GPU, over the trainer's processes."""
    parameters = sum(p.numel() for p in trainer.model.parameters())
    return model_flops_utilisation(parameters, tokens_per_second, gpu_name(), trainer.args.world_size)


def gpu_name() -> str | None:
    """The first CUDA device's name, or None without one."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def peak_memory() -> dict[str, float]:
    """Peak resident memory of this process and, on a GPU, peak allocated GPU memory (MiB)."""
    import resource

    import torch

    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available():
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out
