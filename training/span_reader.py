"""``webgpt train reader``: fine-tune the span reader (``agent/span_reader.py``) on a question split.

For each question with gold answers: search it, open the top ``--pages`` results and take every
sentence that shares a word with the question (what scheduled browsing weighs before quoting). A
sentence holding a gold answer teaches the span of its first occurrence; ``--negatives`` as many
sentences without one teach the empty span. MiniLM gets a LoRA adapter and a start/end head, trained
with cross-entropy on the start and end tokens. The split's first ``--held_out`` questions are kept
out: on their sentences that hold a gold answer the report counts how often the reader's span holds
it, and on three times as many others how often it would lead anyway (margin at least the threshold).

    webgpt train reader --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --held_out 320

A checkpoint answers with it when its ``webgpt.json`` has ``"lead_reader": "<this folder>"``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.models import peft_wrapping
from agent.span_reader import (
    DEFAULT_THRESHOLD,
    READER_SETTINGS,
    SpanReader,
    encode_pairs,
    load_base,
)
from browser_env.search.dense import MODEL_NAME
from training.answer_metrics import normalize_answer

REPORT_NEGATIVES = 3.0  # held-out sentences without a gold answer per one with it, in the report


@dataclass(frozen=True)
class ReaderRow:
    """One sentence to read: the gold answer's character span in ``sentence``, or None."""

    question: str
    golds: tuple[str, ...]
    title: str
    sentence: str
    span: tuple[int, int] | None


def gold_span(text: str, golds: Sequence[str]) -> tuple[int, int] | None:
    """Character offsets of the earliest gold answer in ``text``, matched as whole words, case and
    punctuation between words ignored (the SQuAD normalisation's words, articles dropped)."""
    best: tuple[int, int] | None = None
    for gold in golds:
        words = normalize_answer(gold).split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"[\W_]+".join(re.escape(word) for word in words) + r"(?!\w)"
        found = re.search(pattern, text, re.IGNORECASE)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), found.end())
    return best


def collect_rows(questions: Sequence[Any], corpus: Any, pages: int, log_every: int = 200) -> list[ReaderRow]:
    from training.sentence_ranker import page_candidates

    env = corpus.make_env()
    rows: list[ReaderRow] = []
    started = time.perf_counter()
    for done, question in enumerate(questions, 1):
        for title, sentence in page_candidates(question.question, env, corpus.fetcher, pages):
            golds = tuple(question.gold_answers)
            rows.append(ReaderRow(question.question, golds, title, sentence, gold_span(sentence, golds)))
        if done % log_every == 0:
            seconds = time.perf_counter() - started
            print(f"read {done}/{len(questions)} questions, {seconds:.0f} s", flush=True)
    return rows


def training_rows(rows: Sequence[ReaderRow], negatives: float, seed: int) -> list[ReaderRow]:
    """Every row holding a gold answer and ``negatives`` times as many without one, shuffled."""
    rng = random.Random(seed)
    positive = [row for row in rows if row.span]
    negative = [row for row in rows if not row.span]
    chosen = positive + rng.sample(negative, min(len(negative), round(len(positive) * negatives)))
    rng.shuffle(chosen)
    return chosen


def encode_batch(tokenizer: Any, rows: Sequence[ReaderRow]) -> tuple[Any, Any, Any]:
    """Model inputs and the start and end token of each row's span (0, the ``[CLS]`` token, for none, or
    when truncation cut the span off)."""
    import torch

    passages = [(row.title, row.sentence) for row in rows]
    encoded, offsets, contexts = encode_pairs(tokenizer, [row.question for row in rows], passages)
    starts, ends = [], []
    for i, (row, (_, shift)) in enumerate(zip(rows, contexts, strict=True)):
        start = end = 0
        if row.span:
            begin, finish = row.span[0] + shift, row.span[1] + shift
            for j, sequence in enumerate(encoded.sequence_ids(i)):
                low, high = offsets[i][j]
                if sequence != 1 or high <= low:
                    continue
                if not start and high > begin:
                    start = j
                if low < finish:
                    end = j
            if not start or end < start:
                start = end = 0
        starts.append(start)
        ends.append(end)
    return encoded, torch.tensor(starts), torch.tensor(ends)


