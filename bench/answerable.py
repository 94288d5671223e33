"""How many BM25-reachable questions can be answered from BM25's top 20 at all: the teacher's ceiling.

"Reachable" means a passage among BM25's first 20 holds a gold answer string; often the string is there
by chance (a "one" in another sentence, a year of another event). This draws a seeded sample of the
reachable questions the teacher does not support, writes every top-20 passage holding a gold answer
(the sentence that holds it, after the one before) and the other sentences of their articles holding one
for a person to judge, and, given the judged file, bounds what any judge could support.

    .venv/bin/python bench/teacher.py --split all --out runs/teacher.json --sample-out runs/supported.jsonl
    .venv/bin/python bench/answerable.py draw --supported runs/supported.jsonl --out runs/answerable.jsonl
    # judge each line: "answerable": "yes" | "partly" | "no" (docs/teacher.md says how), then
    .venv/bin/python bench/answerable.py bound --labels docs/answerable-labels.jsonl \\
        --teacher runs/teacher.json

Needs the 63k-article corpus (``webgpt corpus build wiki ../shared/data/wiki/wiki-2019-63k.jsonl.xz
--no-dense``) and the reachable cache ``bench/teacher.py`` writes.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `training`, not bench/training.py

import numpy as np
from teacher import DEFAULT_QUESTIONS, ROOT

from browser_env.corpus import open_corpus
from browser_env.protocol.keywords import stems
from demonstrations.scripted.reading import split_sentences
from training.answer_metrics import contains_gold
from training.common import split_questions


def gold_passages(search: Any, question: str, golds: list[str], k: int = 20) -> dict[str, list]:
    """What a judge reads: BM25's first ``k`` passages holding a gold answer as whole words (rank, title,
    the sentence holding it after the one before), and the other sentences holding one, sharing a word
    with the question, in the articles of its first 8 result documents (what the teacher opens)."""
    ids = search.bm25.top(question, k)[0].tolist()
    passages = []
    for rank, passage in enumerate(search.passages.get(ids), 1):
        if not contains_gold(f"{passage.title} {passage.text}", golds):
            continue
        sentences = [text for _, text in split_sentences(passage.text)]
        holding = [i for i, s in enumerate(sentences) if contains_gold(s, golds)]
        start = max(0, holding[0] - 1) if holding else 0
        excerpt = " ".join(sentences[start : holding[0] + 1] if holding else sentences[:1])
        passages.append({"rank": rank, "title": passage.title, "text": excerpt[:600]})
    doc_of = np.asarray(search.passages.doc_of_passage)
    asked = stems(question)
    elsewhere = []
    for doc in list(dict.fromkeys(int(doc_of[i]) for i in ids))[:8]:
        first, end = np.searchsorted(doc_of, doc), np.searchsorted(doc_of, doc, side="right")
        for passage in search.passages.get(range(int(first), int(end))):
            if passage.id in ids:
                continue
            elsewhere += [
                {"title": passage.title, "text": s[:600]}
                for _, s in split_sentences(passage.text)
                if contains_gold(s, golds) and stems(s) & asked
            ]
    return {"passages": passages, "in_articles": elsewhere}


def draw(args: argparse.Namespace) -> None:
    reachable = json.loads((ROOT / "bench" / "results" / f"reachable-{args.corpus}.json").read_text())
    supported = {json.loads(line)["question"] for line in args.supported.read_text().splitlines() if line}
    questions = {q.question: q for q in split_questions(str(args.questions), "all")}
    failed = sorted(q for q, ok in reachable.items() if ok and q not in supported and q in questions)
    random.Random(args.seed).shuffle(failed)
    search = open_corpus(args.corpus).search
    lines = []
    for text in failed[: args.n]:
        golds = questions[text].gold_answers
        row = {"question": text, "gold": golds, "answerable": None}
        lines.append(json.dumps(row | gold_passages(search, text, golds), ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"{len(lines)} of {len(failed)} reachable questions the teacher does not support: {args.out}")


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a share ``hits / n``."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bound(args: argparse.Namespace) -> None:
    labels = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    teacher = json.loads(args.teacher.read_text())
    reachable, supported = teacher["reachable"], teacher["supported_reachable"]
    precision = teacher["precision"] / 100 if teacher.get("precision") is not None else 1.0
    truly = supported * precision
    failed = reachable - supported
    report: dict[str, Any] = {"judged": len(labels), "reachable": reachable, "truly_supported": round(truly)}
    for name, accepted in (("clearly", {"yes"}), ("at_most", {"yes", "partly"})):
        hits = sum(row["answerable"] in accepted for row in labels)
        low, high = wilson(hits, len(labels))
        shares = (low, hits / len(labels), high)
        report[name] = {
            "answerable": hits,
            "share_of_failures": round(hits / len(labels), 3),
            "ceiling_pct_of_reachable_low_mid_high": [
                round(100 * (truly + failed * share) / reachable, 1) for share in shares
            ],
        }
    print(json.dumps(report, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    drawing = commands.add_parser("draw", help="sample reachable questions the teacher does not support")
    drawing.add_argument("--supported", type=Path, required=True, help="bench/teacher.py --sample-out file")
    drawing.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    drawing.add_argument("--corpus", default="wiki")
    drawing.add_argument("--n", type=int, default=70)
    drawing.add_argument("--seed", type=int, default=22)
    drawing.add_argument("--out", type=Path, required=True)
    bounding = commands.add_parser("bound", help="what any judge could support, from judged questions")
    bounding.add_argument("--labels", type=Path, required=True)
    bounding.add_argument("--teacher", type=Path, required=True, help="bench/teacher.py --out report")
    args = parser.parse_args()
    draw(args) if args.command == "draw" else bound(args)


if __name__ == "__main__":
    main()
