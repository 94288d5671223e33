"""The local search engine: BM25, dense or hybrid (reciprocal rank fusion) over a corpus's passages.

``LocalSearch(folder).search(query, k)`` returns one ``SearchResult`` per document (its best passage
gives the snippet), best first, at most ``k``. With ``rerank`` (off by default), BM25 mode orders BM25's
first passages again with the learned passage ranker (``browser_env/search/passage_ranker.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from browser_env.protocol.keywords import content_words, title_topic
from browser_env.search.bm25 import Bm25Index
from browser_env.search.dense import INDEX_NAME, DenseIndex
from browser_env.search.passage_ranker import RERANKED, SHIPPED_PASSAGE_RANKER, Candidate, PassageRanker
from browser_env.search.passage_store import PassageStore, StoredPassage
from browser_env.search.snippet import snippet
from browser_env.web import SearchResult

Mode = Literal["bm25", "dense", "hybrid"]
RRF_K = 60
CANDIDATES = 100


@dataclass(frozen=True)
class RankedPassage:
    passage: StoredPassage
    score: float


def rrf(rankings: list[np.ndarray], k: int = RRF_K) -> tuple[np.ndarray, np.ndarray]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings each id appears in."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking.tolist(), start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    ordered = sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))
    ids = np.fromiter((item for item, _ in ordered), dtype=np.int64, count=len(ordered))
    scores = np.fromiter((score for _, score in ordered), dtype=np.float64, count=len(ordered))
    return ids, scores


class LocalSearch:
    """Search over a built corpus folder; ``mode`` defaults to hybrid when the corpus has vectors.
    ``rerank``: BM25's first passages are ordered again by the passage ranker (BM25 mode; the shipped
    weights unless ``passage_ranker`` names others). It
    finds a passage holding the answer higher up, but the agent, which reads whole pages, answers no
    better with it (docs/bench-search.md), so it is off unless asked for."""

    def __init__(
        self,
        folder: Path,
        *,
        mode: Mode | None = None,
        rerank: bool = False,
        passage_ranker: Path = SHIPPED_PASSAGE_RANKER,
    ) -> None:
        self.folder = Path(folder)
        self.passages = PassageStore(self.folder)
        self.bm25 = Bm25Index(self.folder / "bm25")
        dense_path = self.folder / INDEX_NAME
        self.dense = DenseIndex(dense_path) if dense_path.exists() else None
        if len(self.bm25) != len(self.passages):
            raise ValueError(f"{folder}: {len(self.bm25)} indexed passages but {len(self.passages)} stored")
        if self.dense is not None and len(self.dense) != len(self.passages):
            raise ValueError(f"{folder}: {len(self.dense)} vectors but {len(self.passages)} passages")
        if mode in ("dense", "hybrid") and self.dense is None:
            raise ValueError(f"{folder}: this corpus was built without dense vectors (mode {mode!r})")
        self.mode: Mode = mode or ("hybrid" if self.dense is not None else "bm25")
        self.rerank = rerank
        self.passage_ranker = Path(passage_ranker)  # the weights ``rerank`` orders with
        self._ranker: PassageRanker | None = None

    def rank(self, query: str, n: int, mode: Mode | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Passage ids and scores, best first (``n`` per ranking before fusion)."""
        mode = mode or self.mode
        if not query.strip():
            return np.empty(0, dtype=np.int64), np.empty(0)
        if mode == "bm25":
            if not self.rerank:
                return self.bm25.top(query, n)
            ids, scores = self.bm25.top(query, max(n, RERANKED))
            head = self._reranked(query, ids[:RERANKED], scores[:RERANKED])
            order = np.concatenate([head, np.arange(len(head), len(ids))])[:n]
            return ids[order], scores[order]  # each passage keeps its BM25 score
        if self.dense is None:
            raise ValueError("this corpus has no dense vectors")
        if mode == "dense":
            return self.dense.top(query, n)
        lexical, _ = self.bm25.top(query, n)
        semantic, _ = self.dense.top(query, n)
        return rrf([lexical, semantic])

    def candidates(self, ids: np.ndarray, scores: np.ndarray) -> list[Candidate]:
        """BM25's passages ``ids`` with their ``scores``, as the passage ranker reads them."""
        docs = self.passages.doc_of_passage
        places = ids - np.searchsorted(docs, docs[ids])  # a document's passages are stored in a row
        return [
            Candidate(p.title, p.text, float(s), int(place))
            for p, s, place in zip(self.passages.get(ids), scores.tolist(), places.tolist(), strict=True)
        ]

    def _reranked(self, query: str, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The passage ranker's order of BM25's passages ``ids`` (indices into them)."""
        if self._ranker is None:
            self._ranker = PassageRanker.load(self.passage_ranker)
        return self._ranker.order(query, self.candidates(ids, scores), self.bm25.idf)

    def search_passages(self, query: str, k: int = 10, mode: Mode | None = None) -> list[RankedPassage]:
        """The ``k`` best passages (several may come from one document)."""
        ids, scores = self.rank(query, max(k, 1), mode)
        ids, scores = ids[:k], scores[:k]
        return [
            RankedPassage(p, float(s)) for p, s in zip(self.passages.get(ids), scores.tolist(), strict=True)
        ]

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        """At most ``k`` results, one per document, each with its best passage as the snippet."""
        if k <= 0:
            return []
        n = max(CANDIDATES, k * 5)
        while True:
            ids, _ = self.rank(query, n)
            best = _first_per_document(ids, self.passages.doc_of_passage, k)
            if len(best) >= k or len(ids) < n or n >= len(self.passages):
                break
            n *= 4
        found = title_matches_first(query, self.passages.get(best))
        return [SearchResult(url=p.url, title=p.title, snippet=snippet(p.text, query)) for p in found]

    def close(self) -> None:
        self.passages.close()


def title_matches_first(query: str, passages: list[StoredPassage]) -> list[StoredPassage]:
    """Put documents named by the query first, as a web search engine would: a title equal to the query,
    then titles of two or more words all found in the query (longest first); otherwise keep the order."""
    query_words = content_words(query)
    wanted = set(query_words)

    def group(passage: StoredPassage) -> tuple[int, int]:
        title_words = content_words(title_topic(passage.title))
        if title_words and title_words == query_words:
            return 0, 0
        if len(title_words) >= 2 and set(title_words) <= wanted:
            return 1, -len(title_words)
        return 2, 0

    return sorted(passages, key=group)


def _first_per_document(ids: np.ndarray, doc_of_passage: np.ndarray, k: int) -> list[int]:
    """The first (best) passage of each document in ranking order, up to ``k`` documents."""
    if len(ids) == 0:
        return []
    docs = np.asarray(doc_of_passage[ids])
    _, first = np.unique(docs, return_index=True)
    return ids[np.sort(first)][:k].tolist()
