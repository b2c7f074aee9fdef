"""Embeddings kept by content hash, so that a rebuild only embeds the texts that changed.

One cache per model in a folder (`<index dir>/embedding-cache/` for a build): `<model>.npz`
holds the vectors and the SHA-1 of each text (with its role, query or passage, since e5 embeds
the two differently), written in one atomic replace. Saving keeps only the texts used since the cache was
opened (unless opened with prune=False, for a cache shared by several builds), so the cache of
an index never holds more than that index needs.
"""

import hashlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb_index.embedders import Embedder

_BATCH = 64  # texts per model call, unless the embedder names its own `batch_size`
_PROGRESS_MIN_TEXTS = 2000
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class EmbeddingCache:
    def __init__(self, folder: Path | None, embedder: Embedder, prune: bool = True) -> None:
        self._folder = folder
        self._prune = prune
        self._embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self._used: set[str] = set()
        self.embedded = 0  # texts embedded (not found in the cache) since opening
        if folder is not None:
            self._load()

    def _path(self) -> Path:
        assert self._folder is not None
        return self._folder / f"{_UNSAFE.sub('_', self._embedder.cache_name)}.npz"

    def _load(self) -> None:
        try:
            with np.load(self._path(), allow_pickle=False) as stored:
                keys = [str(key) for key in stored["keys"]]
                vectors = stored["vectors"]
        except (OSError, ValueError, KeyError):
            return  # no cache yet, or a damaged one: everything is embedded again
        if vectors.ndim == 2 and len(keys) == len(vectors) and vectors.shape[1] == self._embedder.dim:
            self._vectors = dict(zip(keys, vectors.astype(np.float32), strict=True))

    def encode(self, texts: Sequence[str], queries: bool, progress: str = "") -> np.ndarray:
        """L2-normalised vectors of `texts`, embedding only those not in the cache.

        progress: a label to show a progress bar under (only for large batches)."""
        role = "q" if queries else "p"
        keys = [hashlib.sha1(f"{role}\0{text}".encode()).hexdigest() for text in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._vectors:
                missing.setdefault(key, text)
        if missing:
            # Similar lengths in one batch: less padding in the model.
            order = sorted(missing, key=lambda key: len(missing[key]))
            size = int(getattr(self._embedder, "batch_size", _BATCH))
            starts: Sequence[int] = range(0, len(order), size)
            if progress and len(order) >= _PROGRESS_MIN_TEXTS:
                from tqdm import tqdm

                starts = tqdm(starts, desc=f"embedding {progress}", unit="batch", file=sys.stderr)
            for start in starts:
                batch = order[start : start + size]
                vectors = self._embedder.encode([missing[key] for key in batch], queries=queries, batch_size=size)
                self._vectors.update(zip(batch, vectors, strict=True))
            self.embedded += len(missing)
        self._used.update(keys)
        if not keys:
            return np.zeros((0, self._embedder.dim), dtype=np.float32)
        return np.vstack([self._vectors[key] for key in keys]).astype(np.float32)

    def save(self) -> None:
        """Write the vectors used since opening, or all with prune=False (atomically); nothing without a folder."""
        if self._folder is None:
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._used if self._prune else self._vectors)
        vectors = np.vstack([self._vectors[key] for key in keys]) if keys else np.zeros((0, self._embedder.dim), dtype=np.float32)
        path = self._path()
        pending = path.with_name(path.name + ".tmp.npz")
        np.savez(pending, keys=np.array(keys, dtype=str), vectors=vectors.astype(np.float32))
        os.replace(pending, path)
