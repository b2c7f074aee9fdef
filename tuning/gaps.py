"""KB gap report: what customers asked that the KB did not answer, grouped by meaning, and how articles fare.

Questions come from four places in DESTEK_DB: low-score questions (`unanswered_questions`),
answers rated 👎 (`answer_feedback`), handoffs (`handoff_requests.last_query`) and messages
staff marked "needs an article" on the review page. Per language they are embedded with the
KB's embedder and grouped by agglomerative clustering (average linkage, cosine distance
threshold); each group gets a suggested article title: its most central question.
"""

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from feedback.records import Records
from language.detect import detect_language
from language.fold import fold
from settings.model import get_settings
from storage.database import Database
from tuning.review_store import NEEDS_ARTICLE, ReviewStore

DEFAULT_DISTANCE = 0.55  # average cosine distance within a group; measured on tests/test_gaps.py fixtures
EXAMPLES_PER_GROUP = 5
HANDOFF_WINDOW_S = 1800  # a handoff up to 30 min after an answer counts against that answer's article
FLAG_MIN_DOWNVOTES = 2
FLAG_MIN_DOWN_SHARE = 0.5
UNKNOWN_LANGUAGE = "unknown"  # a question in neither language (or too short to tell) still gets a group

Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class GapQuestion:
    text: str
    language: str
    source: str  # unanswered | rated_down | handed_off | needs_article
    sender_id: str
    created_at: float


@dataclass
class GapGroup:
    language: str
    suggested_title: str
    questions: list[GapQuestion] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.questions)

    @property
    def examples(self) -> list[str]:
        return list(dict.fromkeys(q.text for q in self.questions))[:EXAMPLES_PER_GROUP]

    @property
    def sources(self) -> dict[str, int]:
        return dict(Counter(q.source for q in self.questions))

    @property
    def customers(self) -> int:
        return len({q.sender_id for q in self.questions})


@dataclass(frozen=True)
class ArticleUse:
    article_id: str
    title: str
    served: int
    helpful: int
    not_helpful: int
    handoffs_after: int

    @property
    def flagged_for_rewrite(self) -> bool:
        rated = self.helpful + self.not_helpful
        return self.not_helpful >= FLAG_MIN_DOWNVOTES and self.not_helpful / rated >= FLAG_MIN_DOWN_SHARE


def collect_questions(database: Database) -> list[GapQuestion]:
    records, review = Records(database), ReviewStore(database)
    questions = [
        GapQuestion(row["query"], _language(row["language"], row["query"]), "unanswered", row["sender_id"], row["created_at"])
        for row in records.rows("unanswered_questions")
    ]
    questions += [
        GapQuestion(row["query"], _language(None, row["query"]), "rated_down", row["sender_id"], row["created_at"])
        for row in records.rows("answer_feedback")
        if not row["helpful"] and row["query"]
    ]
    questions += [
        GapQuestion(row["last_query"], _language(row["language"], row["last_query"]), "handed_off", row["sender_id"], row["created_at"])
        for row in records.rows("handoff_requests")
        if row["last_query"]
    ]
    questions += [
        GapQuestion(row["text"], _language(row["language"], row["text"]), "needs_article", row["sender_id"], row["message_at"])
        for row in review.actions(NEEDS_ARTICLE)
    ]
    return [q for q in questions if q.text.strip()]


def _language(stored: str | None, text: str) -> str:
    if stored in ("tr", "en"):
        return stored
    return detect_language(text).language or UNKNOWN_LANGUAGE


