"""Benchmark ``webgpt ask`` from a cold CLI: a new process per question, one sample, the default model.

    .venv/bin/python bench/cold_start.py                             # 5 runs on --corpus wiki
    .venv/bin/python bench/cold_start.py --runs 10 --corpus wiki --corpus default
    git worktree add /tmp/coldstart-before <commit>
    .venv/bin/python bench/cold_start.py --before /tmp/coldstart-before   # the old code side by side

Each run is ``python -m webgpt_cli.app ask QUESTION --corpus NAME --json`` in a fresh process (the
questions in turn); with ``--before``, the same command with ``PYTHONPATH=<that checkout>`` runs right
after each run of this checkout, so both see the same load. Reported: p50/p90 wall, and the median of
each part (from ``timings`` and ``timings.startup`` in the JSON): process start and CLI imports, corpus
open, model load (torch and transformers imports included), search index load, browsing, answering,
then printing and exit (the rest of the wall time). Code without ``timings.startup`` shows only what
came before the episode as one figure. Answers, references and actions of both are compared.
Writes ``bench/results/cold_start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "Who designed the Eiffel Tower?",
    "When did the Berlin Wall fall?",
    "What is the capital of Australia?",
    "Who wrote Pride and Prejudice?",
    "What is the boiling point of water?",
]
STARTUP = ("process_start", "corpus_open", "model_load", "index_load")
PARTS = (*STARTUP, "browsing", "answer", "exit")


def run_once(checkout: Path, question: str, corpus: str) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-m", "webgpt_cli.app", "ask", question, "--corpus", corpus, "--json"]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=checkout)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: exit {done.returncode}\n{done.stderr[-2000:]}")
    payload = json.loads(done.stdout)
    timings = payload["timings"]
    parts: dict[str, float | None] = dict.fromkeys(PARTS)
    startup = timings.get("startup") or {}
    for name in STARTUP:
        parts[name] = startup.get(name)
    parts["browsing"] = timings["total"] - timings["answer"]
    parts["answer"] = timings["answer"]
    known = [parts[name] for name in STARTUP]
    if all(value is not None for value in known):
        parts["exit"] = wall - timings["total"] - sum(v for v in known if v is not None)
    return {
        "question": question,
        "corpus": corpus,
        "wall": round(wall, 3),
        "before_episode": round(wall - timings["total"], 3),  # startup and exit, for any version
        "episode": timings["total"],
        "parts": {k: round(v, 3) if v is not None else None for k, v in parts.items()},
        "load_average": load,
        "answer": [payload["answer"], payload["references"], payload["actions"]],
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall"] for r in runs]
    result: dict[str, Any] = {
        "runs": len(runs),
        "wall_p50": round(statistics.median(walls), 2),
        "wall_p90": round(percentile(walls, 0.9), 2),
        "before_episode_p50": round(statistics.median(r["before_episode"] for r in runs), 2),
        "episode_p50": round(statistics.median(r["episode"] for r in runs), 2),
        "load_average_median": round(statistics.median(r["load_average"] for r in runs), 2),
    }
    for name in PARTS:
        values = [r["parts"][name] for r in runs if r["parts"][name] is not None]
        result[name] = round(statistics.median(values), 2) if values else None
    return result


def show(label: str, columns: dict[str, dict[str, Any]]) -> None:
    names = list(columns)
    print(f"\n{label}")
    print(f"{'':34s}" + "".join(f"{n:>14s}" for n in names))
    rows = [
        ("runs", "runs"),
        ("wall p50 (s)", "wall_p50"),
        ("wall p90 (s)", "wall_p90"),
        ("before + after the episode p50", "before_episode_p50"),
        ("  process start + CLI imports", "process_start"),
        ("  corpus open", "corpus_open"),
        ("  model load (with imports)", "model_load"),
        ("  search index load", "index_load"),
        ("  printing + exit", "exit"),
        ("episode p50", "episode_p50"),
        ("  browsing", "browsing"),
        ("  answer", "answer"),
        ("load average (median)", "load_average_median"),
    ]
    for title, key in rows:
        cells = []
        for name in names:
            value = columns[name].get(key)
            cells.append(f"{value:>14}" if value is not None else f"{'—':>14s}")
        print(f"{title:34s}" + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="Runs per corpus (questions taken in turn).")
    parser.add_argument("--corpus", action="append", help="Corpus to ask (repeatable; default: wiki).")
    parser.add_argument("--before", type=Path, help="A checkout of the code to compare with.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cold_start.json")
    args = parser.parse_args()
    corpora = args.corpus or ["wiki"]
    versions = {"after": ROOT, **({"before": args.before.resolve()} if args.before else {})}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {c: {v: [] for v in versions} for c in corpora}
    for corpus in corpora:
        for index in range(args.runs):
            question = QUESTIONS[index % len(QUESTIONS)]
            order = list(versions) if index % 2 == 0 else list(reversed(versions))
            for version in order:
                run = run_once(versions[version], question, corpus)
                runs[corpus][version].append(run)
                print(
                    f"{corpus} {version:6s} {run['wall']:6.2f} s  episode {run['episode']:5.2f} s  "
                    f"load {run['load_average']:.2f}  {question}",
                    file=sys.stderr,
                )
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {k: str(v) for k, v in versions.items()},
        "corpora": {},
    }
    for corpus in corpora:
        columns = {version: summary(runs[corpus][version]) for version in versions}
        if "before" in versions:
            same = all(
                a["answer"] == b["answer"]
                for a, b in zip(runs[corpus]["after"], runs[corpus]["before"], strict=True)
            )
            columns["after"]["same_answers_as_before"] = same
            print(f"\n{corpus}: same answers, references and actions as before: {same}")
        show(f"--corpus {corpus}", columns)
        report["corpora"][corpus] = {"summary": columns, "runs": runs[corpus]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
