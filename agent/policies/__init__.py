"""Policies: what chooses the next browsing command.

- ``LMPolicy`` (lm.py): a causal LM, ``free`` (it writes the command) or ``guided`` (it chooses among
  valid commands, then fills the argument).
- ``ScriptedPolicy`` (scripted.py): a fixed schedule choosing with a relevance scorer; skimming pages
  with the shipped ``SentenceRanker`` (or, with ``"reader": "likelihood"``, quoting by the model's
  ``QuestionLikelihood``) it is the ``scheduled`` mode of a language model, which then writes the answer.
- ``ReplayPolicy`` (base.py): a list of commands.

``load_agent`` builds the policy and the answerer for a model id, folder or hub id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.config import (
    AGENT_CONFIG,
    NO_RANKER_FOR_SCRIPTED,
    SAMPLING_DEFAULTS,
    SCRIPTED_POLICY,
    AgentConfig,
    Mode,
    SamplingConfig,
    as_mode,
)
from agent.corroboration import Corroboration
from agent.policies.base import Policy, ReplayPolicy
from agent.policies.page_reading import SecondSay
from agent.policies.scripted import ScheduleConfig, ScriptedPolicy

UNTRAINED_ANSWER_START = "According to the quotes,"
SHIPPED_MODE: Mode = "guided"
"""How the shipped policy browses unless asked otherwise: guided skimming (``webgpt-135m-guided`` choosing
each move once a page is read to its end, quoting the ranker's best sentence of the three results it
reads; ``webgpt-135m`` writing the answer). ``"scheduled"`` (``--mode scheduled``) is the fixed plan
instead: three results in search order, about four times faster and as good on the development set (68
of 264 right at ≤ 40 words each; docs/training.md)."""
SKIM_SCHEDULE = ScheduleConfig(skim=True, target_quotes=1, results_in_order=True, pages_to_read=3)
"""Scheduled browsing with the sentence ranker: open the search's first result and read it to the end,
then the second and the third (every result a search opens), quote the sentence the ranker scores
highest on the three (going back to its page), answer; further results when none has one above the
ranker's threshold. Reading two results instead of one made the answer's lead right more often on two
sets of BM25-reachable training-split questions (108 and 156) and the 238 of the test split (+5, +2,
+5); reading three instead of two, on the 264 of the E set, made 5 more answers right (9 gained, 4
lost), 8 more correct and cited, and the quote hold the gold for 6 more, for 14 more actions and
0.09 s (docs/training.md). One quote, not two: on 40 such questions a second quote from another page
more often misled the answer than held it (9 right against 7); on the E set the best sentence of each of
the three pages held the gold for 93 questions against 69, yet answers were right for 52 against 68, 67
after training on such quotes (``quoted_pages``, ``training.browsed_answers``)."""
RERANK_SCHEDULE = replace(SKIM_SCHEDULE, rerank_per_page=8, rerank_weight=1.0)
"""Skimming with the sentence reranker (``agent/sentence_reranker.py``): the ranker's 8 best sentences of
each page read are ordered again by the ranker's score plus the reranker's logit."""
CORROBORATION_WEIGHT, CORROBORATION_BEST = 0.5, 3
"""Skimming with corroboration (``corroboration`` in ``webgpt.json``): the three best sentences read gain
half their corroboration (``agent/corroboration.py``) before one is quoted; weighed on 241 training-split
questions (docs/training.md)."""
CORROBORATE_SCHEDULE = replace(
    SKIM_SCHEDULE, rerank_per_page=3, rerank_best=CORROBORATION_BEST, rerank_weight=CORROBORATION_WEIGHT
)
__all__ = [
    "AGENT_CONFIG",
    "Agent",
    "Mode",
    "Policy",
    "ReplayPolicy",
    "ScriptedPolicy",
    "load_agent",
    "load_named_agent",
]


@dataclass
class Agent:
    policy: Any
    answerer: Any
    mode: Mode


def load_agent(
    model: str | None = None,
    *,
    mode: Mode | None = None,
    temperature: float | None = None,
    top_p: float = SAMPLING_DEFAULTS.top_p,
    seed: int | None = None,
    few_shot: bool | None = None,
    device: str | None = None,
    max_prompt_tokens: int | None = None,
    ranker: str | Path | None = None,
) -> Agent:
    """The policy and the answerer for ``model`` (default: the shipped trained policy, browsing in
    ``SHIPPED_MODE``; in guided mode its twin trained on to browse by itself, ``webgpt-135m-guided``;
    the untrained SmolLM2-135M-Instruct, ``smollm2-135m``, browses in ``scheduled`` mode and answers
    with a one-example prompt). ``max_prompt_tokens`` None
    means the checkpoint's own (``webgpt.json``), else 2,048. ``temperature`` None means 0.8 (WebGPT's)
    for free and guided browsing and for sampled answers, but the best-scoring choice in scheduled mode
    and guided skimming (``guided_skim`` in ``webgpt.json``). ``ranker``: a sentence ranker file to
    browse with (``webgpt train ranker --output``), else the checkpoint's own (``sentence_ranker`` in its
    ``webgpt.json``), else the shipped one."""
    from agent.answer import ModelAnswerer
    from agent.lead_confidence import LeadConfidence
    from agent.models import DEFAULT_MODEL_ID, SHIPPED_GUIDED_ID, SHIPPED_POLICY_ID, load_causal_lm
    from agent.policies.engine import LMEngine
    from agent.policies.lm import LMPolicy
    from agent.policies.scripted import QuestionLikelihood
    from agent.sentence_reranker import SentenceReranker
    from agent.span_reader import SpanReader

    model = model or SHIPPED_POLICY_ID
    if model == SHIPPED_POLICY_ID and (mode or SHIPPED_MODE) == "guided":
        model, mode = SHIPPED_GUIDED_ID, "guided"  # the shipped policy, trained on to browse by itself
    loaded = load_causal_lm(model, device=device)
    settings = AgentConfig.from_checkpoint(loaded.path)
    untrained = model == DEFAULT_MODEL_ID
    mode = mode or settings.mode or ("scheduled" if untrained else "free")
    if few_shot is None:
        few_shot = settings.few_shot if settings.few_shot is not None else untrained
    prompt_format = settings.prompt_format
    engine = LMEngine(loaded)
    answering, answer_engine = settings, engine
    if settings.answer_model:
        answer_loaded = load_causal_lm(_beside(loaded.path, settings.answer_model), device=device)
        answering, answer_engine = AgentConfig.from_checkpoint(answer_loaded.path), LMEngine(answer_loaded)
    if seed is not None:
        import torch

        torch.manual_seed(seed)
    sampled = SAMPLING_DEFAULTS.temperature if temperature is None else temperature
    lead_reader = None
    if answering.lead_reader:
        lead_reader = SpanReader.load(Path(answer_engine.loaded.path) / answering.lead_reader)
    answerer = ModelAnswerer(
        answer_engine,
        few_shot=bool(few_shot),
        temperature=sampled,
        top_p=top_p,
        max_new_tokens=answering.answer_max_new_tokens,
        seed=seed,
        prompt_format=answering.prompt_format,
        attribute=answering.attribute if answering.attribute is not None else untrained,
        fallback_prefix=UNTRAINED_ANSWER_START if untrained else None,
        lead_reader=lead_reader,
        clause_words=answering.clause_words,
    )
    reads_with_ranker = (settings.reader or "ranker") == "ranker"
    if ranker is not None and not reads_with_ranker:
        raise ValueError(
            f"{model} reads pages with {settings.reader!r}, not a sentence ranker: drop --ranker"
        )
    if ranker is None and settings.sentence_ranker:
        ranker = Path(loaded.path) / settings.sentence_ranker
    if mode == "scheduled":
        scheduled_temperature = 0.0 if temperature is None else temperature
        reranker: Any = None
        if reads_with_ranker:
            scorer: Any = _sentence_ranker(ranker)
            schedule = replace(SKIM_SCHEDULE, target_quotes=settings.quoted_pages or 1)
            # Weighing each page's best sentences by the answer model's confidence in the lead it writes
            # from them: better leads offline, fewer quotes holding the gold end to end, so opt-in.
            if settings.sentence_reranker:
                reranker = SentenceReranker.load(Path(loaded.path) / settings.sentence_reranker)
                schedule = replace(RERANK_SCHEDULE, target_quotes=settings.quoted_pages or 1)
            elif settings.lead_confidence:
                reranker = LeadConfidence(answerer)
            elif settings.corroboration:
                reranker = Corroboration()
                schedule = replace(CORROBORATE_SCHEDULE, target_quotes=settings.quoted_pages or 1)
        else:
            scorer, schedule = QuestionLikelihood(engine), ScheduleConfig()
        policy: Any = ScriptedPolicy(
            scorer, schedule, name=model, temperature=scheduled_temperature, seed=seed, reranker=reranker
        )
    elif mode in ("free", "guided"):
        skim = mode == "guided" and reads_with_ranker and bool(settings.guided_skim)
        # Guided skimming was measured choosing greedily, as scheduled browsing does: so by default.
        browsing = 0.0 if skim and temperature is None else sampled
        sampling = SamplingConfig(temperature=browsing, top_p=top_p, seed=seed)
        policy = LMPolicy(
            engine,
            guided=mode == "guided",
            few_shot=bool(few_shot),
            sampling=sampling,
            max_prompt_tokens=max_prompt_tokens or settings.max_prompt_tokens,
            prompt_format=prompt_format,
            name=model,
            quote_scorer=_sentence_ranker(ranker) if reads_with_ranker else None,
            skim=skim,
            compare_pages=settings.guided_compare_pages or 1,
            second_say=_corroboration() if skim and settings.corroboration else None,
        )
    else:
        raise ValueError(f"unknown mode {mode!r}: use free, guided or scheduled")
    return Agent(policy, answerer, mode)


def _corroboration() -> SecondSay:
    """Guided skimming's second say with corroboration (a scorer of its own: it keeps its search)."""
    return SecondSay(Corroboration(), CORROBORATION_WEIGHT, CORROBORATION_BEST)


