"""Benchmark prompt-lookup decoding on the shipped policy's answering prompts, beside transformers.

    .venv/bin/python bench/lookup.py --questions 12          # writes bench/results/lookup.json

Each question is browsed once with the shipped policy (scheduled browsing, default corpus); its answering
prompt is then decoded greedily, side by side in the same run, four ways on the same loaded model:
our engine token by token (``draft_tokens=0``), our engine with prompt lookup (the default),
``transformers``' ``generate`` and the same with its own prompt lookup (``prompt_lookup_num_tokens``).
All use the answerer's repetition penalty and stop at the end of the turn. Reports decoding
tokens/s, the p50 time per answer, each variant's speed-up over token by token, and how many answers
are identical to token by token (bf16 sums come out slightly differently when several tokens share a
forward, so a near tie can flip).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ask import QUESTIONS  # the same questions as bench/ask.py

DRAFT = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--out", type=Path, default=Path("bench/results/lookup.json"))
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    from agent.policies import load_agent
    from agent.rollout import browse
    from browser_env.corpus import ensure_default_corpus

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    corpus = ensure_default_corpus()
    agent = load_agent()
    answerer, engine = agent.answerer, agent.answerer.engine
    prompts = []
    for question, _ in QUESTIONS[: args.questions]:
        browsed = browse(question, agent.policy, corpus.search, corpus.fetcher)
        if browsed.needs_answer:
            prompts.append(answerer.prompt_ids(question, browsed.quotes))
    stops = sorted(engine.stop_ids())
    penalty = answerer.repetition_penalty

    def ours(draft_tokens: int) -> Any:
        def run(ids: list[int]) -> list[int]:
            return engine.generate_batch(
                [ids],
                max_new_tokens=args.max_new_tokens,
                temperature=0,
                stop_at_newline=False,
                repetition_penalty=penalty,
                draft_tokens=draft_tokens,
            )[0][0]

        return run

    def theirs(lookup: int | None) -> Any:
        def run(ids: list[int]) -> list[int]:
            extra = {"prompt_lookup_num_tokens": lookup} if lookup else {}
            with torch.inference_mode():
                out = engine.model.generate(
                    torch.tensor([ids], device=engine.model.device),
                    max_new_tokens=args.max_new_tokens,
                    do_sample=False,
                    repetition_penalty=penalty,
                    eos_token_id=stops,
                    pad_token_id=engine.tokenizer.pad_token_id or 0,
                    **extra,
                )[0, len(ids) :].tolist()
            return [t for t in out if t not in stops]

        return run

    variants = {
        "ours, token by token": ours(0),
        f"ours, prompt lookup ({DRAFT} tokens)": ours(DRAFT),
        "transformers generate": theirs(None),
        f"transformers generate, prompt lookup ({DRAFT} tokens)": theirs(DRAFT),
    }
    ours(DRAFT)(prompts[0])  # warm-up
    results: dict[str, dict[str, Any]] = {name: {"seconds": [], "outputs": []} for name in variants}
    for ids in prompts:  # every variant on one prompt before the next: same machine load
        for name, run in variants.items():
            started = time.perf_counter()
            output = run(ids)
            results[name]["seconds"].append(time.perf_counter() - started)
            results[name]["outputs"].append(output)
    baseline = results["ours, token by token"]
    summary: dict[str, Any] = {"answers": len(prompts), "load_average": list(os.getloadavg())}
    for name, result in results.items():
        tokens = sum(len(o) for o in result["outputs"])
        seconds = sum(result["seconds"])
        summary[name] = {
            "decode_tokens_per_second": round(tokens / seconds, 1),
            "p50_seconds_per_answer": round(statistics.median(result["seconds"]), 2),
            "speed_up_over_token_by_token": round(sum(baseline["seconds"]) / seconds, 2),
            "same_as_token_by_token": sum(
                a == b for a, b in zip(result["outputs"], baseline["outputs"], strict=True)
            ),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"summary": summary, "answers": [engine.decode(o) for o in baseline["outputs"]]}
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
