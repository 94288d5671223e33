"""The reward model: question + quotes + answer → one scalar (higher is better).

A checkpoint is a folder that ``AutoModelForSequenceClassification.from_pretrained`` loads with
``num_labels=1`` (or a PEFT adapter on such a model, or on a causal LM base), with its tokenizer. Its
input is ``demonstrations.formats.reward_input(question, quotes, answer)`` followed by the tokenizer's eos
token, exactly as TRL's RewardTrainer builds it from the exported comparisons; see
docs/checkpoints.md.

    rm = load_reward_model("path/to/reward-checkpoint")
    scores = rm.score("Who designed ...?", quotes, ["answer one [1]", "answer two [2]"])
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from agent.models import LoadedModel, load_pretrained
from demonstrations.formats import QuoteLike, reward_input


@dataclass
class RewardModel:
    loaded: LoadedModel
    max_length: int = 4096
    batch_size: int = 8
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.loaded.model_id

    def texts(self, question: str, quotes: Sequence[QuoteLike], answers: Sequence[str]) -> list[str]:
        eos = self.loaded.tokenizer.eos_token or ""
        texts = []
        for answer in answers:
            text = reward_input(question, quotes, answer)
            texts.append(text if text.endswith(eos) else text + eos)
        return texts

    def score(self, question: str, quotes: Sequence[QuoteLike], answers: Sequence[str]) -> list[float]:
        """One score per answer, all with the same question and quotes."""
        return self.score_texts(self.texts(question, quotes, answers))

    def score_many(self, items: Sequence[tuple[str, Sequence[QuoteLike], str]]) -> list[float]:
        """One score per (question, quotes, answer): candidates from different episodes in one batch."""
        return self.score_texts([self.texts(q, quotes, [a])[0] for q, quotes, a in items])

    def score_texts(self, texts: Sequence[str]) -> list[float]:
        import torch

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        started = time.perf_counter()
        scores: list[float] = []
        for offset in range(0, len(texts), self.batch_size):
            batch = list(texts[offset : offset + self.batch_size])
            # Keep the end (the answer) when an input is too long: cut from the left.
            tokenizer.truncation_side = "left"
            tokenizer.padding_side = "right"
            encoded = tokenizer(
                batch,
                add_special_tokens=False,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(model.device)
            with torch.inference_mode():
                logits = model(**encoded).logits
            scores += logits[:, 0].float().tolist()
        self.seconds += time.perf_counter() - started
        return scores


def load_reward_model(path: str, *, device: str | None = None, dtype: str | None = None) -> RewardModel:
    """A reward model checkpoint folder (or a PEFT adapter folder on one)."""
    from transformers import AutoModelForSequenceClassification

    loaded = load_pretrained(
        path, AutoModelForSequenceClassification, device=device, dtype=dtype, num_labels=1
    )
    return RewardModel(loaded)
