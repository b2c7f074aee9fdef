"""Fit the answer score and its threshold on a knowledge base's own pseudo-queries.

No labelled queries are needed. Customers do not type a sentence of the article: they type a
few words of what they want, in their own casual way, rarely the article's title. So each
pseudo-query is made from one sentence of an article the way such a question looks:
- two to four consecutive content words of the sentence (stop words and the article's title
  words left out), so it is short and carries no more evidence than a real question;
- sometimes a question word of the language ("nasıl", "ne zaman" / "how", "when"), sometimes
  lower-cased, typed without Turkish letters or with one letter slipped.
Each pseudo-query is searched against the built index twice:
- as it is: the top article's evidence, labelled by whether it is the article it came from;
- with its topic left out (the article and any sharing its title, as a guide split into
  parts): an unanswerable query in the KB's own domain and words, whatever the top result is,
  unless another topic covers most of its words (ELSEWHERE_SHARE): then it is answered there.
Where the base has alternate `questions`, they are asked too, as real questions it has not
seen: each half of them against an index built with only the other half (cross-fitting), with
the same two outcomes. They bring real phrasing and real lengths, which lets the fit use the
raw BM25 score (ranking.LENGTH_DEPENDENT).
A logistic model with non-negative weights is fitted on these, on relative evidence (margin to
the runner-up, the fused score standardised over the articles) and absolute similarity; the
threshold is the lowest score at which at most `budget` of the unanswerable pseudo-queries
would be answered.

Pseudo-queries are drawn with a random generator seeded by the article's own text, so an
unchanged article gives the same queries in every build (their embeddings are cached).
"""

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from kb_index.articles import Article
from kb_index.ranking import LENGTH_DEPENDENT, MIN_CALIBRATION_SAMPLES, Calibration, fit_logistic
from kb_index.scoring import LanguageIndex
from kb_index.words import stop_words
from language.fold import fold, turkish_lower

TARGET_PSEUDO_QUERIES = 300
MAX_PER_ARTICLE = 6
COMMON_THRESHOLD = 0.5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+")
_MIN_WORD_LETTERS = 3
_TITLE_PREFIX = 5
_QUESTION_FOLDS = 2
# A topic-out query is "answered elsewhere" (not used as unanswerable) when the best other
# topic covers at least this share of the word evidence its own article covers. Swept on the
# sample KB and XQuAD (docs/retrieval-eval.md): 1.0 left the threshold too strict where
# articles overlap; XQuAD, whose articles hardly overlap, is unchanged down to 0.75.
ELSEWHERE_SHARE = 0.75
# Question words as customers type them: (text, placed before the content words).
_QUESTION_WORDS: dict[str, list[tuple[str, bool]]] = {
    "tr": [
        ("nasıl", False),
        ("ne zaman", False),
        ("nerede", False),
        ("neden", False),
        ("ne kadar", False),
        ("nedir", False),
        ("var mı", False),
        ("hangi", True),
        ("kaç", True),
    ],
    "en": [
        ("how", True),
        ("what", True),
        ("when", True),
        ("where", True),
        ("why", True),
        ("how much", True),
        ("can i", True),
        ("is there", True),
        ("which", True),
    ],
}


@dataclass(frozen=True)
class PseudoQuery:
    text: str
    article: int  # position among the language's articles


@dataclass
class _Samples:
    """Search outcomes of calibration queries: the evidence of each top article and of each
    top article with the query's topic left out (an unanswerable query)."""

    found: list[np.ndarray] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)
    negatives: list[np.ndarray] = field(default_factory=list)
    answered_elsewhere: int = 0


