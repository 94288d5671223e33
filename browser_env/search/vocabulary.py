"""The BM25 vocabulary (stem → id) as sorted, memory-mapped arrays beside bm25s's ``vocab.index.json``.

Parsing the JSON of a large corpus takes most of a second at every start (797k stems for the 63k-article
Wikipedia); a query only looks up a few stems. ``write_sorted_vocabulary`` stores the stems sorted by
their UTF-8 bytes (one blob plus offsets) and their ids; ``load_vocabulary`` opens those in no time and
looks stems up by binary search, writing them first from the JSON when they are missing or older.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

VOCAB_JSON = "vocab.index.json"
STEMS = "vocab.sorted-stems.npy"
OFFSETS = "vocab.sorted-offsets.npy"
IDS = "vocab.sorted-ids.npy"


def _encode(stem: str) -> bytes:
    return stem.encode("utf-8", "surrogatepass")


class SortedVocabulary(Mapping[str, int]):
    """Stem → id by binary search over the arrays ``write_sorted_vocabulary`` wrote in ``folder``."""

    def __init__(self, folder: Path, *, mmap: bool = True) -> None:
        source = (folder / VOCAB_JSON).stat().st_mtime_ns
        for name in (STEMS, OFFSETS, IDS):
            if (folder / name).stat().st_mtime_ns < source:
                raise ValueError(f"{folder / name} is older than {VOCAB_JSON}")
        mode = "r" if mmap else None
        self._stems = np.load(folder / STEMS, mmap_mode=mode)
        self._offsets = np.load(folder / OFFSETS, mmap_mode=mode)
        self._ids = np.load(folder / IDS, mmap_mode=mode)
        if (
            self._stems.ndim != 1
            or len(self._offsets) != len(self._ids) + 1
            or int(self._offsets[-1]) != len(self._stems)
        ):
            raise ValueError(f"{folder}: the sorted vocabulary files do not match")

    def _stem(self, index: int) -> bytes:
        return self._stems[int(self._offsets[index]) : int(self._offsets[index + 1])].tobytes()

    def _index(self, stem: str) -> int:
        target = _encode(stem)
        low, high = 0, len(self._ids)
        while low < high:
            middle = (low + high) // 2
            if self._stem(middle) < target:
                low = middle + 1
            else:
                high = middle
        if low < len(self._ids) and self._stem(low) == target:
            return low
        return -1

    def __getitem__(self, stem: str) -> int:
        index = self._index(stem) if isinstance(stem, str) else -1
        if index < 0:
            raise KeyError(stem)
        return int(self._ids[index])

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self._ids)):
            yield self._stem(index).decode("utf-8", "surrogatepass")


def write_sorted_vocabulary(folder: Path, vocabulary: Mapping[str, int]) -> None:
    """Write the sorted arrays for ``vocabulary`` into ``folder`` (each file replaced atomically)."""
    pairs = sorted((_encode(stem), sid) for stem, sid in vocabulary.items())
    lengths = np.fromiter((len(stem) for stem, _ in pairs), dtype=np.int64, count=len(pairs))
    offsets = np.zeros(len(pairs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    arrays = {
        STEMS: np.frombuffer(b"".join(stem for stem, _ in pairs), dtype=np.uint8),
        OFFSETS: offsets,
        IDS: np.fromiter((sid for _, sid in pairs), dtype=np.int64, count=len(pairs)),
    }
    for name, array in arrays.items():
        scratch = folder / f".{name}.{os.getpid()}.tmp"
        try:
            with open(scratch, "wb") as out:
                np.save(out, array)
            os.replace(scratch, folder / name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                scratch.unlink()


def load_vocabulary(folder: Path, *, mmap: bool = True) -> Mapping[str, int]:
    """The vocabulary of the bm25s index in ``folder``: the sorted arrays, written from the JSON first
    when missing or stale (a folder that cannot be written keeps the parsed JSON instead)."""
    with contextlib.suppress(OSError, ValueError):
        return SortedVocabulary(folder, mmap=mmap)
    vocabulary: dict[str, int] = json.loads((folder / VOCAB_JSON).read_text(encoding="utf-8"))
    try:
        write_sorted_vocabulary(folder, vocabulary)
        return SortedVocabulary(folder, mmap=mmap)
    except (OSError, ValueError):
        return vocabulary