def _beside(checkpoint: str | Path, model: str) -> str:
    """``model`` as ``load_causal_lm`` takes it: a folder relative to ``checkpoint``'s when there is one
    (named by its id when it is a shipped one), else as given (a shipped id, a hub id or a folder)."""
    from agent.models import MODELS, WEIGHTS_DIR

    folder = (Path(checkpoint) / model).resolve()
    if not folder.is_dir():
        return model
    if folder.parent == WEIGHTS_DIR.resolve() and folder.name in MODELS:
        return folder.name
    return str(folder)


def _sentence_ranker(path: str | Path | None) -> Any:
    """The sentence ranker in ``path`` (a ``webgpt train ranker`` file), else the shipped one."""
    from agent.sentence_ranker import SHIPPED_RANKER, SentenceRanker

    if path is not None and not Path(path).is_file():
        raise ValueError(f"no sentence ranker at {path}: give a file `webgpt train ranker --output` wrote")
    return SentenceRanker.load(Path(path) if path is not None else SHIPPED_RANKER)


def load_named_agent(
    policy: str,
    *,
    mode: str | None = None,
    temperature: float | None = None,
    top_p: float = SAMPLING_DEFAULTS.top_p,
    seed: int | None = None,
    device: str | None = None,
    ranker: str | Path | None = None,
) -> Agent:
    """The agent for a ``--policy`` value: ``scripted`` (the scripted policy and the extractive answerer,
    no model, nothing of transformers imported), else a model id, checkpoint folder or hub id
    (``load_agent``, browsing with the sentence ranker file ``ranker`` when given)."""
    from agent.answer import ExtractiveAnswerer

    if policy == SCRIPTED_POLICY:
        if ranker is not None:
            raise ValueError(NO_RANKER_FOR_SCRIPTED)
        return Agent(
            ScriptedPolicy(seed=seed, temperature=temperature or 0.0), ExtractiveAnswerer(), "scheduled"
        )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # library notices are not the user's business
    hf_logging.disable_progress_bar()
    return load_agent(
        policy,
        mode=None if mode is None else as_mode(mode),
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        device=device,
        ranker=ranker,
    )
