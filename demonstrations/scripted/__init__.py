"""The scripted demonstrator: ``demonstrator`` drives the environment (the episode's state machine),
``reading`` holds the text heuristics it reads pages with."""

from demonstrations.formats import answer_pattern, clause_around
from demonstrations.scripted.demonstrator import DETOURS, MODEL_ID, ScriptedConfig, ScriptedDemonstrator
from demonstrations.scripted.reading import (
    Target,
    best_sentence,
    find_text,
    quote_text,
    search_queries,
    split_sentences,
    vague_query,
)

__all__ = [
    "DETOURS",
    "MODEL_ID",
    "ScriptedConfig",
    "ScriptedDemonstrator",
    "Target",
    "answer_pattern",
    "best_sentence",
    "clause_around",
    "find_text",
    "quote_text",
    "search_queries",
    "split_sentences",
    "vague_query",
]
