"""Search benchmark: index build rate, query latency and retrieval hit@k; ``rank_bm25`` as the peer.

Needs a built corpus (BM25 only is enough) and the NQ-open dev questions from ../shared/data/qa/:

    .venv/bin/webgpt corpus build wiki ../shared/data/wiki/wiki-2019-63k.jsonl.xz --no-dense
    .venv/bin/python bench/search.py --corpus wiki --out bench/results/search.json

What it measures (one thread of queries, one query at a time):
- BM25 over the whole corpus: tokenize + index rate, query latency p50/p99 (raw passage ranking, ranking
  with the passage ranker's order, the full ``search`` with per-document dedup and snippets in either
  order, and bm25s's own ``retrieve`` for reference), hit@1/5/20 in BM25's order and the passage
  ranker's, on all questions and on the test split (the ranker is fit on the training split).
- rank_bm25 (BM25Okapi) on the same tokens: index rate and query latency, as ratios to ours.
- Dense (MiniLM + faiss IndexFlatIP) and hybrid (reciprocal rank fusion) on a random subset of whole
  documents (``--dense-passages``, default 20,000 passages): embedding rate, latency, and hit@k against
  BM25 on the same subset, over the questions whose answer occurs in the subset; flat against HNSW
  (recall, latency) on those vectors, and flat latency at the full corpus size (random vectors).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from browser_env.corpus import open_corpus
from browser_env.search.backend import rrf
from browser_env.search.bm25 import Bm25Builder, Bm25Index, make_tokenizer
from browser_env.search.dense import MAX_TOKENS
from browser_env.search.passage_store import index_text
from demonstrations.splits import split_of

DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "qa" / "nq_open_dev.jsonl"
KS = (1, 5, 20)


def normalize(text: str) -> str:
    """SQuAD-style: lower case, no punctuation or articles, single spaces; padded to match whole words.
    What "BM25 reaches the answer" has meant for every published figure (1,150 of the 3,610 NQ-open dev
    questions, 238 of the test split): the evaluation's ``normalize_answer`` also reads possessives and
    typographic quotes, and would make 13 more questions reachable, so it is not used here."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " " + " ".join(text.split()) + " "


