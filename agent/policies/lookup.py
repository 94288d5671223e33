"""Prompt-lookup decoding: draft the next tokens by copying from the context, verify them in one forward.

Cited answers copy a lot from their prompt: the source's title and an excerpt of the quote. When the
last few tokens written also occur earlier in the context, the tokens that followed them there are a
cheap guess of what comes next (``draft``). The model checks every guessed token in one forward, which
on a small model costs little more than a forward of one token. ``verify`` keeps the output exactly
what token-by-token decoding gives: greedily, a guess is kept only if it is the best-scored token;
sampling, it is kept with the probability the model gives it and, at the first refusal, the token is
drawn from the model's distribution without the refused guess (speculative sampling with a draft that
puts all its weight on one token), so every token still follows the model's distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DRAFT_TOKENS = 10
"""How many tokens a draft guesses at most."""
MAX_NGRAM = 3
"""The longest run of the context's last tokens that is looked up (the longest match is used)."""


def draft(context: Sequence[int], max_tokens: int = DRAFT_TOKENS, max_ngram: int = MAX_NGRAM) -> list[int]:
    """The tokens that followed the latest earlier occurrence of the context's last ``n`` tokens (``n``
    from ``max_ngram`` down to 1, the first match wins), at most ``max_tokens``; [] when none recurs."""
    if max_tokens < 1:
        return []
    tokens = list(context)
    for n in range(min(max_ngram, len(tokens) - 1), 0, -1):
        tail = tokens[-n:]
        for start in range(len(tokens) - n - 1, -1, -1):
            if tokens[start : start + n] == tail:
                return tokens[start + n : start + n + max_tokens]
    return []


@dataclass
class Verdict:
    """How many guesses a row keeps, and the token that follows them: the replacement of the first refused
    guess, or None when every guess was kept (the next token is then drawn as usual)."""

    kept: int
    following: int | None


def verify(
    guesses: Sequence[int], scores: Callable[[int], Any], *, greedy: bool, generator: Any = None
) -> Verdict:
    """Check ``guesses`` one by one. ``scores(j)`` is the model's view of position ``j``: greedily any
    scores whose argmax is the model's choice, sampling its next-token probabilities."""
    import torch

    for j, guess in enumerate(guesses):
        values = scores(j)
        if greedy:
            best = int(values.argmax())
            if best != guess:
                return Verdict(j, best)
            continue
        device = generator.device if generator is not None else values.device
        probs = values.to(device)
        if float(torch.rand((), generator=generator, device=device)) < float(probs[guess]):
            continue
        rest = probs.clone()
        rest[guess] = 0.0
        total = float(rest.sum())
        if total <= 0.0:  # the model gives the guess all its weight: it is never refused
            continue
        return Verdict(j, int(torch.multinomial(rest / total, 1, generator=generator)))
    return Verdict(len(guesses), None)
