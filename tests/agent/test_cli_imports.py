"""A fresh ``webgpt`` process imports heavy libraries only for the commands that use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

MODEL_LIBRARIES = ("torch", "transformers", "sentence_transformers", "datasets", "faiss", "peft", "trl")
SEARCH_LIBRARIES = ("numpy", "scipy", "bm25s")
OTHERS = ("bs4", "httpx", "lxml", "fastapi", "uvicorn", "jinja2", "matplotlib")

SCRIPT = """
import json, sys
from typer.testing import CliRunner
import webgpt_cli.app
after_import = sorted(sys.modules)
result = CliRunner().invoke(webgpt_cli.app.app, sys.argv[1:]) if len(sys.argv) > 1 else None
print(json.dumps({"import": after_import, "run": sorted(sys.modules),
                  "exit_code": result.exit_code if result else 0,
                  "output": result.output if result else ""}))
"""


def _modules(*args: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout)


def _top_level(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_importing_the_cli_imports_no_heavy_library() -> None:
    loaded = _top_level(_modules()["import"])
    assert not loaded & {*MODEL_LIBRARIES, *SEARCH_LIBRARIES, *OTHERS}


def test_commands_without_a_model_import_no_model_library(tiny_corpus) -> None:
    listing = _modules("corpus", "list")
    assert listing["exit_code"] == 0, listing["output"]
    assert not _top_level(listing["run"]) & {*MODEL_LIBRARIES, *SEARCH_LIBRARIES}
    scripted = _modules(
        "ask", "Who designed the Eiffel Tower?", "--corpus", tiny_corpus.name, "--policy", "scripted"
    )
    assert scripted["exit_code"] == 0, scripted["output"]
    assert "Gustave Eiffel" in scripted["output"]
    assert not _top_level(scripted["run"]) & set(MODEL_LIBRARIES)
