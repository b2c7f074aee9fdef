"""Build an index folder from articles, atomically.

Layout of DIR:
    current.json           {"generation": "gen-…"}: which generation is live
    gen-…/manifest.json    model, settings, calibration, counts
    gen-…/articles.json    id, title, url, lang, topic and passages of every article
    gen-…/<lang>-entries.json, <lang>.faiss, <lang>-lexical*, <lang>-words/   one set per language
    embedding-cache/<model>.npz   embeddings by content hash: a rebuild embeds only what changed

A build writes a new generation folder and then replaces `current.json` with one
`os.replace`: a crash at any point leaves the previous index live and intact.
"""

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kb_index.articles import Article, load_articles
from kb_index.calibrate import COMMON_THRESHOLD, calibrate
from kb_index.chunking import article_document, article_entries, split_passages
from kb_index.embedcache import EmbeddingCache
from kb_index.embedders import Embedder, load_embedder
from kb_index.errors import KbError
from kb_index.lexical import NGRAM_RANGE, LexicalIndex
from kb_index.ranking import DEFAULT_FUSION, Calibration
from kb_index.scoring import LanguageIndex, dense_index
from kb_index.words import STEMMERS, WordIndex
from settings.rasa_side import rasa_settings

FORMAT_VERSION = 4
# The index's default model (the NLU keeps embedders.DEFAULT_MODEL): multilingual-e5-small lifts
# XQuAD Turkish recall@1 past what USE reaches in any fusion (docs/retrieval-eval.md).
KB_DEFAULT_MODEL = "multilingual-e5-small-q4"
INDEX_TYPES = ("flat", "hnsw")
DEFAULT_STEMMER = "auto"
DEFAULT_FALSE_ANSWER_BUDGET = 0.05
POINTER = "current.json"
CACHE_FOLDER = "embedding-cache"


@dataclass(frozen=True)
class BuildSettings:
    model: str = KB_DEFAULT_MODEL
    index_type: str = "flat"
    max_passage_words: int = 80
    threshold: float | None = None  # None: chosen per language for the false-answer budget
    false_answer_budget: float = DEFAULT_FALSE_ANSWER_BUDGET
    stemmer: str = DEFAULT_STEMMER


@dataclass(frozen=True)
class BuildReport:
    articles: int
    entries: int
    languages: dict[str, int]
    seconds: float
    generation: Path
    embedded: int = 0  # texts the model embedded (the others came from the embedding cache)


def build_index(source: Path, out: Path, settings: BuildSettings, progress: bool = True, cache_dir: Path | None = None) -> BuildReport:
    """Validate every article, then build and publish a new index generation in `out`.

    cache_dir: a folder of embeddings by content hash shared with other builds (kept whole);
    default `out/embedding-cache`, holding only what this index uses."""
    started = time.perf_counter()
    if settings.index_type not in INDEX_TYPES:
        raise KbError(f"index type {settings.index_type!r} is not one of {', '.join(INDEX_TYPES)}")
    if settings.threshold is not None and not 0.0 <= settings.threshold <= 1.0:
        raise KbError(f"threshold {settings.threshold} must be between 0 and 1")
    if not 0.0 < settings.false_answer_budget < 1.0:
        raise KbError(f"false-answer budget {settings.false_answer_budget} must be between 0 and 1")
    if settings.stemmer not in STEMMERS:
        raise KbError(f"stemmer {settings.stemmer!r} is not one of {', '.join(STEMMERS)}")
    articles = load_articles(source)
    _check_output_folder(out)
    # A build embeds in batches: all cores (a search embeds one query on one thread).
    embedder = load_embedder(settings.model, threads=max(rasa_settings().embed_threads, os.cpu_count() or 1))
    out.mkdir(parents=True, exist_ok=True)
    generation = out / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(4)}"
    generation.mkdir()
    cache = None if embedder is None else EmbeddingCache(cache_dir or out / CACHE_FOLDER, embedder, prune=cache_dir is None)
    try:
        languages = _write_generation(generation, articles, embedder, cache, settings, progress)
        _publish(out, generation)
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    _remove_old_generations(out, keep=generation.name)
    if cache is not None:
        cache.save()
    return BuildReport(
        articles=len(articles),
        entries=sum(languages.values()),
        languages=languages,
        seconds=time.perf_counter() - started,
        generation=generation,
        embedded=cache.embedded if cache is not None else 0,
    )


