"""Shared test set-up: offline hubs and a private data folder per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tiny_models import llama_config, make_tokenizer

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
