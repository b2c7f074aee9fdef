"""Character n-gram TF-IDF over folded text: catches Turkish suffixes and misspellings.

"faturami odeyemiyorum" shares most 3–5-grams with "Faturamı ödeyemiyorum" and with
"fatura ödeme", which a word model trained on English text would miss.
"""

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kb_index.textnorm import fold

NGRAM_RANGE = (3, 5)


class LexicalIndex:
    """TF-IDF vectors of folded entry texts; scores are cosine similarities."""

    def __init__(self, vectorizer: Any, matrix: Any) -> None:
        self._vectorizer = vectorizer
        self._matrix = matrix

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        vectorizer = _new_vectorizer()
        matrix = vectorizer.fit_transform([fold(text) for text in texts])
        return cls(vectorizer, matrix.tocsr().astype(np.float32))

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every entry, as a dense array."""
        vector = self._vectorizer.transform([fold(query)])
        return np.asarray((self._matrix @ vector.T).toarray()).ravel()

    def entry_vectors(self) -> Any:
        return self._matrix

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
        return cls(vectorizer, sparse.load_npz(folder / f"{stem}.npz").tocsr())


def _new_vectorizer(vocabulary: Any = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary
    )
