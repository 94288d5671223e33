#!/usr/bin/env bash
# Packs what bench/gpu/run.sh needs on a GPU machine that has PyTorch but no network into .gpu/ (ignored
# by git): this project's pinned training libraries as Python 3.12 wheels, the behaviour-cloning rows and
# comparison pairs the recipe makes, and SmolLM2-135M's config and tokenizer (its weights, 270 MB, stay:
# bench/training.py shapes random weights from the config, which is all a speed measurement needs).
#   bash bench/gpu/prepare.sh       # after `webgpt train recipe --stages demos,data` (runs/ship/bc.jsonl)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/whl .gpu/smollm2-135m
version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
WHEELS=(trl datasets dill multiprocess pydantic pydantic-core annotated-types typing-inspection transformers
        huggingface-hub httpx2 httpcore2 truststore hf-xet kernels tomlkit click regex peft accelerate tokenizers
        platformdirs)
SPECS=()
for name in "${WHEELS[@]}"; do SPECS+=("$name==$(version "$name")"); done
PLATFORMS=()
for n in 2_28 2_27 2_24 2_17 2014; do
  if [ "$n" = 2014 ]; then PLATFORMS+=(--platform manylinux2014_x86_64); else PLATFORMS+=(--platform "manylinux_${n}_x86_64"); fi
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${PLATFORMS[@]}" -d .gpu/whl "${SPECS[@]}"
[ -f runs/ship/bc.jsonl ] || { echo "runs/ship/bc.jsonl missing: run webgpt train recipe --stages demos,data" >&2; exit 1; }
cp runs/ship/bc.jsonl .gpu/
if [ ! -f runs/ship/truthfulqa-pairs.jsonl ]; then  # what the recipe's rm stage writes there
  rm -f runs/ship/truthfulqa.sqlite
  .venv/bin/webgpt demos import truthfulqa ../shared/data/qa/TruthfulQA.csv --db runs/ship/truthfulqa.sqlite
  .venv/bin/webgpt demos export comparisons runs/ship/truthfulqa-pairs.jsonl --db runs/ship/truthfulqa.sqlite --split all
fi
cp runs/ship/truthfulqa-pairs.jsonl .gpu/
BASE=$(HF_HUB_OFFLINE=1 "$PY" -c "from agent.models import resolve_checkpoint; print(resolve_checkpoint('smollm2-135m'))")
for f in config.json generation_config.json tokenizer.json tokenizer_config.json chat_template.jinja; do
  [ -f "$BASE/$f" ] && cp "$BASE/$f" .gpu/smollm2-135m/
done
du -sh .gpu
echo "ready: run bench/gpu/run.sh on the GPU machine with .gpu carried along"
