"""Fit the answer score and its threshold on a knowledge base's own pseudo-queries.

No labelled queries are needed. For a sample of articles, one sentence is taken out of the
article and made into a short, casual query (a window of its words, sometimes lower-cased or
typed without Turkish letters); an alternate question, where the article has some, is taken
out the same way. The base is indexed again without the taken-out texts and each pseudo-query
is searched against it twice:
- with its article present: the top result's evidence, labelled by whether it is that article;
- with its topic left out (the article and any sharing its title, as a guide split into
  parts): an unanswerable query, whatever the top result is.
A logistic model with non-negative weights is fitted on these, and the threshold is the lowest
score at which at most `budget` of the unanswerable pseudo-queries would be answered.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kb_index.articles import Article
from kb_index.chunking import article_document, article_entries
from kb_index.lexical import LexicalIndex
from kb_index.ranking import MIN_CALIBRATION_SAMPLES, Calibration, fit_logistic
from kb_index.scoring import LanguageIndex, dense_index
from kb_index.words import WordIndex
from language.fold import fold

TARGET_PSEUDO_QUERIES = 200
MAX_ROUNDS = 3
COMMON_THRESHOLD = 0.5
_MIN_SENTENCE_WORDS = 4
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class PseudoQuery:
    text: str
    article: int  # position among the language's articles


def calibrate(
    lang: str,
    articles: list[Article],
    passages: list[list[str]],
    encode: Callable[[list[str], bool], np.ndarray] | None,
    vectors: dict[str, np.ndarray],
    fusion: dict[str, float],
    stemmer: str,
    budget: float,
    index_type: str,
    seed: int = 13,
) -> Calibration:
    """The fitted calibration of one language (the fallback one when the base is too small).

    encode(texts, queries): embeddings (None: lexical-only index); `vectors` caches passage
    embeddings by text and is filled as needed."""
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    labels: list[int] = []
    negatives: list[np.ndarray] = []
    correct = 0
    total = 0
    # The topic of an article: it and the articles sharing its title (a guide split into parts).
    # An unanswerable pseudo-query is one whose whole topic is missing from the base.
    by_title: dict[str, list[int]] = {}
    for position, article in enumerate(articles):
        by_title.setdefault(fold(article.title), []).append(position)
    topics = [by_title[fold(a.title)] if len(by_title[fold(a.title)]) < len(articles) else [i] for i, a in enumerate(articles)]
    rounds = max(1, min(MAX_ROUNDS, math.ceil(TARGET_PSEUDO_QUERIES / max(1, len(articles)))))
    for _ in range(rounds):
        held_articles, held_passages, queries = _hold_out(articles, passages, lang, rng)
        if not queries or len(articles) < 2:
            break
        index = _memory_index(lang, held_articles, held_passages, encode, vectors, fusion, stemmer, index_type)
        query_vectors = encode([q.text for q in queries], True) if encode else None
        for number, query in enumerate(queries):
            signals, _ = index.signals(query.text, None if query_vectors is None else query_vectors[number])
            positions, features, _ = index.top(signals, 1)
            hit = int(positions[0]) == query.article
            rows.append(features[0])
            labels.append(int(hit))
            correct += hit
            total += 1
            _, absent, _ = index.top(signals, 1, exclude=topics[query.article])
            rows.append(absent[0])
            labels.append(0)
            negatives.append(absent[0])
    if total < MIN_CALIBRATION_SAMPLES or len(set(labels)) < 2:
        report = {"pseudo_queries": total, "pseudo_recall@1": round(correct / total, 4) if total else None}
        return replace(Calibration.fallback(fusion), threshold=COMMON_THRESHOLD, report=report)
    weights, intercept, offset, scale = fit_logistic(np.array(rows), np.array(labels))
    calibration = Calibration(weights, intercept, offset, scale, samples=len(labels), fitted=True, fusion=dict(fusion))
    return _with_threshold(calibration, np.array(rows), np.array(labels), np.array(negatives), budget, correct, total)


def _with_threshold(
    calibration: Calibration, rows: np.ndarray, labels: np.ndarray, negatives: np.ndarray, budget: float, correct: int, total: int
) -> Calibration:
    """Choose the threshold for the false-answer budget and shift it onto COMMON_THRESHOLD."""
    scores = np.sort(calibration.probability(negatives))[::-1]
    allowed = math.floor(budget * len(scores))
    threshold = float(min(scores[allowed] + 1e-6, 1.0 - 1e-6)) if allowed < len(scores) else float(scores[-1])
    shift = _logit(COMMON_THRESHOLD) - _logit(threshold)
    shifted = replace(calibration, shift=shift)
    answerable = rows[0::2][labels[0::2] == 1]
    report: dict[str, Any] = {
        "pseudo_queries": total,
        "pseudo_recall@1": round(correct / total, 4),
        "pseudo_answered": round(float((shifted.probability(answerable) >= COMMON_THRESHOLD).sum()) / total, 4),
        "pseudo_false_answers": round(float((shifted.probability(negatives) >= COMMON_THRESHOLD).mean()), 4),
    }
    return replace(calibration, threshold=round(threshold, 6), shift=shift, report=report)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _hold_out(
    articles: list[Article], passages: list[list[str]], lang: str, rng: np.random.Generator
) -> tuple[list[Article], list[list[str]], list[PseudoQuery]]:
    """The articles with one sentence (and one alternate question) taken out, and the queries made of them."""
    chosen = set(rng.choice(len(articles), min(len(articles), TARGET_PSEUDO_QUERIES), replace=False).tolist())
    held_articles: list[Article] = []
    held_passages: list[list[str]] = []
    queries: list[PseudoQuery] = []
    for position, (article, parts) in enumerate(zip(articles, passages)):
        if position not in chosen:
            held_articles.append(article)
            held_passages.append(parts)
            continue
        if article.questions:
            taken = int(rng.integers(len(article.questions)))
            queries.append(PseudoQuery(article.questions[taken], position))
            article = replace(article, questions=tuple(q for i, q in enumerate(article.questions) if i != taken))
        parts = list(parts)
        split = [(p, s) for p, text in enumerate(parts) for s in _SENTENCE_END.split(text) if s.strip()]
        usable = [i for i, (_, s) in enumerate(split) if len(s.split()) >= _MIN_SENTENCE_WORDS]
        if len(split) >= 2 and usable:
            taken = usable[int(rng.integers(len(usable)))]
            passage, sentence = split[taken]
            queries.append(PseudoQuery(_casual(sentence, rng), position))
            rest = " ".join(s for i, (p, s) in enumerate(split) if p == passage and i != taken)
            if rest:
                parts[passage] = rest
            else:
                del parts[passage]
        held_articles.append(article)
        held_passages.append(parts)
    return held_articles, held_passages, queries


def _casual(sentence: str, rng: np.random.Generator) -> str:
    """A short query made of a sentence: a window of 4–10 of its words, sometimes lower-cased or folded."""
    words = sentence.strip().rstrip(".!?;:").split()
    length = min(len(words), int(rng.integers(4, 11)))
    start = int(rng.integers(0, len(words) - length + 1))
    text = " ".join(words[start : start + length])
    draw = rng.random()
    if draw < 0.3:
        return fold(text)
    if draw < 0.6:
        return text.lower()
    return text


def _memory_index(
    lang: str,
    articles: list[Article],
    passages: list[list[str]],
    encode: Callable[[list[str], bool], np.ndarray] | None,
    vectors: dict[str, np.ndarray],
    fusion: dict[str, float],
    stemmer: str,
    index_type: str,
) -> LanguageIndex:
    entries = [e for i, (a, p) in enumerate(zip(articles, passages)) for e in article_entries(i, a, p)]
    texts = [e.text for e in entries]
    dense = None
    if vectors:
        # A passage that lost its sentence is not embedded again (that would double the build's
        # cost): its dense evidence is left out, i.e. it stands in with its article's title.
        titles = {e.article: vectors[e.text] for e in entries if e.kind == "title"}
        rows = [vectors.get(e.text, titles[e.article]) for e in entries]
        dense = dense_index(np.vstack(rows), "flat" if len(texts) < 50_000 else index_type)
    return LanguageIndex(
        [[e.article, e.kind, e.passage] for e in entries],
        LexicalIndex.build(texts),
        WordIndex.build([article_document(a, p) for a, p in zip(articles, passages)], stemmer, lang),
        dense,
        Calibration.fallback(fusion),
    )
