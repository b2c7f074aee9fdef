"""Open an index folder and answer queries with article-level, calibrated results."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.build import FORMAT_VERSION, POINTER
from kb_index.embedders import Embedder, load_embedder
from kb_index.errors import KbError
from kb_index.lexical import LexicalIndex
from kb_index.ranking import Calibration, article_maxima
from language.detect import detect_language

_DENSE_CANDIDATES = 200
_MIN_DETECTION_CONFIDENCE = 0.3


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    score: float
    snippet: str
    url: str
    lang: str
    dense: float
    lexical: float

    def public(self) -> dict[str, Any]:
        """The fields of the `search --json` contract."""
        return {"id": self.id, "title": self.title, "score": self.score, "snippet": self.snippet, "url": self.url, "lang": self.lang}


class _LanguageIndex:
    def __init__(self, folder: Path, lang: str, manifest: dict[str, Any]) -> None:
        rows = json.loads((folder / f"{lang}-entries.json").read_text(encoding="utf-8"))
        self.entry_articles = np.array([row[0] for row in rows], dtype=np.int64)
        self.entry_kinds = [row[1] for row in rows]
        self.entry_passages = np.array([row[2] for row in rows], dtype=np.int64)
        self.starts = np.flatnonzero(np.diff(self.entry_articles, prepend=-1))
        self.articles = self.entry_articles[self.starts]
        self.lexical = LexicalIndex.load(folder, f"{lang}-lexical")
        self.calibration = Calibration(**manifest["calibration"][lang])
        self.dense: Any = None
        if manifest["dim"]:
            import faiss

            self.dense = faiss.read_index(str(folder / f"{lang}.faiss"))
            if manifest["index_type"] == "hnsw":
                self.dense.hnsw.efSearch = 128

    def dense_scores(self, query_vector: np.ndarray | None) -> np.ndarray:
        """Similarity per entry; entries outside the dense candidates get the lowest candidate score."""
        count = len(self.entry_articles)
        if query_vector is None:
            return np.zeros(count, dtype=np.float32)
        scores, ids = self.dense.search(query_vector.reshape(1, -1), min(_DENSE_CANDIDATES, count))
        valid = ids[0] >= 0
        floor = float(scores[0][valid].min()) if valid.any() else 0.0
        result = np.full(count, floor, dtype=np.float32)
        result[ids[0][valid]] = scores[0][valid]
        return result

    def entry_vectors(self, first: int, count: int) -> np.ndarray:
        return self.dense.reconstruct_n(int(first), int(count))


class KnowledgeBase:
    """A loaded index. Build one with `KnowledgeBase.open`; it is safe to share across threads."""

    def __init__(self, folder: Path, manifest: dict[str, Any], articles: list[dict[str, Any]], embedder: Embedder | None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.articles = articles
        self.threshold: float = float(manifest["threshold"])
        self._embedder = embedder
        self._languages = {lang: _LanguageIndex(folder, lang, manifest) for lang in manifest["languages"]}

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None) -> "KnowledgeBase":
        """Load the live generation; `model`, when given, must be the one the index was built with."""
        folder = _live_generation(index_dir)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            articles = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise KbError(f"{index_dir}: index is damaged ({exc.__class__.__name__}); rebuild it") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise KbError(f"{index_dir}: index format {manifest.get('format')} is not supported (expected {FORMAT_VERSION}); rebuild it")
        if model and model != manifest["model"]:
            raise KbError(
                f"{index_dir}: index was built with model {manifest['model']!r} but the settings ask for {model!r}; rebuild the index with that model"
            )
        embedder = load_embedder(manifest["model"])
        if embedder is not None and embedder.dim != manifest["dim"]:
            raise KbError(
                f"{index_dir}: model {manifest['model']!r} now gives {embedder.dim}-d vectors, the index has {manifest['dim']}-d; rebuild it"
            )
        return cls(folder, manifest, articles, embedder)

    @property
    def languages(self) -> list[str]:
        return sorted(self._languages)

    def embed_query(self, query: str) -> np.ndarray | None:
        """The query's dense vector (None for a lexical-only index), as `search` computes it."""
        return self._embedder.encode([query.strip()], queries=True)[0] if self._embedder else None

    def search(self, query: str, k: int = 5, lang: str | None = None, query_vector: np.ndarray | None = None) -> list[Hit]:
        """Best `k` articles for `query`, best first; `lang` None detects the query's language.

        `query_vector`: the query's `embed_query` result, when the caller needs it too (saves embedding twice)."""
        query = query.strip()
        if not query:
            raise KbError("empty query")
        if k < 1:
            raise KbError(f"k must be at least 1 (got {k})")
        if lang is not None and lang not in self._languages:
            raise KbError(f"language {lang!r} is not in this index (it has {', '.join(self.languages)})")
        vector = self.embed_query(query) if query_vector is None else query_vector
        hits: list[Hit] = []
        for language in self._route(query, lang):
            hits.extend(self._search_language(language, query, vector, k))
        return sorted(hits, key=lambda hit: -hit.score)[:k]

    def _route(self, query: str, lang: str | None) -> list[str]:
        if lang is not None:
            return [lang]
        detected = detect_language(query)
        if detected.language is not None and detected.language in self._languages and detected.confidence >= _MIN_DETECTION_CONFIDENCE:
            return [detected.language]
        return self.languages

    def _search_language(self, lang: str, query: str, vector: np.ndarray | None, k: int) -> list[Hit]:
        index = self._languages[lang]
        dense_entries = index.dense_scores(vector)
        lexical_entries = index.lexical.scores(query)
        dense = article_maxima(dense_entries, index.starts)
        lexical = article_maxima(lexical_entries, index.starts)
        scores = index.calibration.probability(dense, lexical)
        best = np.argsort(-scores)[:k]
        return [
            self._hit(
                index, int(position), float(scores[position]), float(dense[position]), float(lexical[position]), vector, lexical_entries
            )
            for position in best
        ]

    def _hit(
        self,
        index: _LanguageIndex,
        position: int,
        score: float,
        dense: float,
        lexical: float,
        vector: np.ndarray | None,
        lexical_entries: np.ndarray,
    ) -> Hit:
        article = self.articles[int(index.articles[position])]
        return Hit(
            id=article["id"],
            title=article["title"],
            score=round(score, 4),
            snippet=self._best_passage(index, position, article, vector, lexical_entries),
            url=article["url"],
            lang=article["lang"],
            dense=round(dense, 4),
            lexical=round(lexical, 4),
        )

    def _best_passage(
        self, index: _LanguageIndex, position: int, article: dict[str, Any], vector: np.ndarray | None, lexical_entries: np.ndarray
    ) -> str:
        """The article's passage closest to the query (the bot quotes it as the answer)."""
        passages = article["passages"]
        if not passages:
            return article["title"]
        first = int(index.starts[position])
        last = int(index.starts[position + 1]) if position + 1 < len(index.starts) else len(index.entry_articles)
        kinds = index.entry_kinds[first:last]
        dense = index.entry_vectors(first, last - first) @ vector if vector is not None else np.zeros(last - first)
        combined = index.calibration.dense * dense + index.calibration.lexical * lexical_entries[first:last]
        candidates = [i for i, kind in enumerate(kinds) if kind == "passage"]
        best = max(candidates, key=lambda i: combined[i])
        return str(passages[int(index.entry_passages[first + best])])


def _live_generation(index_dir: Path) -> Path:
    pointer = index_dir / POINTER
    if not index_dir.is_dir():
        raise KbError(f"{index_dir}: no such index folder")
    if not pointer.is_file():
        raise KbError(f"{index_dir}: not a kb_index index (no {POINTER}); build one with 'python -m kb_index build'")
    try:
        generation = index_dir / json.loads(pointer.read_text(encoding="utf-8"))["generation"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise KbError(f"{pointer}: damaged; rebuild the index") from None
    if not generation.is_dir():
        raise KbError(f"{index_dir}: live generation {generation.name} is missing; rebuild the index")
    return generation
