"""Character n-gram TF-IDF over folded text: catches Turkish suffixes and misspellings.

"faturami odeyemiyorum" shares most 3–5-grams with "Faturamı ödeyemiyorum" and with
"fatura ödeme", which a word model trained on English text would miss.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from language.fold import fold

NGRAM_RANGE = (3, 5)


class LexicalIndex:
    """TF-IDF vectors of folded entry texts; scores are cosine similarities.

    Stored by column (n-gram): a query touches only the columns of its own n-grams, so
    scoring 100,000 entries costs what those columns hold, not a full matrix product.
    """

    def __init__(self, vectorizer: Any, matrix: Any) -> None:
        self._vectorizer = vectorizer
        self._matrix = matrix.tocsc()
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = np.asarray(vectorizer.idf_)

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        vectorizer = _new_vectorizer()
        matrix = vectorizer.fit_transform([fold(text) for text in texts])
        return cls(vectorizer, matrix.astype(np.float32))

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every entry, as a dense array."""
        columns, weights = self.query_vector(query)
        if not len(columns):
            return np.zeros(self._matrix.shape[0], dtype=np.float32)
        return np.asarray(self._matrix[:, columns] @ weights).ravel()

    def query_vector(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, weights) of the query's TF-IDF vector: the numbers of the vectorizer's
        `transform` (tests/kb_index compare them bit for bit) without its per-call input
        checks, which cost more than the scoring itself on a small base. The steps and their
        float types are scikit-learn's: counts, then 1 + log(count) and × idf in float32,
        then division by the L2 norm summed in float64 in column order."""
        counts: dict[int, int] = {}
        for gram in self._analyze(fold(query)):
            column = self._vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        columns = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        data = np.fromiter((counts[int(column)] for column in columns), dtype=np.float32, count=len(columns))
        np.log(data, data)
        data += 1.0
        data *= self._idf[columns]
        norm = float(np.cumsum((data * data).astype(np.float64))[-1])
        if norm != 0.0:
            data = (data / np.float64(np.sqrt(norm))).astype(np.float32)
        return columns, data

    def similarities(self, vector: Any) -> np.ndarray:
        """Cosine similarity of one TF-IDF row vector (1 × n-grams) to every entry."""
        vector = vector.tocsr()
        if vector.nnz == 0:
            return np.zeros(self._matrix.shape[0], dtype=np.float32)
        return np.asarray(self._matrix[:, vector.indices] @ vector.data).ravel()

    def entry_vectors(self) -> Any:
        """One row per entry (CSR), for computing entry-to-entry similarities."""
        return self._matrix.tocsr()

    def save(self, folder: Path, stem: str) -> None:
        from scipy import sparse

        sparse.save_npz(folder / f"{stem}.npz", self._matrix)
        vocabulary = {term: int(column) for term, column in self._vectorizer.vocabulary_.items()}
        (folder / f"{stem}-vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
        np.save(folder / f"{stem}-idf.npy", self._vectorizer.idf_)

    @classmethod
    def load(cls, folder: Path, stem: str) -> "LexicalIndex":
        from scipy import sparse

        vocabulary = json.loads((folder / f"{stem}-vocab.json").read_text(encoding="utf-8"))
        vectorizer = _new_vectorizer(vocabulary)
        vectorizer.idf_ = np.load(folder / f"{stem}-idf.npy")
        return cls(vectorizer, sparse.load_npz(folder / f"{stem}.npz"))


def _new_vectorizer(vocabulary: Any = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary)
