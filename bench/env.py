"""Benchmark: page rendering and text-browser steps over the Python HTML documentation.

Run:  .venv/bin/python bench/env.py [--docs FOLDER] [--pages 0] [--env-pages 150] [--clock wall|cpu]

1. Render: every page of the folder (or the first ``--pages``) through ``html_to_page`` and, on the
   same bytes in the same loop, through two peers: ``html2text`` (HTML to Markdown text; install with
   ``pip install -e '.[bench]'``) and BeautifulSoup's ``get_text`` over an lxml tree. Each is timed
   on decoded-from-bytes input; the report gives p50 / p99 ms, pages/s and the peers' time over ours.
2. Environment: a ``BrowserEnv`` over a ``DocumentStore`` + ``LocalFetcher`` of the same pages.
   For each of ``--env-pages`` pages: open it (``Clicked on link``: store read + render + line
   wrapping, cold then cached), scroll down / up / Top, ``Find in page`` (first and repeated finds
   of text taken from the page) and ``Quote`` (extracts taken from the page). Steps/s and latency
   per command, observation text included.

Figures go in docs/bench-env.md. Needs the Debian ``python3-doc`` package.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup

from browser_env.docstore import Document, DocumentStore
from browser_env.env import BrowserEnv, EnvConfig
from browser_env.fetch import LocalFetcher
from browser_env.protocol import strip_links
from browser_env.render_html import html_to_page
from browser_env.web import SearchResult

# Wall-clock time by default; ``--clock cpu`` counts this process's CPU time only, which is steadier
# when other jobs share the machine (every timed call here is single-threaded and CPU-bound).
CLOCK = time.perf_counter


def find_docs() -> Path | None:
    for folder in sorted(Path("/usr/share/doc").glob("python3*/html")):
        if (folder / "library" / "json.html").exists():
            return folder.resolve()
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(times: list[float]) -> dict[str, float]:
    """Latency figures in ms and the rate per second, from times in seconds."""
    return {
        "n": len(times),
        "p50_ms": percentile(times, 50) * 1000,
        "p99_ms": percentile(times, 99) * 1000,
        "mean_ms": statistics.fmean(times) * 1000,
        "per_s": len(times) / sum(times) if sum(times) else float("inf"),
    }


# --- 1. rendering ----------------------------------------------------------------------------------


def renderers() -> dict[str, Callable[[bytes, str], object]]:
    found: dict[str, Callable[[bytes, str], object]] = {
        "html_to_page (ours)": lambda data, url: html_to_page(data, url),
        "BeautifulSoup(lxml).get_text": lambda data, url: BeautifulSoup(data, "lxml").get_text("\n"),
    }
    try:
        import html2text

        def run_html2text(data: bytes, url: str) -> object:
            converter = html2text.HTML2Text(baseurl=url, bodywidth=0)
            return converter.handle(data.decode("utf-8", errors="replace"))

        found["html2text"] = run_html2text
    except ImportError:
        print("html2text is not installed (pip install -e '.[bench]'): that peer is skipped", file=sys.stderr)
    return found


def bench_render(pages: list[tuple[str, bytes]]) -> dict[str, dict[str, float]]:
    funcs = renderers()
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for url, data in pages[:3]:  # warm imports and caches
        for func in funcs.values():
            func(data, url)
    for url, data in pages:
        for name, func in funcs.items():  # interleaved, so every renderer sees the same machine load
            start = CLOCK()
            func(data, url)
            times[name].append(CLOCK() - start)
    return {name: summary(values) for name, values in times.items()}


# --- 2. environment steps --------------------------------------------------------------------------


class UrlSearch:
    """A search backend that returns the page whose URL is the query (the bench opens pages by URL)."""

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        return [SearchResult(query, query, "")]


def _extracts(text: str, rng: random.Random, count: int, words: int) -> list[str]:
    plain_lines = [line.split() for line in strip_links(text).split("\n")]
    plain_lines = [line for line in plain_lines if len(line) >= words]
    rng.shuffle(plain_lines)
    picked = []
    for line in plain_lines[:count]:
        start = rng.randrange(len(line) - words + 1)
        picked.append(" ".join(line[start : start + words]))
    return picked


def bench_env(pages: list[tuple[str, bytes]], env_pages: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    chosen = rng.sample(pages, min(env_pages, len(pages)))
    times: dict[str, list[float]] = {}

    def timed(name: str, env: BrowserEnv, command: str) -> dict:
        start = CLOCK()
        _, _, _, _, info = env.step(command)
        times.setdefault(name, []).append(CLOCK() - start)
        return info

    with tempfile.TemporaryDirectory() as tmp:
        store = DocumentStore(Path(tmp) / "docs.sqlite")
        store.put_many(
            Document(url, "", data.decode("utf-8", errors="replace"), "html") for url, data in pages
        )
        fetcher = LocalFetcher(store, cache_size=len(pages))
        config = EnvConfig(max_actions=10**9, max_quotes=10**6)
        env = BrowserEnv(UrlSearch(), fetcher, config)
        errors = 0
        for url, _ in chosen:
            env.reset(options={"question": "How does this module work?"})
            env.step(f"Search {url}")
            info = timed("click (cold: read + render)", env, "Clicked on link 0")
            env.step("Back")
            info = timed("click (cached page)", env, "Clicked on link 0")
            errors += info["error"] is not None
            text = env.page.text if env.page else ""
            for _ in range(3):
                timed("scroll down", env, "Scrolled down 1")
            timed("scroll up", env, "Scrolled up 1")
            timed("top", env, "Top")
            for needle in _extracts(text, rng, 3, 2):
                info = timed("find", env, f"Find in page: {needle}")
                errors += info["error"] is not None
                timed("find (next occurrence)", env, f"Find in page: {needle}")
            for extract in _extracts(text, rng, 3, 8):
                info = timed("quote", env, f"Quote: {extract}")
                # a quote can be refused only as a duplicate of one already taken
                errors += info["error"] is not None and "already quoted" not in info["error"]
        store.close()
    if errors:
        print(f"warning: {errors} benchmark steps failed unexpectedly", file=sys.stderr)
    results = {name: summary(values) for name, values in times.items()}
    all_steps = [t for values in times.values() for t in values]
    results["all steps"] = summary(all_steps)
    return results


# --- report ----------------------------------------------------------------------------------------


def print_table(
    title: str, rows: dict[str, dict[str, float]], unit: str, reference: str | None = None
) -> None:
    print(f"\n{title}")
    header = f"{'':34} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} {unit + '/s':>10}"
    if reference:
        header += f" {'time vs ours':>13}"
    print(header)
    for name, row in rows.items():
        line = (
            f"{name:34} {row['n']:>6} {row['p50_ms']:>9.2f} {row['p99_ms']:>9.2f} "
            f"{row['mean_ms']:>9.2f} {row['per_s']:>10.1f}"
        )
        if reference:
            line += f" {row['mean_ms'] / rows[reference]['mean_ms']:>12.2f}x"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=None, help="folder of HTML pages (default: python3-doc)")
    parser.add_argument("--pages", type=int, default=0, help="render at most this many pages (0: all)")
    parser.add_argument("--env-pages", type=int, default=150, help="pages browsed in the environment bench")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="what the timings count")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    folder = args.docs or find_docs()
    if folder is None or not folder.is_dir():
        sys.exit("no HTML folder: install Debian python3-doc or pass --docs FOLDER")
    files = sorted(folder.rglob("*.html"))
    if args.pages:
        files = files[: args.pages]
    pages = [(path.as_uri(), path.read_bytes()) for path in files]
    megabytes = sum(len(data) for _, data in pages) / 1e6
    print(f"{len(pages)} pages, {megabytes:.1f} MB of HTML from {folder}; {args.clock} time")

    render = bench_render(pages)
    print_table("Page rendering (HTML bytes -> text)", render, "pages", reference="html_to_page (ours)")
    env = bench_env(pages, args.env_pages, args.seed)
    print_table(f"Environment steps ({min(args.env_pages, len(pages))} pages)", env, "steps")
    if args.json:
        figures = {"pages": len(pages), "clock": args.clock, "render": render, "env": env}
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