def calibrate(
    lang: str,
    articles: list[Article],
    passages: list[list[str]],
    index: LanguageIndex,
    encode: Callable[[list[str], bool], np.ndarray] | None,
    budget: float,
    index_without: Callable[[list[Article]], LanguageIndex] | None = None,
) -> Calibration:
    """The fitted calibration of one language's built index (the fallback one when the base is too small).

    encode(texts, queries): embeddings (None: lexical-only index).
    index_without(articles): the index built in memory from these articles (the same ones with
    fewer alternate questions): where the base has alternate questions, each half of them is
    asked against an index holding only the other half, as real questions it has not seen."""
    fusion = dict(index.calibration.fusion)
    topics = _topics(articles)
    made = _Samples()
    if len(articles) >= 2:
        _search(index, pseudo_queries(lang, articles, passages), encode, topics, made)
    asked = _Samples()
    if index_without is not None and len(articles) >= 2 and any(a.questions for a in articles):
        for fold in range(_QUESTION_FOLDS):
            kept = [replace(a, questions=tuple(q for j, q in enumerate(a.questions) if j % _QUESTION_FOLDS != fold)) for a in articles]
            queries = [
                PseudoQuery(q, position)
                for position, a in enumerate(articles)
                for j, q in enumerate(a.questions)
                if j % _QUESTION_FOLDS == fold
            ]
            _search(index_without(kept), queries, encode, topics, asked)
    report: dict[str, Any] = {
        "pseudo_queries": len(made.hits),
        "pseudo_recall@1": round(sum(made.hits) / len(made.hits), 4) if made.hits else None,
    }
    if asked.hits:
        report["question_queries"] = len(asked.hits)
        report["question_recall@1"] = round(sum(asked.hits) / len(asked.hits), 4)
    found = made.found + asked.found
    hits = made.hits + asked.hits
    negatives = made.negatives + asked.negatives
    if len(negatives) < MIN_CALIBRATION_SAMPLES or sum(hits) == 0:
        return replace(Calibration.fallback(fusion), threshold=COMMON_THRESHOLD, report=report)
    rows = np.array(found + negatives)
    labels = np.array(hits + [0] * len(negatives))
    weights, intercept, offset, scale = fit_logistic(rows, labels, unused=() if asked.hits else LENGTH_DEPENDENT)
    calibration = Calibration(weights, intercept, offset, scale, samples=len(labels), fitted=True, fusion=fusion)
    answerable = np.array(found)[np.array(hits) == 1]
    report["answered_elsewhere"] = made.answered_elsewhere + asked.answered_elsewhere
    return _with_threshold(calibration, answerable, np.array(negatives), budget, report)


def _topics(articles: list[Article]) -> list[list[int]]:
    """The topic of each article: it and the articles sharing its title (a guide split into parts)."""
    by_title: dict[str, list[int]] = {}
    for position, article in enumerate(articles):
        by_title.setdefault(fold(article.title), []).append(position)
    return [by_title[fold(a.title)] if len(by_title[fold(a.title)]) < len(articles) else [i] for i, a in enumerate(articles)]


def _search(
    index: LanguageIndex,
    queries: list[PseudoQuery],
    encode: Callable[[list[str], bool], np.ndarray] | None,
    topics: list[list[int]],
    samples: _Samples,
) -> None:
    """Add each query's top article, and its top article with its topic left out, to `samples`."""
    if not queries:
        return
    vectors = encode([q.text for q in queries], True) if encode else None
    for number, query in enumerate(queries):
        signals, _ = index.signals(query.text, None if vectors is None else vectors[number])
        positions, features, _ = index.top(signals, 1)
        samples.found.append(features[0])
        samples.hits.append(int(int(positions[0]) == query.article))
        elsewhere, absent, _ = index.top(signals, 1, exclude=topics[query.article])
        coverage = signals["coverage"]
        if coverage[int(elsewhere[0])] >= ELSEWHERE_SHARE * coverage[query.article]:
            # Another topic holds most of the evidence the query has in its own article: a
            # base whose articles overlap answers it there, so it is no unanswerable query.
            samples.answered_elsewhere += 1
            continue
        samples.negatives.append(absent[0])


