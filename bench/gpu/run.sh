#!/usr/bin/env bash
# On a GPU machine with PyTorch and no network, from the repository root with .gpu/ (bench/gpu/prepare.sh)
# beside it: install the carried wheels, then measure both trainings' tokens/s, peak memory and MFU for
# three SmolLM2 sizes (bench/training.py): LoRA as the recipe trains, then full fine-tuning. Results go to
# $OUT (or bench/results) as training.json/.log and training-full.json/.log, each row written as it comes.
#   bash bench/gpu/run.sh [STEPS]       # 30 steps a run by default: 12 runs of under a minute each
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers, trl, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__, 'peft', peft.__version__)"
bench() {
  python3 bench/training.py --bc-data .gpu/bc.jsonl --rm-data .gpu/truthfulqa-pairs.jsonl \
    --shape-from .gpu/smollm2-135m --steps "$1" --batch 16 --max-length 1024 "${@:3}" \
    --out "$OUT/$2.json" 2>&1 | tee "$OUT/$2.log"
}
bench "${1:-30}" training
bench "${1:-30}" training-full --full
