"""One language of an index: its signals per article for a query, fused and ranked.

Shared by search (loaded from an index folder) and by calibration at build time (held in
memory), so that the build fits its answer score on exactly the scores search computes.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.lexical import LexicalIndex
from kb_index.ranking import Calibration, article_maxima, features, fuse
from kb_index.words import WordIndex

DENSE_CANDIDATES = 200
QUESTION_TOKENS = 12
HNSW_EF_SEARCH = 128
# (entry ids, cosines, floor) of a query's dense candidates; floor: the lowest candidate score.
DenseCandidates = tuple[np.ndarray, np.ndarray, float]
# (per-article signals, per-entry signals) of one query, by signal name.
Signals = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


def dense_index(vectors: np.ndarray, index_type: str) -> Any:
    """A FAISS inner-product index of L2-normalised vectors (flat: exact; hnsw: approximate)."""
    import faiss

    dim = vectors.shape[1]
    index: faiss.Index
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


@dataclass
class Ranked:
    """Best articles of one language for a query: positions into the language's articles."""

    positions: np.ndarray
    scores: np.ndarray
    signals: dict[str, np.ndarray]


class LanguageIndex:
    def __init__(self, entry_rows: list[list[Any]], lexical: LexicalIndex, words: WordIndex, dense: Any, calibration: Calibration) -> None:
        self.entry_articles = np.array([row[0] for row in entry_rows], dtype=np.int64)
        self.entry_kinds = [row[1] for row in entry_rows]
        self.entry_passages = np.array([row[2] for row in entry_rows], dtype=np.int64)
        self.starts = np.flatnonzero(np.diff(self.entry_articles, prepend=-1))
        self.articles = self.entry_articles[self.starts]
        # The position (among this language's articles) of each entry's article.
        self.entry_positions = np.cumsum(np.diff(self.entry_articles, prepend=-1) != 0) - 1
        self.lexical = lexical
        self.words = words
        self.dense = dense
        self.calibration = calibration

    @classmethod
    def load(cls, folder: Path, lang: str, manifest: dict[str, Any]) -> "LanguageIndex":
        rows = json.loads((folder / f"{lang}-entries.json").read_text(encoding="utf-8"))
        dense = None
        if manifest["dim"]:
            import faiss

            dense = faiss.read_index(str(folder / f"{lang}.faiss"))
            if isinstance(dense, faiss.IndexHNSWFlat):
                dense.hnsw.efSearch = HNSW_EF_SEARCH
        calibration = Calibration(**manifest["calibration"][lang])
        return cls(rows, LexicalIndex.load(folder, f"{lang}-lexical"), WordIndex.load(folder, f"{lang}-words"), dense, calibration)

    def dense_entries(self, vector: np.ndarray | None) -> np.ndarray | None:
        """Cosine per entry; entries outside the dense candidates get the lowest candidate score."""
        found = self.dense_candidates(vector)
        if found is None:
            return None
        return self._dense_per_entry(*found)

    def dense_candidates(self, vector: np.ndarray | None) -> DenseCandidates | None:
        """The query vector's DENSE_CANDIDATES nearest entries (None: no vector or no dense index)."""
        if vector is None or self.dense is None:
            return None
        scores, ids = self.dense.search(vector.reshape(1, -1).astype(np.float32), min(DENSE_CANDIDATES, len(self.entry_articles)))
        valid = ids[0] >= 0
        floor = float(scores[0][valid].min()) if valid.any() else 0.0
        return ids[0][valid], scores[0][valid], floor

    def _dense_per_entry(self, ids: np.ndarray, scores: np.ndarray, floor: float) -> np.ndarray:
        result = np.full(len(self.entry_articles), floor, dtype=np.float32)
        result[ids] = scores
        return result

    def _dense_per_article(self, ids: np.ndarray, scores: np.ndarray, floor: float) -> np.ndarray:
        """article_maxima of the per-entry cosines without building them: every entry outside
        the candidates holds the floor, so an article's best is the floor or its best candidate
        (a maximum, so exactly the same value)."""
        result = np.full(len(self.starts), floor, dtype=np.float32)
        np.maximum.at(result, self.entry_positions[ids], scores.astype(np.float32))
        return result

    def signals(self, query: str, vector: np.ndarray | None) -> Signals:
        """Every signal of a query."""
        per_article, entries = self.lexical_signals(query)
        self.add_dense_signals(per_article, entries, self.dense_candidates(vector))
        return per_article, entries

    def lexical_signals(self, query: str) -> Signals:
        """The signals that need no query vector."""
        chars = self.lexical.scores(query)
        # BM25 grows with the number of words; beyond a question's length (an agent's answer, a long
        # message) it is scaled down to QUESTION_TOKENS words' worth, so the answer score, fitted on
        # questions, is not extrapolated. Fusion z-scores it per query, so ranking is unchanged.
        per_article = {
            "chars": article_maxima(chars, self.starts),
            "words": self.words.scores(query, length_cap=QUESTION_TOKENS),
            "coverage": self.words.coverage(query),
        }
        return per_article, {"chars": chars}

    def add_dense_signals(self, per_article: dict[str, np.ndarray], entries: dict[str, np.ndarray], found: DenseCandidates | None) -> None:
        """The dense signal, from `dense_candidates`, added to `lexical_signals`' dicts (nothing for None)."""
        if found is not None:
            entries["dense"] = self._dense_per_entry(*found)
            per_article["dense"] = self._dense_per_article(*found)

    def top(
        self, signals: dict[str, np.ndarray], k: int, exclude: list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(positions, FEATURES rows, signals) of the `k` best articles by fused score.

        exclude: article positions left out (calibration's unanswerable pseudo-queries)."""
        kept = np.arange(len(self.starts))
        if exclude:
            kept = np.delete(kept, exclude)
            signals = {name: values[kept] for name, values in signals.items()}
        fused = fuse(signals, self.calibration.fusion)
        best = _best(fused, k)
        return kept[best], features(fused, signals, best), {name: values[best] for name, values in signals.items()}

    def rank(self, signals: dict[str, np.ndarray], k: int) -> Ranked:
        """The `k` best articles by fused score, with their calibrated answer scores."""
        positions, rows, best_signals = self.top(signals, k)
        # Scores follow the ranking: a lower-ranked article never scores above a better one.
        scores = np.minimum.accumulate(self.calibration.probability(rows))
        return Ranked(positions, scores, best_signals)

    def entry_range(self, position: int) -> tuple[int, int]:
        first = int(self.starts[position])
        last = int(self.starts[position + 1]) if position + 1 < len(self.starts) else len(self.entry_articles)
        return first, last

    def entry_vectors(self, first: int, count: int) -> np.ndarray:
        return self.dense.reconstruct_n(int(first), int(count))


def _best(fused: np.ndarray, k: int) -> np.ndarray:
    """np.argsort(-fused, kind="stable")[:k] (best first, ties in position order) without
    sorting every article: only those scoring at least the k-th best value are sorted."""
    if k >= len(fused) or len(fused) <= 64:
        return np.argsort(-fused, kind="stable")[:k]
    kth = np.partition(-fused, k - 1)[k - 1]
    if np.isnan(kth):
        return np.argsort(-fused, kind="stable")[:k]
    candidates = np.flatnonzero(-fused <= kth)
    return candidates[np.argsort(-fused[candidates], kind="stable")[:k]]