def group_questions(questions: Iterable[GapQuestion], encode: Encoder, distance: float = DEFAULT_DISTANCE) -> list[GapGroup]:
    """Groups per language, biggest first; the same text asked twice counts twice but is embedded once."""
    from sklearn.cluster import AgglomerativeClustering

    groups: list[GapGroup] = []
    by_language: dict[str, list[GapQuestion]] = {}
    for question in questions:
        by_language.setdefault(question.language, []).append(question)
    for language, items in sorted(by_language.items()):
        texts = list(dict.fromkeys(_key(q.text) for q in items))
        originals = {_key(q.text): q.text for q in items}
        vectors = encode([originals[key] for key in texts])
        if len(texts) == 1:
            labels = np.zeros(1, dtype=int)
        else:
            labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance).fit_predict(
                vectors
            )
        label_of = dict(zip(texts, labels, strict=True))
        for label in sorted(set(labels)):
            members = [i for i, key in enumerate(texts) if label_of[key] == label]
            weights = np.array([sum(_key(q.text) == texts[i] for q in items) for i in members], dtype=float)
            similarity = vectors[members] @ vectors[members].T
            central = members[int(np.argmax(similarity @ weights))]
            group = GapGroup(language, _title(originals[texts[central]]))
            group.questions = [q for q in items if label_of[_key(q.text)] == label]
            groups.append(group)
    return sorted(groups, key=lambda g: (-g.size, -g.customers, g.language, g.suggested_title))


def _key(text: str) -> str:
    return fold(text).strip(" ?!.")


def _title(text: str) -> str:
    text = " ".join(text.split()).rstrip(" .!")
    return text[:1].upper() + text[1:]


def default_encoder(model: str | None = None) -> Encoder:
    """The KB's embedder (USE multilingual by default, offline); char n-grams for the `none` model."""
    from kb_index.embedders import DEFAULT_MODEL, load_embedder

    embedder = load_embedder(model or get_settings().kb.embedding_model or DEFAULT_MODEL)
    if embedder is not None:
        return lambda texts: embedder.encode(list(texts), queries=True)

    def char_ngrams(texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer

        matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), preprocessor=fold).fit_transform(texts)
        return np.asarray(matrix.todense(), dtype=np.float32)

    return char_ngrams


def article_usage(database: Database, titles: dict[str, str]) -> list[ArticleUse]:
    """Articles by how often they were served, with 👍/👎 and handoffs that followed an answer from them."""
    records = Records(database)
    served = records.rows("answers_served")
    counts = Counter(row["article_id"] for row in served)
    helpful: Counter[str] = Counter()
    unhelpful: Counter[str] = Counter()
    for row in records.rows("answer_feedback"):
        if row["article_id"]:
            (helpful if row["helpful"] else unhelpful)[row["article_id"]] += 1
    handoffs: Counter[str] = Counter()
    for handoff in records.rows("handoff_requests"):
        before = [
            row
            for row in served
            if row["sender_id"] == handoff["sender_id"] and 0 <= handoff["created_at"] - row["created_at"] <= HANDOFF_WINDOW_S
        ]
        if before:
            handoffs[before[-1]["article_id"]] += 1
    ids = set(counts) | set(helpful) | set(unhelpful) | set(handoffs)
    uses = [ArticleUse(i, titles.get(i, i), counts[i], helpful[i], unhelpful[i], handoffs[i]) for i in ids]
    return sorted(uses, key=lambda u: (-u.served, -u.not_helpful, u.article_id))


def article_titles(source: Path) -> dict[str, str]:
    from kb_index.articles import load_articles

    return {article.id: article.title for article in load_articles(source)}


def usage_csv(uses: list[ArticleUse]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["article_id", "title", "served", "helpful", "not_helpful", "handoffs_after", "flagged_for_rewrite"])
    for use in uses:
        writer.writerow(
            [
                use.article_id,
                use.title,
                use.served,
                use.helpful,
                use.not_helpful,
                use.handoffs_after,
                "yes" if use.flagged_for_rewrite else "",
            ]
        )
    return out.getvalue()


def groups_csv(groups: list[GapGroup]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["group", "language", "size", "customers", "suggested_title", "unanswered", "rated_down", "handed_off", "needs_article", "examples"]
    )
    for number, group in enumerate(groups, start=1):
        sources = group.sources
        writer.writerow(
            [
                number,
                group.language,
                group.size,
                group.customers,
                _csv_safe(group.suggested_title),
                *(sources.get(s, 0) for s in ("unanswered", "rated_down", "handed_off", "needs_article")),
                _csv_safe(" | ".join(group.examples)),
            ]
        )
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """Customer text must not run as a formula when the CSV is opened in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
