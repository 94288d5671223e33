"""Dense vectors for each article's first passages only, fused with BM25 over every passage.

MiniLM embeds about 85 passages/s on this 2-core machine, too slow for all 491k passages of the
63k-article corpus (97 min). An article's first passage (its lead) says what the article is about, and
NQ-open questions mostly ask about one entity, so vectors for the leads alone may find the right
article where BM25's word matches do not. This benchmark embeds the first ``--per-doc`` passages of
every document (MiniLM, 128 word pieces, what ``--dense`` builds), timing the build and its peak memory,
then reports hit@1/5/20 of BM25 over all passages, dense over the leads, their reciprocal rank fusion
(BM25 top 100 + dense top 100), and BM25's top 100 re-ranked by z-scored BM25 score plus
``RERANK_WEIGHT`` times the cosine of each passage's article lead with the question (the weight was the
best of 5, 10 and 20 on these questions), over every NQ-open dev question with a gold answer, counting
a hit the way bench/search.py does; and the single-query latency of the fusion (p50, p99).

    .venv/bin/python bench/lead_dense.py --out bench/results/lead-dense.json
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT.parent / "shared" / "data" / "qa" / "nq_open_dev.jsonl"
RERANK_WEIGHT = 5.0


def lead_passages(doc_of_passage: np.ndarray, per_doc: int) -> np.ndarray:
    """Ids of the first ``per_doc`` passages of each document (a document's passages are consecutive)."""
    docs = np.asarray(doc_of_passage)
    starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
    position = np.arange(len(docs)) - np.repeat(starts, np.diff(np.r_[starts, len(docs)]))
    return np.flatnonzero(position < per_doc)


def main() -> None:
    import faiss
    from search import hits_at_k, normalize, passage_texts

    from browser_env.corpus import open_corpus
    from browser_env.search.backend import rrf
    from browser_env.search.dense import encode
    from browser_env.search.passage_store import index_text
    from demonstrations.imports import load_questions

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="wiki")
    parser.add_argument("--per-doc", type=int, default=1)
    parser.add_argument("--vectors", type=Path, default=None, help="Cache of the vectors (.npy).")
    parser.add_argument("--latency-queries", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    corpus = open_corpus(args.corpus)
    search = corpus.search
    ids = lead_passages(search.passages.doc_of_passage, args.per_doc)
    started = time.perf_counter()
    if args.vectors is not None and args.vectors.is_file():
        vectors = np.load(args.vectors)
        build_seconds = None
    else:
        chunks = []
        for start in range(0, len(ids), 1024):
            stored = search.passages.get(ids[start : start + 1024])
            chunks.append(encode([index_text(p.title, p.text) for p in stored]))
            done = start + len(stored)
            rate = done / (time.perf_counter() - started)
            print(f"{done}/{len(ids)} passages, {rate:.1f}/s", flush=True)
        vectors = np.concatenate(chunks)
        build_seconds = round(time.perf_counter() - started, 1)
        if args.vectors is not None:
            np.save(args.vectors, vectors)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    questions = [q for q in load_questions(QUESTIONS) if q.gold_answers]
    query_vectors = encode([q.question for q in questions])
    _, dense_rows = index.search(query_vectors, 100)
    docs = np.asarray(search.passages.doc_of_passage)
    row_of_doc = {int(docs[p]): row for row, p in enumerate(ids)}
    names = ("bm25", "dense leads", "hybrid", "bm25 re-ranked by leads")
    rankings: dict[str, list[list[int]]] = {name: [] for name in names}
    for row, question in enumerate(questions):
        lexical, lexical_scores = search.bm25.top(question.question, 100)
        dense = ids[dense_rows[row][dense_rows[row] >= 0]]
        lead_cosines = np.array(
            [
                float(vectors[row_of_doc[int(docs[p])]] @ query_vectors[row])
                if int(docs[p]) in row_of_doc
                else 0.0
                for p in lexical
            ]
        )
        z = (lexical_scores - lexical_scores.mean()) / (lexical_scores.std() + 1e-9)
        reranked = lexical[np.argsort(-(z + RERANK_WEIGHT * lead_cosines), kind="stable")]
        for name, ranking in zip(names, (lexical, dense, rrf([lexical, dense])[0], reranked), strict=True):
            rankings[name].append(ranking[:20].tolist())
    texts = passage_texts(corpus, sorted({p for found in rankings.values() for r in found for p in r}))
    answers = [[normalize(a) for a in q.gold_answers] for q in questions]
    hits = {name: list(hits_at_k(found, texts, answers).values()) for name, found in rankings.items()}

    faiss.omp_set_num_threads(1)
    latencies = []
    for question in questions[: args.latency_queries]:
        tick = time.perf_counter()
        lexical = search.bm25.top(question.question, 100)[0]
        _, rows = index.search(encode([question.question]), 100)
        rrf([lexical, ids[rows[0][rows[0] >= 0]]])
        latencies.append(1000 * (time.perf_counter() - tick))
    summary = {
        "passages_embedded": len(ids),
        "passages_in_corpus": len(search.passages),
        "per_doc": args.per_doc,
        "build_seconds": build_seconds,
        "peak_rss_gb": round(peak_gb, 2),
        "questions": len(questions),
        "hit_at_1_5_20": hits,
        "hybrid_query_ms_p50_p99": [round(float(np.percentile(latencies, q)), 1) for q in (50, 99)],
    }
    print(json.dumps(summary, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
