"""BM25 over passages with ``bm25s``: English stop words, Snowball stemming (PyStemmer), index on disk.

Build by streaming texts into ``Bm25Builder.add`` and calling ``save``; query with ``Bm25Index.top``,
which scores straight from bm25s's sparse matrix (memory-mapped) and keeps the ``n`` best passages.
The vocabulary is read from sorted arrays (``vocabulary.py``), not from bm25s's JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from browser_env.protocol.keywords import fold_accents
from browser_env.search.vocabulary import load_vocabulary, write_sorted_vocabulary

STOPWORDS = "en"
LANGUAGE = "english"
EMPTY = ""


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's own pattern


def split_tokens(text: str) -> list[str]:
    """The words BM25 indexes and looks up, accents folded so that "pokemon" finds "Pokémon"."""
    return _TOKEN.findall(fold_accents(text))


def make_tokenizer() -> bm25s.tokenization.Tokenizer:
    return bm25s.tokenization.Tokenizer(
        splitter=split_tokens, stopwords=STOPWORDS, stemmer=Stemmer.Stemmer(LANGUAGE)
    )


class Bm25Builder:
    """Tokenizes passages as they come; ``save`` builds the index and writes it to a folder."""

    def __init__(self) -> None:
        self.tokenizer = make_tokenizer()
        self.token_ids: list[list[int]] = []

    def add(self, texts: Iterable[str]) -> None:
        self.token_ids.extend(self.tokenizer.streaming_tokenize(list(texts), update_vocab=True))

    def save(self, folder: Path, *, show_progress: bool = True) -> dict[str, int]:
        if not self.token_ids:
            raise ValueError("nothing to index: no passage has any text")
        vocab = self.tokenizer.stem_to_sid
        retriever = bm25s.BM25()
        retriever.index((self.token_ids, vocab), show_progress=show_progress)
        retriever.save(folder, show_progress=show_progress)
        write_sorted_vocabulary(folder, retriever.vocab_dict)
        stats = {"passages": len(self.token_ids), "vocabulary": len(vocab)}
        self.token_ids = []
        return stats


class Bm25Index:
    """A saved BM25 index; ``top(query, n)`` gives the best passage ids and scores, best first."""

    def __init__(self, folder: Path, *, mmap: bool = True) -> None:
        self.retriever = bm25s.BM25.load(folder, mmap=mmap, load_vocab=False)
        self.vocabulary = load_vocabulary(folder, mmap=mmap)
        self.tokenizer = make_tokenizer()
        # Query words are stemmed and looked up among the indexed stems (the vocabulary saved with the index).
        self.tokenizer.stem_to_sid = self.vocabulary  # type: ignore[assignment]
        self._empty = self.vocabulary.get(EMPTY)
        scores = self.retriever.scores
        self._data, self._indices, self._indptr = scores["data"], scores["indices"], scores["indptr"]
        self.size = int(scores["num_docs"])
        if len(self._indptr) != len(self.vocabulary) + 1:
            raise ValueError(f"{folder}: the BM25 vocabulary and matrix do not match")

    def __len__(self) -> int:
        return self.size

    def query_ids(self, query: str) -> list[int]:
        ids = next(iter(self.tokenizer.streaming_tokenize([query], update_vocab=False)))
        return [token for token in ids if token != self._empty]

    def idf(self, word: str) -> float:
        """How rare ``word`` is among the passages: BM25's inverse document frequency of its rarest
        indexed stem's commonest part (words never indexed count as rare as a word seen once)."""
        ids = self.query_ids(word)
        counts = [int(self._indptr[t + 1] - self._indptr[t]) for t in ids] or [1]
        found = max(counts)
        return math.log(1 + (self.size - found + 0.5) / (found + 0.5))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage (zeros when no query word is in the index)."""
        return self._scores(self.query_ids(query))[0]

    def _scores(self, token_ids: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Scores of every passage, and the posting list (passage ids) of each query token."""
        scores = np.zeros(self.size, dtype=np.float32)
        postings = []
        for token in token_ids:
            start, end = int(self._indptr[token]), int(self._indptr[token + 1])
            passages = np.asarray(self._indices[start:end])
            # Within one term's column each passage occurs once, so plain fancy-index addition is exact.
            scores[passages] += self._data[start:end]
            postings.append(passages)
        return scores, postings

    def top(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the (at most) ``n`` best passages with a positive score, best first."""
        ids = self.query_ids(query)
        if not ids or n <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores, postings = self._scores(ids)
        # Choose among the passages in the posting lists, not the whole (mostly zero) score array:
        # argpartition over many equal values is pathologically slow. A passage occurs at most once per
        # list, so the n best distinct passages score at least the (n * lists)-th best entry.
        # Ties are broken by passage id, so results never depend on the selection algorithm.
        matched = np.concatenate(postings)
        keep = n * len(postings)
        if len(matched) > keep:
            candidate_scores = scores[matched]
            threshold = np.partition(candidate_scores, -keep)[-keep]
            matched = matched[candidate_scores >= threshold]
        matched = np.unique(matched)
        best = matched[np.lexsort((matched, -scores[matched]))][:n].astype(np.int64)
        return best, scores[best]


def saved_size(folder: Path) -> int:
    """Passages in a saved index (from its parameters), for consistency checks."""
    params = json.loads((folder / "params.index.json").read_text())
    return int(params["num_docs"])
