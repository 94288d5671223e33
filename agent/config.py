"""The agent's settings: how it samples and how it prompts. The one home of these defaults; the CLI
and a checkpoint's ``webgpt.json`` read them.

Light on purpose (no torch import), so the command line can take its defaults from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

Mode = Literal["free", "guided", "scheduled"]
MODES: tuple[Mode, ...] = ("free", "guided", "scheduled")


def as_mode(mode: str) -> Mode:
    """``mode`` as a browsing mode, or a ValueError naming the modes there are."""
    for known in MODES:
        if mode == known:
            return known
    raise ValueError(f"unknown mode {mode!r}: use free, guided or scheduled")


READERS = ("ranker", "likelihood")
AGENT_CONFIG = "webgpt.json"
MAX_CANDIDATES = 64
"""The most candidate answers best-of-n samples and scores in one call (episodes × answers per
episode): WebGPT's largest n."""
MAX_QUOTED_PAGES = 3
"""Scheduled skimming reads three results of a search, so it quotes from at most three pages."""
MAX_ANSWER_CHARS = 4000
"""The longest answer kept from an answer model; the rest is cut before citations are checked and
before anything is stored."""


@dataclass
class SamplingConfig:
    """Sampling for browsing commands (and, with ``answer_max_new_tokens``, for answers)."""

    temperature: float = 0.8
    """WebGPT sampled at 0.8; 0 means greedy."""
    top_p: float = 0.95
    """Nucleus sampling mass."""
    max_new_tokens: int = 48
    """Longest browsing command, in tokens."""
    max_retries: int = 3
    """Samples drawn again when a command does not parse."""
    seed: int | None = None
    """Seed for the sampling generator; None draws from the global one."""

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be 0 or more, not {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {self.top_p}")
        if self.max_new_tokens < 1 or self.max_retries < 0:
            raise ValueError("max_new_tokens must be at least 1 and max_retries 0 or more")


@dataclass
class AgentConfig:
    """How a checkpoint is driven; saved as ``webgpt.json`` beside trained weights. None means: the
    default for this model (scheduled browsing and a one-example prompt for the untrained base)."""

    mode: Mode | None = None
    """free (the model writes commands), guided (it chooses among valid ones), scheduled (fixed plan)."""
    few_shot: bool | None = None
    """Show an example episode in the browsing and answering prompts."""
    prompt_format: str | None = None
    """chat (the model's chat template) or plain; None picks chat when the tokenizer has a template."""
    attribute: bool | None = None
    """Add [n] to uncited answer sentences that a quote supports (for models not trained to cite)."""
    reader: str | None = None
    """What scheduled browsing reads pages with: ranker (skims each page and quotes the sentence the
    shipped sentence ranker scores highest; the default) or likelihood (quotes from the visible window
    what most raises the model's likelihood of the question). Guided browsing with ranker quotes only
    what the ranker rates and lets it pick the sentence."""
    lead_confidence: bool | None = None
    """Scheduled skimming weighs the three best sentences of each page it read again by how sure the
    answer model is of the answer it writes from each (``agent.lead_confidence``) before it quotes one.
    None (the default): off, which measured better end to end (docs/training.md)."""
    sentence_ranker: str | None = None
    """A sentence ranker's file (``webgpt train ranker --output``; relative paths from the checkpoint's
    folder) that scheduled and guided browsing use instead of the shipped one."""
    sentence_reranker: str | None = None
    """A sentence reranker's folder (``webgpt train reranker``; relative paths from the checkpoint's
    folder): scheduled skimming orders each page's 8 best sentences again with that cross-encoder
    before it quotes one. None (the default): off; the one trained here did not quote better
    (docs/training.md)."""
    corroboration: bool | None = None
    """Scheduled and guided skimming weigh the three best sentences read again, each by how often its
    words that the question lacks recur in the first results of a search for the question
    (``agent.corroboration``), before quoting one. None: off."""
    quoted_pages: int | None = None
    """Scheduled skimming quotes the best sentence of this many of the pages it read (best first), and
    the answer model picks the quote that answers. None means 1: the ranker's best sentence alone, for
    answer models not trained to choose among the ranker's runners-up (``training.browsed_answers``)."""
    guided_skim: bool | None = None
    """Guided browsing reads each page it opens to the end before the model chooses what to do there
    (scrolling on without asking it, the ranker weighing every sentence read) and ``Quote:`` offers the
    page's best sentences, not only the window's. None: the model chooses at every window."""
    guided_compare_pages: int | None = None
    """Guided skimming offers ``Quote:`` only once this many pages are read to the end (or the last search
    has no result left to read), and then quotes the best sentence of them all, going back to its page.
    None means 1: each page's own best sentence, as soon as it is read."""
    answer_model: str | None = None
    """Another checkpoint whose model writes the answers (a shipped id, or a folder relative to this
    checkpoint's), with its own answer settings: a policy trained on to browse answers with the policy it
    was trained from. None: this checkpoint's model browses and answers."""
    lead_reader: str | None = None
    """A span reader's folder (``webgpt train reader``; relative paths from the checkpoint's folder): an
    answer then starts with the span of a quote the reader is confident of, the model writing the rest.
    None (the default): the model's own words, which measured better (docs/training.md)."""
    clause_words: int | None = None
    """The model writes only the short answer and its citation ("Gustave Eiffel [1]"); the rest is this
    many words of the cited quote around it, copied verbatim ("According to <title>, “…” [1]."), the
    format trained answers have. None: the model writes the whole answer."""
    max_prompt_tokens: int = 2048
    """Observations are shortened to fit (see ``agent.prompts.fit_observation``)."""
    answer_max_new_tokens: int = 160
    """Longest answer, in tokens."""

    def __post_init__(self) -> None:
        if self.mode is not None:
            as_mode(self.mode)
        if self.reader is not None and self.reader not in READERS:
            raise ValueError(f"unknown reader {self.reader!r}: use {' or '.join(READERS)}")
        if sum(map(bool, (self.sentence_reranker, self.lead_confidence, self.corroboration))) > 1:
            raise ValueError(
                "sentence_reranker, lead_confidence and corroboration reorder the same sentences: pick one"
            )
        if self.quoted_pages is not None and not 1 <= self.quoted_pages <= MAX_QUOTED_PAGES:
            raise ValueError(f"quoted_pages must be 1 to {MAX_QUOTED_PAGES}, not {self.quoted_pages}")
        if self.clause_words is not None and self.clause_words < 1:
            raise ValueError(f"clause_words must be at least 1, not {self.clause_words}")
        if self.max_prompt_tokens < 64 or self.answer_max_new_tokens < 1:
            raise ValueError("max_prompt_tokens must be at least 64 and answer_max_new_tokens at least 1")

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> AgentConfig:
        """``webgpt.json`` from a checkpoint folder (unknown keys ignored), or the defaults."""
        data = read_json_object(Path(path) / AGENT_CONFIG)
        if data is None:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def read_json_object(path: Path, advice: str = "") -> dict[str, Any] | None:
    """The JSON object in ``path`` (None when there is no such file); a damaged file or one holding
    something else is a ValueError naming it, ``advice`` appended."""
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is unreadable ({error}){advice}") from error
    if not isinstance(value, dict):
        raise ValueError(f"{path} is not a JSON object{advice}")
    return value


RANKER_HELP = (
    "Sentence ranker file to browse with (webgpt train ranker --output); default: the policy's own, "
    "else the shipped one."
)
SCRIPTED_POLICY = "scripted"
"""The ``--policy`` value for the scripted policy with the extractive answerer (no model)."""
NO_RANKER_FOR_SCRIPTED = "the scripted policy reads pages without a sentence ranker: drop --ranker"
SAMPLING_DEFAULTS = SamplingConfig()
AGENT_DEFAULTS = AgentConfig()
