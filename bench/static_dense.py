"""Static dense vectors for the whole 63k-article corpus, and whether they help search (hit@1/5/20).

MiniLM cannot embed all 491k passages within 30 minutes on this 2-core machine (~50 passages/s, about
2.7 hours). This benchmark tries the fast alternative: static word-piece vectors distilled from the
same MiniLM (each of its 30,522 word pieces run through the model alone, mean-pooled, PCA to 256
dimensions), a passage being the IDF-weighted sum of the vectors of its distinct word pieces. It
reports the build time, then hit@1/5/20 of BM25, the static vectors (exact inner product) and their
reciprocal-rank fusion, over every NQ-open dev question with a gold answer, the way bench/search.py
counts a hit.

    .venv/bin/python bench/static_dense.py --out bench/results/static-dense.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT.parent / "shared" / "data" / "qa" / "nq_open_dev.jsonl"
DIMS = 256


def distil(tokenizer, path: Path) -> np.ndarray:
    """One vector per word piece: MiniLM's mean-pooled output for ``[CLS] piece [SEP]``."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(path)).eval()
    size = tokenizer.vocab_size
    vectors = np.zeros((size, model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, size, 1024):
            ids = torch.arange(start, min(size, start + 1024))
            ends = [
                torch.full_like(ids, tokenizer.cls_token_id),
                ids,
                torch.full_like(ids, tokenizer.sep_token_id),
            ]
            inputs = torch.stack(ends, 1)
            hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            vectors[start : start + len(ids)] = hidden.mean(1).numpy()
    return vectors


def main() -> None:
    import faiss
    import scipy.sparse as sparse
    from search import hits_at_k, normalize, passage_texts
    from sklearn.decomposition import PCA
    from transformers import AutoTokenizer

    from browser_env.corpus import open_corpus
    from browser_env.search.backend import rrf
    from browser_env.search.dense import model_path
    from demonstrations.imports import load_questions

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="wiki")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(model_path()))
    pieces = PCA(DIMS, random_state=0).fit_transform(distil(tokenizer, model_path())).astype(np.float32)
    distilled = time.perf_counter() - started
    corpus = open_corpus(args.corpus)
    search = corpus.search
    columns, pointers = [], [0]
    for texts in search.passages.iter_texts(4096):
        for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
            distinct = np.unique(ids)
            columns.append(distinct)
            pointers.append(pointers[-1] + len(distinct))
    flat = np.concatenate(columns)
    counts = sparse.csr_matrix(
        (np.ones(len(flat), dtype=np.float32), flat, np.array(pointers)),
        shape=(len(pointers) - 1, tokenizer.vocab_size),
    )
    frequency = np.bincount(flat, minlength=tokenizer.vocab_size)
    idf = np.log((counts.shape[0] + 1) / (frequency + 1)).astype(np.float32)
    passages = np.asarray(counts.multiply(idf[None, :]).tocsr() @ pieces, dtype=np.float32)
    passages /= np.linalg.norm(passages, axis=1, keepdims=True) + 1e-9
    built = time.perf_counter() - started

    def vector(text: str) -> np.ndarray:
        ids = np.unique(tokenizer(text, add_special_tokens=False)["input_ids"])
        summed = (idf[ids, None] * pieces[ids]).sum(0)
        return summed / (np.linalg.norm(summed) + 1e-9)

    questions = [q for q in load_questions(QUESTIONS) if q.gold_answers]
    index = faiss.IndexFlatIP(DIMS)
    index.add(passages)
    _, dense = index.search(np.stack([vector(q.question) for q in questions]).astype(np.float32), 100)
    names = ("bm25", "static", "hybrid")
    rankings: dict[str, list[list[int]]] = {name: [] for name in names}
    for row, question in enumerate(questions):
        lexical = search.bm25.top(question.question, 100)[0]
        for name, ranking in zip(names, (lexical, dense[row], rrf([lexical, dense[row]])[0]), strict=True):
            rankings[name].append(ranking[:20].tolist())
    texts = passage_texts(corpus, sorted({p for found in rankings.values() for r in found for p in r}))
    answers = [[normalize(a) for a in q.gold_answers] for q in questions]
    hits = {name: list(hits_at_k(found, texts, answers).values()) for name, found in rankings.items()}
    summary = {
        "passages": int(passages.shape[0]),
        "dimensions": DIMS,
        "distil_seconds": round(distilled, 1),
        "build_seconds": round(built, 1),
        "questions": len(questions),
        "hit_at_1_5_20": hits,
    }
    print(json.dumps(summary, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
