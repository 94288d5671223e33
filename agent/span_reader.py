"""A span reader: which words of a quote answer the question, to start the answer with.

The answer model copies the right quote well but often starts its answer with the wrong words. The
reader is all-MiniLM-L6-v2 (the encoder dense search uses) with a LoRA adapter and a start/end head,
fine-tuned by ``webgpt train reader`` on the training split: sentences of the top search results, the
first occurrence of a gold answer as the span, and sentences holding none with the empty span (the
``[CLS]`` token). ``best_spans`` gives each quote's best span and its margin over the empty span;
``ModelAnswerer`` starts the answer with the best span when its margin reaches ``threshold``, and the
language model writes the rest. A checkpoint uses one when its ``webgpt.json`` names the reader's folder
(``lead_reader``). None is shipped: on the training split's dev questions the shipped model's own lead
was right more often (docs/training.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.models import peft_wrapping, quiet_load_report

READER_SETTINGS = "reader.json"
DEFAULT_THRESHOLD = 0.0  # margin over the empty span, in logits
MAX_SPAN_TOKENS = 12
MAX_TOKENS = 192


@dataclass(frozen=True)
class Span:
    """The best span of one passage: its text, where it starts in the passage, and its margin."""

    text: str
    start: int
    margin: float


def context_text(title: str, text: str) -> tuple[str, int]:
    """What the reader reads for a quote (``title: text``) and where ``text`` starts in it."""
    return (f"{title}: {text}", len(title) + 2) if title else (text, 0)


def encode_pairs(
    tokenizer: Any, questions: Sequence[str], passages: Sequence[tuple[str, str]]
) -> tuple[Any, list[list[list[int]]], list[tuple[str, int]]]:
    """The reader's inputs for each (question, ``(title, text)``) pair, padded into one batch: the
    tensors, each token's character offsets in its context, and each context (``context_text``)."""
    contexts = [context_text(title, text) for title, text in passages]
    encoded = tokenizer(
        list(questions),
        [context for context, _ in contexts],
        truncation="only_second",
        max_length=MAX_TOKENS,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    return encoded, encoded.pop("offset_mapping").tolist(), contexts


def load_base(base: str | None = None, device: str = "cpu") -> tuple[Any, Any]:
    """``base`` (a BERT checkpoint folder; default the packaged MiniLM) with its start/end head, freshly
    initialised when the checkpoint has none, and its tokenizer."""
    from transformers import AutoTokenizer, BertForQuestionAnswering

    from browser_env.search.dense import model_path

    source = base or str(model_path())
    with quiet_load_report():  # the head is new by design
        model = BertForQuestionAnswering.from_pretrained(source)
    return model.to(device), AutoTokenizer.from_pretrained(source)


class SpanReader:
    """The best span of each passage, by a question-answering head over MiniLM (module docstring)."""

    def __init__(self, model: Any, tokenizer: Any, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.threshold = threshold

    @classmethod
    def load(cls, path: Path) -> SpanReader:
        """The adapter in ``path`` on its base (``reader.json``'s ``base``, default the packaged MiniLM); a
        clear error when it is missing or broken."""
        from peft import PeftModel

        path = Path(path)
        try:
            settings = json.loads((path / READER_SETTINGS).read_text(encoding="utf-8"))
            threshold = float(settings.get("threshold", DEFAULT_THRESHOLD))
            base, tokenizer = load_base(settings.get("base"))
            with peft_wrapping():
                model = PeftModel.from_pretrained(base, str(path))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise ValueError(f"{path}: not a span reader ({error})") from error
        return cls(model, tokenizer, threshold)

    def best_spans(self, question: str, passages: Sequence[tuple[str, str]]) -> list[Span | None]:
        """For each ``(title, text)``, the best span inside ``text`` (never the title), or None when the
        passage has no words the reader can point at."""
        import torch

        if not passages:
            return []
        encoded, offsets, contexts = encode_pairs(self.tokenizer, [question] * len(passages), passages)
        with torch.no_grad():
            output = self.model(**encoded.to(self.model.device))
        spans: list[Span | None] = []
        for i, (context, text_start) in enumerate(contexts):
            tokens = [
                j
                for j, sequence in enumerate(encoded.sequence_ids(i))
                if sequence == 1 and offsets[i][j][0] >= text_start and offsets[i][j][1] > offsets[i][j][0]
            ]
            spans.append(
                _best_span(
                    output.start_logits[i].float(),
                    output.end_logits[i].float(),
                    tokens,
                    offsets[i],
                    context,
                    text_start,
                )
            )
        return spans

    def lead(self, question: str, passages: Sequence[tuple[str, str]]) -> tuple[str, int] | None:
        """The span to start the answer with and its passage's number (from 1), when the best margin over
        all passages reaches ``threshold``."""
        scored = [(span, n) for n, span in enumerate(self.best_spans(question, passages), 1) if span]
        if not scored:
            return None
        span, n = max(scored, key=lambda pair: pair[0].margin)
        return (span.text, n) if span.margin >= self.threshold else None


def _best_span(
    start_logits: Any, end_logits: Any, tokens: list[int], offsets: list[list[int]], context: str, shift: int
) -> Span | None:
    """The highest start + end logit pair among ``tokens`` (end not before start, at most
    ``MAX_SPAN_TOKENS`` long), with its margin over the empty span (both at token 0)."""
    import torch

    if not tokens:
        return None
    scores = start_logits[tokens][:, None] + end_logits[tokens][None, :]
    width = len(tokens)
    allowed = torch.ones(width, width, dtype=torch.bool).triu().tril(MAX_SPAN_TOKENS - 1)  # 0 <= b - a < max
    scores = scores.masked_fill(~allowed, float("-inf"))
    best = int(scores.argmax())
    a, b = divmod(best, width)
    begin, end = offsets[tokens[a]][0], offsets[tokens[b]][1]
    margin = float(scores[a, b] - (start_logits[0] + end_logits[0]))
    return Span(context[begin:end], begin - shift, margin)
