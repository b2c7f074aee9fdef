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

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        vectorizer = _new_vectorizer()
        matrix = vectorizer.fit_transform([fold(text) for text in texts])
        return cls(vectorizer, matrix.astype(np.float32))

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every entry, as a dense array."""
        return self.similarities(self._vectorizer.transform([fold(query)]))

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
