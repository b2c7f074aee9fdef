"""Open an index folder and answer queries with article-level, calibrated results."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.build import FORMAT_VERSION, POINTER
from kb_index.embedders import Embedder, load_embedder
from kb_index.errors import KbError
from kb_index.scoring import LanguageIndex, Signals
from language.detect import detect_language

_MIN_DETECTION_CONFIDENCE = 0.3
# Questions whose lexical signals are scored at once while they are embedded (more wait for a worker).
_LEXICAL_WORKERS = 4


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


class KnowledgeBase:
    """A loaded index. Build one with `KnowledgeBase.open`; it is safe to share across threads."""

    def __init__(self, folder: Path, manifest: dict[str, Any], articles: list[dict[str, Any]], embedder: Embedder | None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.articles = articles
        self.threshold: float = float(manifest["threshold"])
        self.thresholds: dict[str, float] = {lang: float(value) for lang, value in manifest.get("thresholds", {}).items()}
        self.embedder = embedder
        self._languages = {lang: LanguageIndex.load(folder, lang, manifest) for lang in manifest["languages"]}
        self._workers: ThreadPoolExecutor | None = None
        self._workers_lock = threading.Lock()

    @classmethod
    def open(
        cls, index_dir: Path, model: str | None = None, threads: int | None = None, query_threads: int | None = None
    ) -> "KnowledgeBase":
        """Load the live generation; `model`, when given, must be the one the index was built with.
        `threads`, `query_threads`: CPU threads of its embedder for a batch and for one query (default:
        DESTEK_EMBED_THREADS and DESTEK_QUERY_EMBED_THREADS, see kb_index.embedders)."""
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
        embedder = load_embedder(manifest["model"], threads=threads, query_threads=query_threads)
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
        return self.embedder.encode([query.strip()], queries=True)[0] if self.embedder else None

    def search(self, query: str, k: int = 5, lang: str | None = None, query_vector: np.ndarray | None = None) -> list[Hit]:
        """Best `k` articles for `query`, best first; `lang` None detects the query's language.

        `query_vector`: the query's `embed_query` result, when the caller has it already."""
        return self._search(self._checked(query, k, lang), k, lang, query_vector)[0]

    def search_embedded(self, query: str, k: int = 5, lang: str | None = None) -> tuple[list[Hit], np.ndarray | None]:
        """`search`, and the query's vector for callers that use it too (feedback demotion)."""
        return self._search(self._checked(query, k, lang), k, lang, None)

    def _checked(self, query: str, k: int, lang: str | None) -> str:
        query = query.strip()
        if not query:
            raise KbError("empty query")
        if k < 1:
            raise KbError(f"k must be at least 1 (got {k})")
        if lang is not None and lang not in self._languages:
            raise KbError(f"language {lang!r} is not in this index (it has {', '.join(self.languages)})")
        return query

    def _search(self, query: str, k: int, lang: str | None, given: np.ndarray | None) -> tuple[list[Hit], np.ndarray | None]:
        """The languages to search are chosen first (the query's, its confident detection, else all).
        When the query must be embedded, its lexical signals are scored on a worker thread meanwhile:
        ONNX Runtime and FAISS release the GIL, so on a free core the lexical part costs no wall time.
        (The other way round, the worker would wait for the GIL up to Python's 5 ms switch interval
        before it could start the embedding: measured in docs/retrieval-eval.md.)"""
        preferred = lang
        if lang is None:
            detected = detect_language(query)
            preferred = detected.language
            if preferred is not None and preferred in self._languages and detected.confidence >= _MIN_DETECTION_CONFIDENCE:
                lang = preferred
        languages = [lang] if lang is not None else self.languages

        def lexical() -> dict[str, Signals]:
            return {language: self._languages[language].lexical_signals(query) for language in languages}

        if given is None and self.embedder is not None:
            scored = self._worker_pool().submit(lexical)
            vector = self.embed_query(query)
            signals = scored.result()
        else:
            vector, signals = given, lexical()
        results = {}
        for language in languages:
            index = self._languages[language]
            per_article, entries = signals[language]
            index.add_dense_signals(per_article, entries, index.dense_candidates(vector))
            results[language] = self._hits(index, per_article, entries, k)
        if lang is not None:
            return results[lang], vector
        # No confident language: keep the query's weak guess when its best article clears the
        # threshold, else the language whose best article scores highest.
        if preferred in results and results[preferred] and results[preferred][0].score >= self.threshold:
            return results[preferred], vector
        return max(results.values(), key=lambda hits: hits[0].score if hits else -1.0), vector

    def _worker_pool(self) -> ThreadPoolExecutor:
        with self._workers_lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(_LEXICAL_WORKERS, thread_name_prefix="kb-lexical")
            return self._workers

    def _hits(self, index: LanguageIndex, signals: dict[str, np.ndarray], entries: dict[str, np.ndarray], k: int) -> list[Hit]:
        ranked = index.rank(signals, k)
        dense = ranked.signals.get("dense", np.zeros(len(ranked.positions)))
        return [
            self._hit(index, int(position), float(score), float(dense[i]), float(ranked.signals["chars"][i]), entries)
            for i, (position, score) in enumerate(zip(ranked.positions, ranked.scores, strict=True))
        ]

    def _hit(
        self,
        index: LanguageIndex,
        position: int,
        score: float,
        dense: float,
        lexical: float,
        entries: dict[str, np.ndarray],
    ) -> Hit:
        article = self.articles[int(index.articles[position])]
        return Hit(
            id=article["id"],
            title=article["title"],
            score=round(score, 4),
            snippet=self._best_passage(index, position, article, entries),
            url=article["url"],
            lang=article["lang"],
            dense=round(dense, 4),
            lexical=round(lexical, 4),
        )

    def _best_passage(self, index: LanguageIndex, position: int, article: dict[str, Any], entries: dict[str, np.ndarray]) -> str:
        """The article's passage closest to the query (the bot quotes it as the answer)."""
        passages = article["passages"]
        if not passages:
            return article["title"]
        first, last = index.entry_range(position)
        combined = np.zeros(last - first, dtype=np.float32)
        for name, values in entries.items():
            part = values[first:last]
            spread = float(part.std())
            combined += index.calibration.fusion.get(name, 0.0) * ((part - part.mean()) / spread if spread > 1e-9 else 0.0)
        candidates = [i for i, kind in enumerate(index.entry_kinds[first:last]) if kind == "passage"]
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
