"""Tiny real models for tests: random 2-layer Llamas with a byte-level BPE tokenizer trained here.

The fixtures built from these (``tokenizer``, ``tiny_lm_dir``, ``tiny_rm_dir``) are in tests/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


PAGES = {
    "eiffel.html": (
        "Eiffel Tower",
        '<p>The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in <a href="paris.html">'
        'Paris</a>, France.</p>\n<p>It is named after the engineer <a href="gustave.html">Gustave Eiffel'
        "</a>, whose company designed and built the tower.</p>\n<p>The tower was constructed from 1887 to "
        "1889 as the centerpiece of the 1889 World's Fair.</p>\n<p>It is 330 metres tall, about the same "
        "height as an 81-storey building.</p>",
    ),
    "paris.html": (
        "Paris",
        "<p>Paris is the capital and most populous city of France.</p>\n<p>Paris is known for its museums "
        'and architectural landmarks, including the <a href="eiffel.html">Eiffel Tower</a> and the '
        "Louvre.</p>",
    ),
    "gustave.html": (
        "Gustave Eiffel",
        "<p>Alexandre Gustave Eiffel was a French civil engineer.</p>\n<p>He is known for the Eiffel "
        "Tower, built for the 1889 Universal Exposition in Paris, and his contribution to the Statue of "
        "Liberty.</p>",
    ),
}


def html(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>\n{body}</body></html>"


def make_tokenizer():
    """A byte-level BPE tokenizer (any text encodes) with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from agent.prompts import browsing_instruction, example_episode

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [browsing_instruction()] + [o + "\n" + c for o, c in example_episode()]
    corpus += [html(t, b) for t, b in PAGES.values()]
    tokenizer.train_from_iterator(corpus * 3, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|im_start|>",
    )
    fast.chat_template = CHATML
    return fast


def llama_config(tokenizer, **extra):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=False,
        **extra,
    )


def batch_sizes(engine: Any) -> list[int]:
    """Records the number of prompts of each ``generate_batch`` call."""
    sizes: list[int] = []
    inner = engine.generate_batch

    def counted(prompts, **kwargs):
        sizes.append(len(prompts))
        return inner(prompts, **kwargs)

    engine.generate_batch = counted  # type: ignore[method-assign]
    return sizes


EIFFEL_QUESTIONS = [
    {"question": "Who designed the Eiffel Tower?", "answer": ["Gustave Eiffel"]},
    {"question": "How tall is the Eiffel Tower?", "answer": ["330"]},
]


def eiffel_questions(folder: Path, repeats: int) -> Path:
    """Two questions the tiny corpus answers, each ``repeats`` times, as NQ-open JSONL in ``folder``."""
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in EIFFEL_QUESTIONS * repeats), encoding="utf-8")
    return path


def fit_without_output(fit: Callable[[list[str]], int], shipped: Path, corpus: str, folder: Path) -> Path:
    """Run a ranker's fit command (``fit``, its ``main``) on the Eiffel questions from ``folder`` (the
    caller's working directory) without ``--output``; the ``shipped`` file's bytes must not change.
    The ``runs/`` folder it wrote into."""
    before = shipped.read_bytes()
    questions = eiffel_questions(folder, 8)
    assert fit(["--questions", str(questions), "--corpus", corpus, "--split", "all", "--held_out", "2"]) == 0
    assert shipped.read_bytes() == before
    return folder / "runs"