def _check_output_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise KbError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / POINTER).exists():
        raise KbError(f"{out}: folder is not empty and holds no kb_index index; refusing to write into it")


def _write_generation(
    folder: Path, articles: list[Article], embedder: Embedder | None, cache: EmbeddingCache | None, settings: BuildSettings, progress: bool
) -> dict[str, int]:
    passages = [split_passages(article.body, article.lang, settings.max_passage_words) for article in articles]
    records = [
        {"id": a.id, "title": a.title, "url": a.url, "lang": a.lang, "topic": a.topic, "passages": p}
        for a, p in zip(articles, passages, strict=True)
    ]
    _write_json(folder / "articles.json", records)
    calibrations: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for lang in sorted({a.lang for a in articles}):
        members = [i for i, a in enumerate(articles) if a.lang == lang]
        calibrations[lang], counts[lang] = _write_language(folder, lang, members, articles, passages, cache, settings, progress)
    manifest = {
        "format": FORMAT_VERSION,
        "model": settings.model,
        "dim": embedder.dim if embedder else 0,
        "index_type": settings.index_type,
        "max_passage_words": settings.max_passage_words,
        "ngram_range": list(NGRAM_RANGE),
        "stemmer": settings.stemmer,
        "threshold": COMMON_THRESHOLD if settings.threshold is None else settings.threshold,
        "threshold_source": "fitted" if settings.threshold is None else "set",
        "false_answer_budget": settings.false_answer_budget,
        "calibration": calibrations,
        "languages": counts,
        "articles": len(articles),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_json(folder / "manifest.json", manifest)
    return counts


def _write_language(
    folder: Path,
    lang: str,
    members: list[int],
    articles: list[Article],
    passages: list[list[str]],
    cache: EmbeddingCache | None,
    settings: BuildSettings,
    progress: bool,
) -> tuple[dict[str, Any], int]:
    """Write one language's files; (its calibration, its number of entries)."""
    chosen = [articles[i] for i in members]
    parts = [passages[i] for i in members]
    index, rows = _language_index(lang, members, chosen, parts, cache, settings, progress)
    _write_json(folder / f"{lang}-entries.json", rows)
    index.lexical.save(folder, f"{lang}-lexical")
    index.words.save(folder, f"{lang}-words")
    if index.dense is not None:
        import faiss

        faiss.write_index(index.dense, str(folder / f"{lang}.faiss"))
    encode = (lambda batch, queries: cache.encode(batch, queries=queries)) if cache is not None else None
    calibration = calibrate(
        lang,
        chosen,
        parts,
        index,
        encode,
        settings.false_answer_budget,
        index_without=lambda variant: _language_index(lang, members, variant, parts, cache, settings, False)[0],
    )
    if settings.threshold is not None:
        calibration = replace(calibration, shift=0.0)
    return calibration.as_dict(), len(rows)


def _language_index(
    lang: str,
    members: list[int],
    articles: list[Article],
    passages: list[list[str]],
    cache: EmbeddingCache | None,
    settings: BuildSettings,
    progress: bool,
) -> tuple[LanguageIndex, list[list[Any]]]:
    """One language's index in memory, with its entry rows (article number among all articles,
    kind, passage); `members` are the numbers of `articles`."""
    entries = [
        e for number, article, parts in zip(members, articles, passages, strict=True) for e in article_entries(number, article, parts)
    ]
    texts = [entry.text for entry in entries]
    rows: list[list[Any]] = [[e.article, e.kind, e.passage] for e in entries]
    lexical = LexicalIndex.build(texts)
    words = WordIndex.build([article_document(a, p) for a, p in zip(articles, passages, strict=True)], settings.stemmer, lang)
    dense = None
    if cache is not None:
        dense = dense_index(cache.encode(texts, queries=False, progress=lang if progress else ""), settings.index_type)
    return LanguageIndex(rows, lexical, words, dense, Calibration.fallback(DEFAULT_FUSION)), rows


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _publish(out: Path, generation: Path) -> None:
    for path in generation.rglob("*"):
        if path.is_file():
            _fsync(path)
    pending = out / f"{POINTER}.tmp"
    pending.write_text(json.dumps({"generation": generation.name}), encoding="utf-8")
    _fsync(pending)
    os.replace(pending, out / POINTER)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _remove_old_generations(out: Path, keep: str) -> None:
    for path in out.glob("gen-*"):
        if path.name != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