def _with_threshold(
    calibration: Calibration, answerable: np.ndarray, negatives: np.ndarray, budget: float, report: dict[str, Any]
) -> Calibration:
    """Choose the threshold for the false-answer budget and shift it onto COMMON_THRESHOLD."""
    scores = np.sort(calibration.probability(negatives))[::-1]
    allowed = math.floor(budget * len(scores))
    threshold = float(min(scores[allowed] + 1e-6, 1.0 - 1e-6)) if allowed < len(scores) else float(scores[-1])
    shift = _logit(COMMON_THRESHOLD) - _logit(threshold)
    shifted = replace(calibration, shift=shift)
    report = {
        **report,
        "pseudo_answered": round(float((shifted.probability(answerable) >= COMMON_THRESHOLD).sum()) / report["pseudo_queries"], 4),
        "pseudo_false_answers": round(float((shifted.probability(negatives) >= COMMON_THRESHOLD).mean()), 4),
    }
    return replace(calibration, threshold=round(threshold, 6), shift=shift, report=report)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def pseudo_queries(lang: str, articles: list[Article], passages: list[list[str]]) -> list[PseudoQuery]:
    """Short, casual questions made from the articles' sentences (see the module docstring)."""
    per_article = max(1, min(MAX_PER_ARTICLE, math.ceil(TARGET_PSEUDO_QUERIES / max(1, len(articles)))))
    stop = stop_words(lang)
    queries: list[PseudoQuery] = []
    for position, (article, parts) in enumerate(zip(articles, passages, strict=True)):
        rng = np.random.default_rng(
            int.from_bytes(hashlib.sha1(f"{article.id}\0{article.title}\0{article.body}".encode()).digest()[:8], "little")
        )
        title = {_key(word) for word in _WORD.findall(turkish_lower(article.title))}
        candidates: list[list[str]] = []
        for text in parts:
            for sentence in _SENTENCE_END.split(text):
                words = [
                    w
                    for w in _WORD.findall(sentence)
                    if len(w) >= _MIN_WORD_LETTERS and turkish_lower(w) not in stop and _key(w) not in title
                ]
                if len(words) >= 2:
                    candidates.append(words)
        if not candidates:
            continue
        for number in rng.permutation(len(candidates))[:per_article]:
            queries.append(PseudoQuery(_casual(candidates[int(number)], lang, rng), position))
    if len(queries) > 2 * TARGET_PSEUDO_QUERIES:
        keep = np.random.default_rng(len(queries)).choice(len(queries), 2 * TARGET_PSEUDO_QUERIES, replace=False)
        queries = [queries[i] for i in sorted(keep.tolist())]
    return queries


def _key(word: str) -> str:
    return fold(word)[:_TITLE_PREFIX]


def _casual(words: list[str], lang: str, rng: np.random.Generator) -> str:
    """Two to four consecutive content words, maybe with a question word, casing and a slip."""
    length = min(len(words), int(rng.integers(2, 5)))
    start = int(rng.integers(0, len(words) - length + 1))
    chosen = words[start : start + length]
    if rng.random() < 0.2:
        slip = int(rng.integers(len(chosen)))
        chosen[slip] = _slip(chosen[slip], rng)
    text = " ".join(chosen)
    question_words = _QUESTION_WORDS.get(lang, [])
    if question_words and rng.random() < 0.6:
        word, before = question_words[int(rng.integers(len(question_words)))]
        text = f"{word} {text}" if before else f"{text} {word}"
    draw = rng.random()
    if draw < 0.3:
        return fold(text)
    if draw < 0.8:
        return turkish_lower(text)
    return text


def _slip(word: str, rng: np.random.Generator) -> str:
    """One typing slip in a word of five letters or more: a letter dropped or two swapped."""
    if len(word) < 5:
        return word
    i = int(rng.integers(1, len(word) - 1))
    if rng.random() < 0.5:
        return word[:i] + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