def load_questions(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def time_queries(run: Callable[[str], object], queries: list[str]) -> dict[str, float]:
    run(queries[0])  # warm-up (lazy loads, page cache)
    seconds = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        seconds.append(time.perf_counter() - started)
    return percentiles(seconds) | {"queries": len(queries)}


def hits_at_k(rankings: list[list[int]], texts: dict[int, str], answers: list[list[str]]) -> dict[str, float]:
    """Share of questions with a gold answer in one of their top-k passages, for each k in KS."""
    found = {k: 0 for k in KS}
    for ranking, golds in zip(rankings, answers, strict=True):
        first = next((rank for rank, pid in enumerate(ranking) if any(g in texts[pid] for g in golds)), None)
        for k in KS:
            found[k] += first is not None and first < k
    return {f"hit@{k}": round(100 * found[k] / max(1, len(rankings)), 1) for k in KS}


def passage_texts(corpus: Any, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        for p in corpus.search.passages.get(ids[start : start + 900]):
            out[p.id] = normalize(index_text(p.title, p.text))
    return out


def all_index_texts(corpus: Any) -> list[str]:
    texts: list[str] = []
    for batch in corpus.search.passages.iter_texts(batch=5000):
        texts.extend(batch)
    return texts


def bench_bm25(corpus: Any, questions: list[dict], latency_n: int) -> dict[str, Any]:
    search = corpus.search
    queries = [q["question"] for q in questions]
    answers = [[normalize(a) for a in q["answer"]] for q in questions]
    out: dict[str, Any] = {"passages": len(search.passages)}
    out["rank_latency"] = time_queries(lambda q: search.bm25.top(q, 20), queries[:latency_n])
    out["search_latency"] = time_queries(lambda q: search.search(q, k=10), queries[:latency_n])
    search.rerank = True
    out["reranked_rank_latency"] = time_queries(lambda q: search.rank(q, 20, "bm25"), queries[:latency_n])
    out["reranked_search_latency"] = time_queries(lambda q: search.search(q, k=10), queries[:latency_n])
    retriever = search.bm25.retriever
    # Bm25Index loads its vocabulary from sorted arrays, not bm25s's JSON: tell bm25s which ids exist
    retriever.unique_token_ids_set = set(range(len(search.bm25.vocabulary)))

    def bm25s_retrieve(query: str) -> object:
        """bm25s's own scoring and top-k on the same query ids (what LocalSearch replaces)."""
        ids = search.bm25.query_ids(query)
        return retriever.retrieve([ids], k=20, show_progress=False) if ids else None

    out["bm25s_retrieve_latency"] = time_queries(bm25s_retrieve, queries[:latency_n])
    rankings = {
        "bm25": [search.bm25.top(q, 20)[0].tolist() for q in queries],
        "passage_ranker": [search.rank(q, 20, "bm25")[0].tolist() for q in queries],
    }
    search.rerank = False
    texts = passage_texts(
        corpus, sorted({pid for r in rankings.values() for ranking in r for pid in ranking})
    )
    # The passage ranker is fit on the training split: its test split is the fair comparison.
    test = [split_of(q) == "test" for q in queries]
    for name, ranked in rankings.items():
        out[f"hits_all_questions_{name}"] = hits_at_k(ranked, texts, answers) | {"questions": len(queries)}
        held = [r for r, t in zip(ranked, test, strict=True) if t]
        held_answers = [a for a, t in zip(answers, test, strict=True) if t]
        out[f"hits_test_split_{name}"] = hits_at_k(held, texts, held_answers) | {"questions": len(held)}
    return out


def bench_index_build(texts: list[str], peer_queries: list[str]) -> dict[str, Any]:
    """Ours (bm25s: tokenize, index, save) against rank_bm25 (index from the same tokens); peer latency."""
    from rank_bm25 import BM25Okapi

    out: dict[str, Any] = {"passages": len(texts)}
    builder = Bm25Builder()
    started = time.perf_counter()
    builder.add(texts)
    tokenize_s = time.perf_counter() - started
    token_ids, vocab = builder.token_ids, builder.tokenizer.stem_to_sid
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index((token_ids, vocab), show_progress=False)
    index_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        retriever.save(folder, show_progress=False)
        save_s = time.perf_counter() - started
    del retriever
    stems = {sid: stem for stem, sid in builder.tokenizer.stem_to_sid.items()}
    tokens = [[stems[t] for t in doc if stems[t]] for doc in token_ids]
    started = time.perf_counter()
    peer = BM25Okapi(tokens)
    peer_index_s = time.perf_counter() - started
    out["ours_tokenize_s"] = round(tokenize_s, 2)
    out["ours_index_s"] = round(index_s, 2)
    out["ours_save_s"] = round(save_s, 2)
    out["ours_tokenize_index_save_passages_per_s"] = round(len(texts) / (tokenize_s + index_s + save_s))
    out["ours_index_only_passages_per_s"] = round(len(texts) / index_s)
    out["rank_bm25_index_s"] = round(peer_index_s, 2)
    out["rank_bm25_index_passages_per_s"] = round(len(texts) / peer_index_s)
    tokenizer = make_tokenizer()
    tokenizer.stem_to_sid = builder.tokenizer.stem_to_sid

    def peer_top(query: str) -> np.ndarray:
        ids = next(iter(tokenizer.streaming_tokenize([query], update_vocab=False)))
        scores = peer.get_scores([stems[t] for t in ids if stems[t]])
        return np.argpartition(scores, -20)[-20:]

    out["rank_bm25_latency"] = time_queries(peer_top, peer_queries)
    return out


def sample_subset(corpus: Any, target: int, seed: int) -> np.ndarray:
    """Passage ids of randomly chosen whole documents, about ``target`` passages in all."""
    doc_of = np.asarray(corpus.search.passages.doc_of_passage)
    docs = list(range(int(doc_of.max()) + 1))
    random.Random(seed).shuffle(docs)
    starts = np.searchsorted(doc_of, np.arange(len(docs) + 1))
    chosen: list[int] = []
    for doc in docs:
        chosen.extend(range(starts[doc], starts[doc + 1]))
        if len(chosen) >= target:
            break
    return np.asarray(sorted(chosen), dtype=np.int64)


def subset_vectors(texts: list[str], ids: np.ndarray, cache: Path | None) -> tuple[np.ndarray, float | None]:
    """MiniLM vectors of the subset, and the embedding rate (None when read back from ``cache``)."""
    from browser_env.search.dense import encode

    if cache is not None and cache.exists():
        saved = np.load(cache)
        if np.array_equal(saved["ids"], ids):
            return saved["vectors"], None
    encode(texts[:8])  # load the model outside the timing
    started = time.perf_counter()
    vectors = np.concatenate([encode(texts[i : i + 1024]) for i in range(0, len(texts), 1024)])
    rate = len(texts) / (time.perf_counter() - started)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ids=ids, vectors=vectors)
    return vectors, rate


def bench_dense_subset(
    corpus: Any, questions: list[dict], target: int, latency_n: int, seed: int, cache: Path | None
) -> dict[str, Any]:
    import faiss

    from browser_env.search.dense import DenseIndex, encode

    subset = sample_subset(corpus, target, seed)
    rows = corpus.search.passages.get(subset.tolist())
    texts = [index_text(p.title, p.text) for p in rows]
    out: dict[str, Any] = {"passages": len(texts), "documents": len({p.doc for p in rows})}
    vectors, rate = subset_vectors(texts, subset, cache)
    out["embed_passages_per_s"] = round(rate, 1) if rate else "cached"
    with tempfile.TemporaryDirectory() as folder:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        faiss.write_index(index, str(Path(folder) / "dense.faiss"))
        dense = DenseIndex(Path(folder) / "dense.faiss")
        builder = Bm25Builder()
        builder.add(texts)
        builder.save(Path(folder) / "bm25", show_progress=False)
        bm25 = Bm25Index(Path(folder) / "bm25", mmap=False)
        queries = [q["question"] for q in questions]
        out["bm25_latency"] = time_queries(lambda q: bm25.top(q, 20), queries[:latency_n])
        out["dense_latency"] = time_queries(lambda q: dense.top(q, 20), queries[:latency_n])
        out["hybrid_latency"] = time_queries(
            lambda q: rrf([bm25.top(q, 100)[0], dense.top(q, 100)[0]]), queries[:latency_n]
        )
        normalized = {i: normalize(t) for i, t in enumerate(texts)}
        haystack = "\n".join(normalized.values())
        answerable = [q for q in questions if any(normalize(a) in haystack for a in q["answer"])]
        answers = [[normalize(a) for a in q["answer"]] for q in answerable]
        lexical = [bm25.top(q["question"], 100)[0] for q in answerable]
        started = time.perf_counter()
        query_vectors = encode([q["question"] for q in answerable])
        out["query_encode_per_s"] = round(len(answerable) / (time.perf_counter() - started), 1)
        semantic = [dense.top_vector(v, 100)[0] for v in query_vectors]
        fused = [rrf([a, b])[0] for a, b in zip(lexical, semantic, strict=True)]
        out["answerable_questions"] = len(answerable)
        for name, rankings in (("bm25", lexical), ("dense", semantic), ("hybrid", fused)):
            out[f"hits_{name}"] = hits_at_k([r[:20].tolist() for r in rankings], normalized, answers)
        out["flat_vs_hnsw"] = bench_hnsw(vectors, query_vectors[:latency_n])
    return out


def bench_hnsw(vectors: np.ndarray, queries: np.ndarray, k: int = 20) -> dict[str, Any]:
    """Exact IndexFlatIP against HNSW on the same real vectors: build time, latency, recall@k; and flat
    latency at the full corpus size (random unit vectors, as many as the corpus has passages)."""
    import faiss

    faiss.omp_set_num_threads(1)  # single queries, as DenseIndex runs them

    def latency(index: Any) -> dict[str, float]:
        seconds = []
        for vector in queries:
            started = time.perf_counter()
            index.search(vector.reshape(1, -1), k)
            seconds.append(time.perf_counter() - started)
        return percentiles(seconds)

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    _, truth = flat.search(queries, k)
    out: dict[str, Any] = {"flat": latency(flat)}
    started = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.add(vectors)
    out["hnsw_build_s"] = round(time.perf_counter() - started, 2)
    for ef in (32, 128):
        hnsw.hnsw.efSearch = ef
        _, found = hnsw.search(queries, k)
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth, strict=True)])
        out[f"hnsw_ef{ef}"] = latency(hnsw) | {f"recall@{k}": round(float(recall), 3)}
    return out


