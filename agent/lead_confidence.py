"""How sure the answer model is of what a sentence answers: scheduled browsing's second say on which
sentence to quote.

For each candidate (page title, sentence), the answer model writes, greedily and in one batch, the lead
of an answer that quotes that sentence alone: the words before its first citation ("Herman Melville"
of "Herman Melville [1]. According to …"). The score is the lowest log-probability among the lead's
tokens, so one unsure word makes the whole lead unsure. Skimming (``ScheduleConfig.pages_to_read``)
adds it, weighted, to the sentence ranker's score of each page's best sentences: a sentence the ranker
likes but from which the model can only guess an answer loses to one it reads an answer from.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.answer import ModelAnswerer
from demonstrations.schemas import QuoteRecord

UNSURE = -30.0  # the score of a sentence from which the model writes nothing at all


@dataclass
class LeadConfidence:
    """``score(question, [(title, sentence)])``: the lowest token log-probability of the greedy lead the
    answer model writes from each sentence (higher is surer; at most 0)."""

    answerer: ModelAnswerer
    max_lead_tokens: int = 14
    threshold: float = UNSURE

    def score(self, question: str, passages: list[tuple[str, str]]) -> list[float]:
        if not passages:
            return []
        engine = self.answerer.engine
        prompts = [
            self.answerer.prompt_ids(question, [QuoteRecord(url="", title=title, domain="", text=text)])
            for title, text in passages
        ]
        outputs = engine.generate_batch(
            prompts,
            max_new_tokens=self.max_lead_tokens,
            temperature=0.0,
            stop_at_newline=False,
            stop=lambda _, text: "[" in text,
            repetition_penalty=self.answerer.repetition_penalty,
        )
        leads = [self._lead(rows[0]) for rows in outputs]
        written = [k for k, lead in enumerate(leads) if lead]
        scores = [UNSURE] * len(passages)
        if written:
            logprobs = engine.score_tokens([prompts[k] for k in written], [leads[k] for k in written])
            for k, row in zip(written, logprobs, strict=True):
                scores[k] = max(UNSURE, min(row))
        return scores

    def _lead(self, tokens: list[int]) -> list[int]:
        """The tokens before the one that opens the first citation (the first token when the answer opens
        with one: the model's confidence that there is no lead)."""
        decode = self.answerer.engine.decode
        cut = next((k for k in range(len(tokens)) if "[" in decode(tokens[: k + 1])), len(tokens))
        return tokens[:cut] or tokens[:1]
