"""Shared test set-up: offline hubs and a private data folder per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tiny_models import PAGES, html, llama_config, make_tokenizer

from browser_env.docstore import Document

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def webgpt_home(tmp_path_factory: pytest.TempPathFactory):
    """Every test session writes under its own WEBGPT_HOME, never the user's."""
    home = tmp_path_factory.mktemp("webgpt-home")
    previous = os.environ.get("WEBGPT_HOME")
    os.environ["WEBGPT_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("WEBGPT_HOME", None)
    else:
        os.environ["WEBGPT_HOME"] = previous


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """A random 2-layer Llama causal LM saved with its tokenizer."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-lm")
    LlamaForCausalLM(llama_config(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_rm_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """A random 2-layer Llama reward model (one output) saved with its tokenizer."""
    import torch
    from transformers import LlamaForSequenceClassification

    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("tiny-rm")
    model = LlamaForSequenceClassification(llama_config(tokenizer, num_labels=1))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _tiny_bert(folder: Path, head: str, **extra: object) -> Path:
    """A random 2-layer BERT with the given head class and the packaged MiniLM tokenizer, in ``folder``."""
    import torch
    import transformers
    from transformers import AutoTokenizer, BertConfig

    from browser_env.search.dense import model_path

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        **extra,
    )
    getattr(transformers, head)(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT with a start/end head (a base for the span reader)."""
    return _tiny_bert(
        tmp_path_factory.mktemp("tiny-bert"), "BertForQuestionAnswering", max_position_embeddings=256
    )


@pytest.fixture(scope="session")
def tiny_bert_scorer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT with a scalar head (a base for the sentence reranker). BERT's 0.02
    initialisation leaves a model this small nearly blind to its input, hence 0.2."""
    return _tiny_bert(
        tmp_path_factory.mktemp("tiny-bert-scorer"),
        "BertForSequenceClassification",
        max_position_embeddings=128,
        num_labels=1,
        initializer_range=0.2,
    )


@pytest.fixture(scope="session")
def html_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    for name, (title, body) in PAGES.items():
        (folder / name).write_text(html(title, body), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def documents() -> list[Document]:
    return [
        Document(f"https://example.org/{name}", title, html(title, body), "html")
        for name, (title, body) in PAGES.items()
    ]


@pytest.fixture(scope="session")
def tiny_corpus(html_folder: Path):
    """A corpus built from the HTML folder, BM25 only."""
    from browser_env.corpus import build_corpus

    return build_corpus("tiny-agent", [str(html_folder)], dense=False, show_progress=False)