def bench_embed_threads(corpus: Any, sample: int, seed: int) -> dict[str, Any]:
    """Passage embedding rate with 1 and with all torch threads, on ``sample`` random passages."""
    import torch

    from browser_env.search.dense import encode, load_encoder

    ids = np.random.default_rng(seed).choice(len(corpus.search.passages), size=sample, replace=False)
    texts = [index_text(p.title, p.text) for p in corpus.search.passages.get(sorted(ids.tolist()))]
    load_encoder()
    encode(texts[:16])
    out: dict[str, Any] = {"passages": len(texts)}
    default = torch.get_num_threads()
    for threads in sorted({1, default}):
        torch.set_num_threads(threads)
        started = time.perf_counter()
        encode(texts)
        out[f"threads_{threads}_passages_per_s"] = round(len(texts) / (time.perf_counter() - started), 1)
    torch.set_num_threads(default)
    return out


def bench_flat_full_scale(passages: int, queries: int = 200, dim: int = 384) -> dict[str, Any]:
    import faiss

    faiss.omp_set_num_threads(1)  # single queries, as DenseIndex runs them
    rng = np.random.default_rng(0)
    flat = faiss.IndexFlatIP(dim)
    for start in range(0, passages, 50_000):
        block = rng.standard_normal((min(50_000, passages - start), dim), dtype=np.float32)
        flat.add(block / np.linalg.norm(block, axis=1, keepdims=True))
    probes = rng.standard_normal((queries, dim), dtype=np.float32)
    seconds = []
    for vector in probes:
        started = time.perf_counter()
        flat.search(vector.reshape(1, -1), 20)
        seconds.append(time.perf_counter() - started)
    return {"vectors": passages} | percentiles(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", default="wiki")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--latency-queries", type=int, default=500)
    parser.add_argument("--peer-queries", type=int, default=100, help="rank_bm25 is slow per query")
    parser.add_argument("--dense-passages", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["bm25", "peer", "dense", "flat", "embed"])
    parser.add_argument("--embed-sample", type=int, default=1024)
    parser.add_argument(
        "--vectors-cache",
        type=Path,
        default=Path(f"bench/results/dense_subset_vectors_{MAX_TOKENS}.npz"),
        help="reuse the subset's vectors on a second run (the embedding rate is then not re-measured)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/search.json"))
    args = parser.parse_args()

    corpus = open_corpus(args.corpus, mode="bm25")
    questions = load_questions(args.questions)
    results: dict[str, Any] = {
        "corpus": args.corpus,
        "corpus_meta": {k: corpus.meta[k] for k in ("documents", "passages", "build_seconds", "timings")},
        "load_average_at_start": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    started = time.perf_counter()
    _ = corpus.search
    results["open_s"] = round(time.perf_counter() - started, 2)
    if "bm25" not in args.skip:
        results["bm25"] = bench_bm25(corpus, questions, args.latency_queries)
        print(json.dumps(results["bm25"], indent=1), flush=True)
    if "peer" not in args.skip:
        texts = all_index_texts(corpus)
        queries = [q["question"] for q in questions[: args.peer_queries]]
        results["index_build"] = bench_index_build(texts, queries)
        del texts
        print(json.dumps(results["index_build"], indent=1), flush=True)
    if "dense" not in args.skip:
        results["dense_subset"] = bench_dense_subset(
            corpus, questions, args.dense_passages, args.latency_queries, args.seed, args.vectors_cache
        )
        print(json.dumps(results["dense_subset"], indent=1), flush=True)
    if "embed" not in args.skip:
        results["embed_threads"] = bench_embed_threads(corpus, args.embed_sample, args.seed)
        print(json.dumps(results["embed_threads"], indent=1), flush=True)
    if "flat" not in args.skip:
        results["flat_full_scale"] = bench_flat_full_scale(len(corpus.search.passages))
        print(json.dumps(results["flat_full_scale"], indent=1), flush=True)
    results["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Parts skipped this time keep the figures of an earlier run.
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    if "dense_subset" in results and results["dense_subset"]["embed_passages_per_s"] == "cached":
        results["dense_subset"]["embed_passages_per_s"] = previous.get("dense_subset", {}).get(
            "embed_passages_per_s", "cached"
        )
    args.out.write_text(json.dumps(previous | results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
