"""Running a causal LM for the agent: prefill with a reusable prefix cache, sample, and score continuations.

Browsing prompts share a long fixed prefix (system instruction, action help, few-shot example); its
key/value cache is computed once and copied for every step, so each step only processes the new
observation. Continuations (candidate commands, quotes) are scored in batches on top of the prompt's
cache. Timings and token counts accumulate in ``LMEngine.stats``.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.config import SAMPLING_DEFAULTS
from agent.models import LoadedModel
from agent.policies.lookup import DRAFT_TOKENS, draft, verify

PAST_KEY_VALUES_WARNING = r"`past_key_values` is deprecated"


@dataclass
class EngineStats:
    """Where model time went: prompt processing (prefill and scoring) and generation (decoding)."""

    prompt_tokens: int = 0
    prompt_seconds: float = 0.0
    generated_tokens: int = 0
    generation_seconds: float = 0.0

    def snapshot(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class Prefill:
    """A processed prompt: its cache (batch 1), the next-token logits after it, and its tokens."""

    cache: Any
    logits: Any  # (vocab,) float32
    length: int
    ids: tuple[int, ...]  # what prompt-lookup decoding copies its guesses from


@dataclass
class _PrefixEntry:
    ids: tuple[int, ...]
    cache: Any


@dataclass
class LMEngine:
    """Generation and scoring over one loaded model. Not thread-safe."""

    loaded: LoadedModel
    stats: EngineStats = field(default_factory=EngineStats)
    _prefixes: list[_PrefixEntry] = field(default_factory=list)
    _newline_ids: set[int] | None = None
    max_cached_prefixes: int = 4
    draft_tokens: int = DRAFT_TOKENS
    """Prompt lookup's guesses per forward when a call does not say (0: token by token)."""

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    @property
    def model(self) -> Any:
        return self.loaded.model

    # Tokens -------------------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def stop_ids(self) -> set[int]:
        """Token ids that end a turn: eos, and the chat template's end-of-turn tokens."""
        ids: set[int] = set()
        for value in (
            self.tokenizer.eos_token_id,
            getattr(self.model.generation_config, "eos_token_id", None),
        ):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list):
                ids.update(v for v in value if isinstance(v, int))
        for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"):
            token_id = self.tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id != self.tokenizer.unk_token_id and token_id >= 0:
                ids.add(token_id)
        return ids

    def newline_ids(self) -> set[int]:
        """Token ids whose text contains a newline (computed once)."""
        if self._newline_ids is None:
            vocab = self.tokenizer.get_vocab()
            self._newline_ids = {
                i for i in vocab.values() if "\n" in self.tokenizer.decode([i], skip_special_tokens=True)
            }
        return self._newline_ids

    # Prompt processing ---------------------------------------------------------------------------------
    def _forward(self, ids: Any, cache: Any, logits_to_keep: int = 0, padding: _Padding | None = None) -> Any:
        import torch

        device = self.model.device
        extra = (
            {}
            if padding is None
            else {
                "attention_mask": padding.mask.to(device),
                "position_ids": padding.positions[:, -ids.shape[1] :].to(device),
            }
        )
        with torch.inference_mode(), warnings.catch_warnings():
            # transformers 5 renamed the argument to ``cache``; the old name works in every version we run.
            warnings.filterwarnings("ignore", message=PAST_KEY_VALUES_WARNING, category=FutureWarning)
            return self.model(
                input_ids=ids.to(device),
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=logits_to_keep,
                **extra,
            )

    def _prefix_cache(self, prefix: tuple[int, ...]) -> Any:
        """The cache after ``prefix`` (a copy: callers extend it)."""
        import torch
        from transformers import DynamicCache

        for entry in self._prefixes:
            if entry.ids == prefix:
                return copy.deepcopy(entry.cache)
        started = time.perf_counter()
        cache = DynamicCache(config=self.model.config)
        self._forward(torch.tensor([list(prefix)]), cache, logits_to_keep=1)
        self.stats.prompt_tokens += len(prefix)
        self.stats.prompt_seconds += time.perf_counter() - started
        self._prefixes.append(_PrefixEntry(prefix, cache))
        del self._prefixes[: -self.max_cached_prefixes]
        return copy.deepcopy(cache)

    def prefill(self, ids: list[int], prefix_length: int = 0) -> Prefill:
        """Process ``ids``; the first ``prefix_length`` tokens come from (and go into) the prefix cache."""
        import torch
        from transformers import DynamicCache

        if not ids:
            raise ValueError("empty prompt")
        prefix_length = min(prefix_length, len(ids) - 1)
        cache = (
            self._prefix_cache(tuple(ids[:prefix_length]))
            if prefix_length > 0
            else DynamicCache(config=self.model.config)
        )
        rest = ids[prefix_length:]
        started = time.perf_counter()
        output = self._forward(torch.tensor([rest]), cache, logits_to_keep=1)
        self.stats.prompt_tokens += len(rest)
        self.stats.prompt_seconds += time.perf_counter() - started
        return Prefill(output.past_key_values, output.logits[0, -1].float(), len(ids), tuple(ids))

    # Scoring -------------------------------------------------------------------------------------------
    def score(
        self, prompt: Prefill, continuations: list[list[int]], batch_size: int = 16
    ) -> list[list[float]]:
        """Log-probability of each token of each continuation given the prompt (nothing is modified)."""
        import torch

        first = torch.log_softmax(prompt.logits, dim=-1)
        results: list[list[float]] = []
        for offset in range(0, len(continuations), batch_size):
            batch = continuations[offset : offset + batch_size]
            longest = max(len(c) for c in batch)
            if longest <= 1:
                results += [[float(first[c[0]])] if c else [] for c in batch]
                continue
            pad = self.tokenizer.pad_token_id or 0
            # Right padding: under a causal mask, padding after a continuation cannot change its scores.
            inputs = torch.tensor([c[:-1] + [pad] * (longest - len(c)) for c in batch])
            cache = copy.deepcopy(prompt.cache)
            cache.batch_repeat_interleave(len(batch))
            started = time.perf_counter()
            logits = self._forward(inputs, cache).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1)
            self.stats.prompt_tokens += sum(max(0, len(c) - 1) for c in batch)
            self.stats.prompt_seconds += time.perf_counter() - started
            for row, tokens in enumerate(batch):
                if not tokens:
                    results.append([])
                    continue
                rest = [float(logprobs[row, j, tokens[j + 1]]) for j in range(len(tokens) - 1)]
                results.append([float(first[tokens[0]]), *rest])
        return results

    def score_target(self, contexts: list[list[int]], target: list[int], batch_size: int = 8) -> list[float]:
        """Summed log-probability of the same ``target`` tokens after each context."""
        if not target:
            raise ValueError("empty target")
        return [sum(row) for row in self.score_tokens(contexts, [target] * len(contexts), batch_size)]

    def score_tokens(
        self, contexts: list[list[int]], targets: list[list[int]], batch_size: int = 8
    ) -> list[list[float]]:
        """Log-probability of each token of ``targets[i]`` after ``contexts[i]`` (left-padded batches; only
        the target positions go through the output layer)."""
        import torch

        if len(contexts) != len(targets):
            raise ValueError(f"{len(contexts)} contexts for {len(targets)} targets")
        if not all(targets):
            raise ValueError("empty target")
        pad = self.tokenizer.pad_token_id or 0
        results: list[list[float]] = []
        for offset in range(0, len(contexts), batch_size):
            batch = [c or [pad] for c in contexts[offset : offset + batch_size]]
            wanted = targets[offset : offset + batch_size]
            longest = max(len(t) for t in wanted)
            ids, padding = left_padded([c + t for c, t in zip(batch, wanted, strict=True)], pad)
            started = time.perf_counter()
            with torch.inference_mode():
                logits = (
                    self.model(
                        input_ids=ids.to(self.model.device),
                        attention_mask=padding.mask.to(self.model.device),
                        position_ids=padding.positions.to(self.model.device),
                        use_cache=False,
                        logits_to_keep=longest + 1,
                    )
                    .logits[:, :-1]
                    .float()
                )
            logprobs = torch.log_softmax(logits, dim=-1).cpu()
            for row, target in enumerate(wanted):
                tail = logprobs[row, longest - len(target) :]
                results.append(tail.gather(-1, torch.tensor(target).unsqueeze(-1)).squeeze(-1).tolist())
            self.stats.prompt_tokens += int(padding.mask.sum())
            self.stats.prompt_seconds += time.perf_counter() - started
        return results

    # Sampling ------------------------------------------------------------------------------------------
    def new_generator(self, seed: int | None = None) -> Any:
        """A ``torch.Generator`` on the device the logits come out on (the model's), for ``generate``;
        seeded with ``seed`` when given (otherwise torch's fixed default seed, as ``torch.Generator()``)."""
        return device_generator(self.model.device, seed)

    def generate(
        self,
        prompt: Prefill,
        *,
        n: int = 1,
        max_new_tokens: int = SAMPLING_DEFAULTS.max_new_tokens,
        temperature: float = SAMPLING_DEFAULTS.temperature,
        top_p: float = SAMPLING_DEFAULTS.top_p,
        stop_at_newline: bool = True,
        generator: Any = None,
        prefix: list[int] | None = None,
        stop: Callable[[str], bool] | None = None,
        repetition_penalty: float = 1.0,
        draft_tokens: int | None = None,
    ) -> list[list[int]]:
        """Sample ``n`` continuations in one batch (greedy at temperature 0). A continuation ends at a
        stop token (dropped), or after the token that contains a newline when ``stop_at_newline``.
        ``prefix`` tokens are forced first (e.g. ``"Search"``) and are not part of the result. A row also
        ends once ``stop(text so far)`` is true (the text stays in the result: callers cut it).
        ``repetition_penalty`` > 1 makes tokens a row has already generated less likely (as in CTRL).
        ``draft_tokens`` > 0 guesses up to that many tokens at a time from the prompt and checks them in
        one forward (``agent.policies.lookup``): the same output, fewer forwards; 0 decodes token by
        token; None uses the engine's ``draft_tokens``."""
        import torch

        cache = copy.deepcopy(prompt.cache)
        if n > 1:
            cache.batch_repeat_interleave(n)
        logits = prompt.logits.unsqueeze(0).expand(n, -1)
        if prefix:
            started = time.perf_counter()
            output = self._forward(torch.tensor([prefix] * n), cache, logits_to_keep=1)
            cache, logits = output.past_key_values, output.logits[:, -1].float()
            self.stats.generation_seconds += time.perf_counter() - started
        row_stop = (lambda _, text: stop(text)) if stop is not None else None
        context = [*prompt.ids, *(prefix or [])]
        return self._decode(
            cache,
            logits,
            None,
            _Decoding(
                max_new_tokens,
                temperature,
                top_p,
                stop_at_newline,
                generator,
                row_stop,
                repetition_penalty,
                self.draft_tokens if draft_tokens is None else draft_tokens,
            ),
            [context] * n,
        )

    def generate_batch(
        self,
        prompts: list[list[int]],
        *,
        n: int = 1,
        max_new_tokens: int = SAMPLING_DEFAULTS.max_new_tokens,
        temperature: float = SAMPLING_DEFAULTS.temperature,
        top_p: float = SAMPLING_DEFAULTS.top_p,
        stop_at_newline: bool = True,
        generator: Any = None,
        stop: Callable[[int, str], bool] | None = None,
        repetition_penalty: float = 1.0,
        draft_tokens: int | None = None,
        prefix_length: int = 0,
        avoid_first: Sequence[Collection[int]] | None = None,
        greedy_first: bool = False,
    ) -> list[list[list[int]]]:
        """``n`` continuations of each of several prompts, all rows decoded together: one forward per
        token for the whole batch. Prompts of different lengths are padded on the left, with an attention
        mask and positions that leave the padding out; each prompt is processed once, then repeated ``n``
        times. Otherwise as ``generate``; ``stop(i, text)`` is asked about a row of prompt ``i``, and a
        prefix is forced by appending it to the prompt. The first ``prefix_length`` tokens, when every
        prompt starts with the same ones, come from (and go into) the prefix cache, as in ``prefill``: the
        rest of each prompt is padded on the left after them. ``avoid_first[i]``: tokens no continuation
        of prompt ``i`` may start with. ``greedy_first``: the first continuation of each prompt is the
        greedy one (what ``n`` = 1 would give), the others sampled, all in the same batch."""
        from transformers import DynamicCache

        if not prompts or not all(prompts):
            raise ValueError("empty prompt")
        shared = min(prefix_length, *(len(p) - 1 for p in prompts))
        if shared > 0 and any(p[:shared] != prompts[0][:shared] for p in prompts):
            shared = 0
        rests = [p[shared:] for p in prompts]
        ids, padding = left_padded(rests, self.tokenizer.pad_token_id or 0)
        if len({len(r) for r in rests}) == 1:
            padding = None  # nothing padded: the model's own causal mask, as for one prompt
        if shared:
            cache = self._prefix_cache(tuple(prompts[0][:shared]))
            cache.batch_repeat_interleave(len(prompts))
            padding = padding.after(shared) if padding is not None else None
        else:
            cache = DynamicCache(config=self.model.config)
        started = time.perf_counter()
        output = self._forward(ids, cache, logits_to_keep=1, padding=padding)
        self.stats.prompt_tokens += sum(len(r) for r in rests)
        self.stats.prompt_seconds += time.perf_counter() - started
        cache, logits = output.past_key_values, output.logits[:, -1].float()
        if avoid_first:
            logits = logits.clone()  # the forward's output is an inference tensor
            for i, tokens in enumerate(avoid_first):
                logits[i, list(tokens)] = float("-inf")
        if n > 1:
            cache.batch_repeat_interleave(n)
            logits = logits.repeat_interleave(n, dim=0)
            padding = padding.repeat(n) if padding is not None else None
        row_stop = (lambda row, text: stop(row // n, text)) if stop is not None else None
        rows = self._decode(
            cache,
            logits,
            padding,
            _Decoding(
                max_new_tokens,
                temperature,
                top_p,
                stop_at_newline,
                generator,
                row_stop,
                repetition_penalty,
                self.draft_tokens if draft_tokens is None else draft_tokens,
                frozenset(range(0, len(prompts) * n, n)) if greedy_first else frozenset(),
            ),
            [prompt for prompt in prompts for _ in range(n)],
        )
        return [rows[i * n : (i + 1) * n] for i in range(len(prompts))]

    def _decode(
        self,
        cache: Any,
        logits: Any,
        padding: _Padding | None,
        how: _Decoding,
        contexts: list[list[int]] | None = None,
    ) -> list[list[int]]:
        """Sample one token per row until every row has stopped or ``how.max_new_tokens`` are out. With
        ``contexts`` (each row's prompt) and ``how.draft_tokens``, every forward also checks the tokens
        guessed from the context (``agent.policies.lookup``). In a batch each row keeps its own number of
        guesses: the positions of the guesses a row refused stay in the cache, masked out for that row."""
        import torch

        if padding is None and logits.shape[0] > 1 and how.draft_tokens and contexts is not None:
            padding = _Padding.unpadded(logits.shape[0], cache.get_seq_length())
        stops = self.stop_ids()
        newlines = self.newline_ids() if how.stop_at_newline else set()
        started = time.perf_counter()
        outputs: list[list[int]] = [[] for _ in range(logits.shape[0])]
        alive = [how.max_new_tokens > 0] * len(outputs)

        def take(row: int, token: int) -> None:
            if not alive[row]:
                return
            if token in stops:
                alive[row] = False
                return
            outputs[row].append(token)
            stopped = how.stop is not None and how.stop(row, self.decode(outputs[row]))
            alive[row] = token not in newlines and not stopped and len(outputs[row]) < how.max_new_tokens

        chosen = self._choose(logits, outputs, how).tolist() if any(alive) else []
        for row, token in enumerate(chosen):
            take(row, token)
        while any(alive):
            guesses = self._guesses(outputs, alive, how, contexts)
            width = max((len(g) for g in guesses.values()), default=0)
            rows = [
                [token, *(guesses.get(row, []) + [token] * width)[:width]] for row, token in enumerate(chosen)
            ]
            inputs = torch.tensor(rows)
            if padding is not None:
                padding.extend(1 + width)
            output = self._forward(inputs, cache, logits_to_keep=1 + width, padding=padding)
            cache, scores = output.past_key_values, output.logits.float()
            if not width:
                chosen = self._choose(scores[:, -1], outputs, how).tolist()
                for row, token in enumerate(chosen):
                    take(row, token)
                continue
            verdicts = {
                row: verify(
                    row_guesses,
                    self._position_scores(scores[row], outputs[row], row_guesses, how, row),
                    greedy=how.greedy(row),
                    generator=how.generator,
                )
                for row, row_guesses in guesses.items()
            }
            furthest = max(verdict.kept for verdict in verdicts.values())
            if furthest < width:  # positions no row keeps
                cache.crop(furthest - width)
                if padding is not None:
                    padding.crop(width - furthest)
            for row, verdict in verdicts.items():
                row_guesses = guesses[row][: verdict.kept]
                if padding is not None and verdict.kept < furthest:
                    padding.hide(row, furthest - verdict.kept)
                following = verdict.following
                if following is None:
                    seen = [outputs[row] + row_guesses]
                    following = int(self._choose(scores[row, verdict.kept].unsqueeze(0), seen, how, [row])[0])
                for token in row_guesses:
                    take(row, token)
                chosen[row] = following
                take(row, following)
        self.stats.generated_tokens += sum(len(o) for o in outputs)
        self.stats.generation_seconds += time.perf_counter() - started
        return outputs

    @staticmethod
    def _choose(logits: Any, outputs: list[list[int]], how: _Decoding, rows: list[int] | None = None) -> Any:
        """One token per row, after the repetition penalty; ``rows``: the decoding row of each logits
        row (default: the same), for ``how.greedy_rows``."""
        if how.repetition_penalty != 1.0:
            logits = penalize_repetition(logits, outputs, how.repetition_penalty)
        tokens = sample_tokens(logits, how.temperature, how.top_p, how.generator)
        rows = list(range(logits.shape[0])) if rows is None else rows
        greedy = [k for k, row in enumerate(rows) if row in how.greedy_rows]
        if greedy and how.temperature > 0:
            tokens[greedy] = logits[greedy].argmax(dim=-1)
        return tokens

    @staticmethod
    def _guesses(
        outputs: list[list[int]], alive: list[bool], how: _Decoding, contexts: list[list[int]] | None
    ) -> dict[int, list[int]]:
        """Each live row's guessed tokens ([] for a row with nothing to copy)."""
        if not how.draft_tokens or contexts is None:
            return {}
        guesses: dict[int, list[int]] = {}
        for row, output in enumerate(outputs):
            if alive[row]:
                room = min(how.draft_tokens, how.max_new_tokens - len(output) - 1)
                guesses[row] = draft(contexts[row] + output, room)
        return guesses

    @staticmethod
    def _position_scores(
        row_scores: Any, output: list[int], row_guesses: list[int], how: _Decoding, row: int
    ) -> Callable[[int], Any]:
        """``verify``'s view of guess ``j``: the logits after the penalty (greedy) or the probabilities
        ``sample_tokens`` draws from."""

        def scores(j: int) -> Any:
            logits = row_scores[j].unsqueeze(0)
            if how.repetition_penalty != 1.0:
                logits = penalize_repetition(logits, [output + row_guesses[:j]], how.repetition_penalty)
            if how.greedy(row):
                return logits[0]
            return token_probs(logits, how.temperature, how.top_p)[0]

        return scores


@dataclass
class _Decoding:
    """How ``LMEngine._decode`` samples (the arguments of ``generate``)."""

    max_new_tokens: int
    temperature: float
    top_p: float
    stop_at_newline: bool
    generator: Any
    stop: Callable[[int, str], bool] | None  # (row, text so far)
    repetition_penalty: float
    draft_tokens: int = 0
    greedy_rows: frozenset[int] = frozenset()  # rows decoded greedily whatever the temperature

    def greedy(self, row: int) -> bool:
        return self.temperature <= 0 or row in self.greedy_rows


def left_padded(rows: list[list[int]], pad: int) -> tuple[Any, _Padding]:
    """``rows`` as one tensor padded on the left with ``pad``, and their mask and positions."""
    import torch

    width = max(len(row) for row in rows)
    ids = torch.tensor([[pad] * (width - len(row)) + row for row in rows])
    mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
    return ids, _Padding(mask, (mask.cumsum(-1) - 1).clamp(min=0))


@dataclass
class _Padding:
    """A left-padded batch: the attention mask over every position processed so far (0 on padding) and
    each position's index within its own row."""

    mask: Any  # (rows, length) long
    positions: Any  # (rows, length) long

    def after(self, length: int) -> _Padding:
        """The same rows following ``length`` positions that every row keeps (a shared prefix)."""
        import torch

        rows = len(self.mask)
        mask = torch.cat([self.mask.new_ones(rows, length), self.mask], dim=1)
        return _Padding(
            mask, torch.cat([torch.arange(length).expand(rows, -1), self.positions + length], dim=1)
        )

    def repeat(self, n: int) -> _Padding:
        return _Padding(self.mask.repeat_interleave(n, dim=0), self.positions.repeat_interleave(n, dim=0))

    @classmethod
    def unpadded(cls, rows: int, length: int) -> _Padding:
        """``rows`` rows of ``length`` positions, none of them padding."""
        import torch

        mask = torch.ones(rows, length, dtype=torch.long)
        return cls(mask, (mask.cumsum(-1) - 1).clamp(min=0))

    def extend(self, count: int = 1) -> None:
        """``count`` more positions for every row (the tokens about to be processed), numbered after the
        positions each row keeps."""
        import torch

        steps = self.mask.sum(-1, keepdim=True) + torch.arange(count)
        self.mask = torch.cat([self.mask, self.mask.new_ones(len(self.mask), count)], dim=1)
        self.positions = torch.cat([self.positions, steps], dim=1)

    def hide(self, row: int, count: int) -> None:
        """Mask out the last ``count`` positions of ``row`` (guesses it refused, kept by other rows)."""
        self.mask[row, -count:] = 0

    def crop(self, count: int) -> None:
        """Forget the last ``count`` positions (tokens processed but not kept)."""
        self.mask = self.mask[:, :-count]
        self.positions = self.positions[:, :-count]


def penalize_repetition(logits: Any, outputs: list[list[int]], penalty: float) -> Any:
    """Divide positive (multiply negative) logits of each row's already generated tokens by ``penalty``."""
    import torch

    logits = logits.clone()
    for row, tokens in enumerate(outputs):
        if tokens:
            seen = torch.tensor(sorted(set(tokens)), dtype=torch.long, device=logits.device)
            values = logits[row, seen]
            logits[row, seen] = torch.where(values > 0, values / penalty, values * penalty)
    return logits


def device_generator(device: Any, seed: int | None = None) -> Any:
    """A ``torch.Generator`` on ``device``, seeded with ``seed`` when given."""
    import torch

    generator = torch.Generator(device=device)
    if seed is not None:
        generator.manual_seed(seed)
    return generator


def _same_device(a: Any, b: Any) -> bool:
    """Whether two ``torch.device``s are the same (a CUDA device without an index is the current one)."""
    import torch

    if a.type != b.type:
        return False
    if a.type != "cuda" or a.index == b.index:
        return True
    current = torch.cuda.current_device()
    return (current if a.index is None else a.index) == (current if b.index is None else b.index)


def sample_tokens(logits: Any, temperature: float, top_p: float, generator: Any = None) -> Any:
    """One token per row of ``logits`` (batch, vocab): greedy at temperature 0, else nucleus sampling.
    ``generator`` should live on the logits' device (``device_generator``); one on another device (a CPU
    generator for a CUDA model) still works: the draw happens on its device, and the tokens come back."""
    import torch

    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = token_probs(logits, temperature, top_p)
    if generator is not None and not _same_device(generator.device, probs.device):
        drawn = torch.multinomial(probs.to(generator.device), 1, generator=generator)
        return drawn.squeeze(-1).to(probs.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def token_probs(logits: Any, temperature: float, top_p: float) -> Any:
    """What nucleus sampling draws from: the softmax at ``temperature`` of each row, cut to the smallest
    set of tokens holding ``top_p`` of the mass, renormalised."""
    import torch

    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        keep = sorted_probs.cumsum(dim=-1) - sorted_probs < top_p
        keep[..., 0] = True
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs
