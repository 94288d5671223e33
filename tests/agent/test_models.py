from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agent.models import (
    ModelNotFound,
    hub_kernels_follow_offline,
    load_causal_lm,
    peft_wrapping,
    pick_device,
    resolve_checkpoint,
)
from agent.policies.engine import LMEngine

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")),
]


@pytest.mark.parametrize("device", DEVICES)
def test_loads_a_local_folder_with_its_tokenizer(tiny_lm_dir: Path, device: str) -> None:
    loaded = load_causal_lm(str(tiny_lm_dir), device=device, dtype="float32")
    assert loaded.path == str(tiny_lm_dir)
    assert loaded.device == device
    assert {p.device.type for p in loaded.model.parameters()} == {device}
    assert loaded.tokenizer.pad_token_id is not None
    assert loaded.context_window == 8192
    assert not loaded.model.training


def test_the_default_device_is_cuda_when_there_is_one() -> None:
    assert pick_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == "cpu"


@pytest.mark.parametrize("device", DEVICES)
def test_a_loaded_model_samples_on_its_device_with_a_seed(tiny_lm_dir: Path, device: str) -> None:
    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), device=device, dtype="float32"))
    prefill = engine.prefill(engine.encode("Paris is"))
    assert prefill.logits.device.type == device
    assert engine.new_generator(3).device == prefill.logits.device
    outputs = [
        engine.generate(
            prefill, n=3, max_new_tokens=8, temperature=1.0, stop_at_newline=False, generator=generator
        )
        for generator in (engine.new_generator(3), engine.new_generator(3))
    ]
    assert outputs[0] == outputs[1]
    assert len({tuple(row) for row in outputs[0]}) > 1


@pytest.mark.parametrize("name", ["/no/such/folder", "./missing-model", "~/nothing/here"])
def test_missing_folders_fail_clearly(name: str) -> None:
    with pytest.raises(ModelNotFound, match="no such model folder"):
        load_causal_lm(name)


def test_a_file_is_not_a_model(tmp_path: Path) -> None:
    file = tmp_path / "model.bin"
    file.write_bytes(b"x")
    with pytest.raises(ModelNotFound, match="is a file"):
        resolve_checkpoint(str(file))


def test_a_folder_without_a_config_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"neither config\.json"):
        load_causal_lm(str(tmp_path))


def test_an_uncached_hub_id_fails_clearly_offline() -> None:
    with pytest.raises(ModelNotFound, match="HF_HUB_OFFLINE=1"):
        load_causal_lm("some-org/model-that-is-not-cached")


@pytest.mark.parametrize("device", DEVICES)
def test_a_peft_adapter_loads_on_its_base(tiny_lm_dir: Path, tmp_path: Path, device: str) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_lm_dir, dtype=torch.float32)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    with peft_wrapping():
        adapted = get_peft_model(base, config)
    adapted.save_pretrained(tmp_path)
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.inference_mode():
        expected = adapted(input_ids=ids).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny_lm_dir, dtype=torch.float32)(input_ids=ids).logits

    loaded = load_causal_lm(str(tmp_path), device=device, dtype="float32")
    with torch.inference_mode():
        got = loaded.model(input_ids=ids.to(device)).logits.cpu()
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-3)  # the adapter changed the model
    assert loaded.tokenizer.eos_token == "<|im_end|>"  # the base's tokenizer


@pytest.mark.slow
def test_default_model_is_converted_once_and_reloads(default_model_dir: Path) -> None:
    assert (default_model_dir / "config.json").is_file()
    assert not list(default_model_dir.parent.glob(".smollm2-135m-*"))  # no scratch folder left behind
    loaded = load_causal_lm("smollm2-135m")
    assert loaded.path == str(default_model_dir)
    assert loaded.tokenizer.chat_template
    assert getattr(loaded.model.config, "quantization_config", None) is None


@pytest.mark.parametrize(
    ("offline", "users_choice", "enabled"),
    [("1", None, False), ("true", None, False), ("1", "YES", True), (None, None, True), ("0", None, True)],
)
def test_offline_models_load_without_hub_kernels_unless_the_user_asks(
    monkeypatch: pytest.MonkeyPatch, offline: str | None, users_choice: str | None, enabled: bool
) -> None:
    from transformers.integrations.hub_kernels import _kernels_enabled

    for name, value in (("HF_HUB_OFFLINE", offline), ("USE_HUB_KERNELS", users_choice)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    hub_kernels_follow_offline()
    assert _kernels_enabled() is enabled