def with_adapter(model: Any, rank: int, seed: int) -> Any:
    """A LoRA adapter on every linear layer of the encoder; the start/end head trains in full."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.05,
        target_modules=["query", "key", "value", "dense"],
        modules_to_save=["qa_outputs"],
    )
    with peft_wrapping():
        return get_peft_model(model, config)


def train_reader(
    model: Any,
    tokenizer: Any,
    rows: Sequence[ReaderRow],
    *,
    epochs: float = 2.0,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    max_steps: int | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> list[float]:
    """AdamW with linear warm-up and decay over the rows; returns the loss of every step."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    batches = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    total = max_steps or max(1, round(epochs * len(batches)))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, min(50, total // 10), total)
    model.train()
    losses: list[float] = []
    for step in range(total):
        encoded, starts, ends = encode_batch(tokenizer, batches[step % len(batches)])
        loss = model(**encoded, start_positions=starts, end_positions=ends).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        if on_step:
            on_step(step + 1, total, losses[-1])
    model.eval()
    return losses


def held_out_report(reader: SpanReader, rows: Sequence[ReaderRow]) -> dict[str, Any]:
    """How often the span holds a gold answer (rows holding one) and how often the reader would lead
    from a row holding none."""
    from training.answer_metrics import contains_gold

    holds = leads_wrongly = positives = 0
    for row in rows:
        span = reader.best_spans(row.question, [(row.title, row.sentence)])[0]
        if row.span:
            positives += 1
            holds += bool(span) and contains_gold(span.text, row.golds)
        else:
            leads_wrongly += bool(span) and span.margin >= reader.threshold
    return {
        "sentences_with_gold": positives,
        "span_holds_gold": holds,
        "sentences_without_gold": len(rows) - positives,
        "would_lead_without_gold": leads_wrongly,
    }


def save_reader(model: Any, path: Path, settings: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    (path / "README.md").unlink(missing_ok=True)  # peft's blank model card; the weights card says it all
    adapter = path / "adapter_config.json"
    config = json.loads(adapter.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = settings.get("base") or MODEL_NAME  # not this machine's path
    adapter.write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    (path / READER_SETTINGS).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from training.common import add_question_flags, held_out_split

    parser = argparse.ArgumentParser(prog="webgpt train reader", description=__doc__.split("\n\n")[0])
    add_question_flags(parser)
    parser.add_argument("--limit", type=int, default=None, help="At most this many questions to fit on.")
    parser.add_argument("--pages", type=int, default=3, help="Results read per question.")
    parser.add_argument(
        "--negatives", type=float, default=1.0, help="Sentences without a gold answer per sentence with one."
    )
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--max_steps", type=int, default=None, help="Stop after this many steps.")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--lora_r", type=int, default=16)
    parser.add_argument(
        "--base", default=None, help="A BERT checkpoint folder to start from (default: the packaged MiniLM)."
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", type=Path, default=Path("runs/reader"))
    args = parser.parse_args(argv)

    head, rest, corpus = held_out_split(args)
    rest = rest[: args.limit] if args.limit else rest
    held, fit_rows = collect_rows(head, corpus, args.pages), collect_rows(rest, corpus, args.pages)
    rows = training_rows(fit_rows, args.negatives, args.seed)
    if not any(row.span is not None for row in rows):
        raise SystemExit("no sentence of the results holds a gold answer: too few to train a reader")
    base, tokenizer = load_base(args.base)
    model = with_adapter(base, args.lora_r, args.seed)
    started = time.perf_counter()

    def progress(step: int, total: int, loss: float) -> None:
        if step % 25 == 0 or step == total:
            print(f"step {step}/{total} loss {loss:.3f} {time.perf_counter() - started:.0f} s", flush=True)

    losses = train_reader(
        model,
        tokenizer,
        rows,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_steps=args.max_steps,
        on_step=progress,
    )
    reader = SpanReader(model, tokenizer, args.threshold)
    report = {
        "fit_questions": len(rest),
        "fit_rows": len(rows),
        "fit_rows_with_gold": sum(row.span is not None for row in rows),
        "steps": len(losses),
        "first_loss": losses[0],
        "last_loss": sum(losses[-10:]) / len(losses[-10:]),
        "seconds": round(time.perf_counter() - started),
        "held_out": held_out_report(reader, training_rows(held, REPORT_NEGATIVES, args.seed)),
    }
    save_reader(model, args.output_dir, {"threshold": args.threshold, "base": args.base, "report": report})
    print(json.dumps(report, indent=1))
    return 0
