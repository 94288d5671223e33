"""The deprecation warnings transformers and PEFT raise on our calls never reach the user."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
import torch

from agent.models import load_causal_lm
from agent.policies.engine import LMEngine


def future_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]


def test_prefill_and_generation_raise_no_future_warning(tiny_lm_dir: Path) -> None:
    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), device="cpu", dtype="float32"))
    prompt = engine.encode("♦Question\nWho designed the Eiffel Tower?\n♦Next action\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prefill = engine.prefill(prompt, prefix_length=10)
        engine.generate(prefill, n=2, max_new_tokens=4, generator=engine.new_generator(0))
        engine.score(prefill, [engine.encode("Top")])
    assert future_warnings(caught) == []
    with warnings.catch_warnings(record=True) as after:  # the filter did not leak out of the calls
        warnings.simplefilter("always")
        warnings.warn("`past_key_values` is deprecated elsewhere", FutureWarning, stacklevel=1)
    assert future_warnings(after) == ["`past_key_values` is deprecated elsewhere"]


def test_loading_a_peft_adapter_raises_no_future_warning(tiny_lm_dir: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_lm_dir, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_causal_lm(str(tmp_path), device="cpu", dtype="float32")
    assert future_warnings(caught) == []


def test_wrapping_and_loading_a_span_reader_raise_no_future_warning(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    from agent.span_reader import SpanReader, load_base
    from training.span_reader import save_reader, with_adapter

    base, _ = load_base(str(tiny_bert_dir))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = with_adapter(base, rank=4, seed=0)
        save_reader(model, tmp_path / "reader", {"base": str(tiny_bert_dir)})
        SpanReader.load(tmp_path / "reader")
    assert future_warnings(caught) == []


def test_a_reward_adapter_that_brings_its_head_loads_without_a_missing_weights_report(
    tiny_lm_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    from agent.reward import load_reward_model

    base = AutoModelForSequenceClassification.from_pretrained(tiny_lm_dir, num_labels=1, dtype=torch.float32)
    config = LoraConfig(
        r=4, target_modules=["q_proj", "v_proj"], modules_to_save=["score"], task_type="SEQ_CLS"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        get_peft_model(base, config).save_pretrained(tmp_path)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()  # what a library user has unless they lower it
    try:
        caplog.clear()  # the base made above had its own report
        with caplog.at_level(logging.WARNING):
            load_reward_model(str(tmp_path), device="cpu", dtype="float32")
    finally:
        hf_logging.set_verbosity(verbosity)
    assert "MISSING" not in caplog.text
    assert hf_logging.get_verbosity() == verbosity
