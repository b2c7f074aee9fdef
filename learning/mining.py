"""Group agents' answers into KB suggestions: an alternate question for an existing article, or a draft article.

Per language (TR and EN never mix), each kept answer is one point: its customer question's vector
and its agent answer's vector (the index's own embedder, so the same vectors also serve the KB
searches below), both unit length, side by side. Cosine distance between two
points is then 1 − (question similarity + answer similarity) / 2, so questions worded apart but
answered alike by agents still meet. Agglomerative clustering (average linkage) groups them, as
the gap report groups unanswered questions, cut at the index model's measured grouping distance
(kb_index/similarity.py: USE and multilingual-e5 spread cosines very differently); a model with
no measured distance is refused with a one-line KbError.

A group's target article: the article its agents' answers link to (URL or id), else the article
the KB finds for the group's central answer at or above the index's answer threshold. With a
target, the suggestion adds the customers' wordings the article lacks as alternate questions;
without one, it is a draft article (title: the central question; body: the central answer).
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from kb_index.articles import Article
from kb_index.search import Hit, KnowledgeBase
from kb_index.similarity import cutoffs_for
from language.fold import fold
from learning.store import AgentAnswer
from tuning.kb_lint import question_key

MAX_DRAFT_QUESTIONS = 10
ALTERNATE, ARTICLE = "alternate", "article"
_URL = re.compile(r"https?://[^\s<>()\[\]\"']+|(?<![\w/])/[A-Za-z0-9][^\s<>()\[\]\"']*")

Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass
class Suggestion:
    kind: str
    language: str
    answers: list[AgentAnswer]
    questions: list[str]  # alternate: wordings to add; article: the draft's questions
    central_question: str
    central_answer: str
    article: Article | None = None
    reason: str = ""
    agents: list[str] = field(default_factory=list)

    @property
    def ids(self) -> str:
        return ",".join(str(a.id) for a in self.answers)

    @property
    def draft_title(self) -> str:
        text = " ".join(self.central_question.split()).rstrip(" .!")
        return text[:1].upper() + text[1:]


def mine(answers: Sequence[AgentAnswer], kb: KnowledgeBase, articles: Sequence[Article], distance: float | None = None) -> list[Suggestion]:
    """Suggestions, biggest groups first; groups whose every wording the bot already answers are left out.

    distance: the grouping cut (default: the index model's, `grouping_distance`)."""
    distance = grouping_distance(kb) if distance is None else distance
    encode = kb_encoder(kb)
    suggestions = []
    for group in group_answers(answers, encode, distance):
        suggestion = suggest(group, kb, articles, encode)
        if suggestion is not None:
            suggestions.append(suggestion)
    return sorted(suggestions, key=lambda s: (-len(s.answers), s.language, s.central_question))


def grouping_distance(kb: KnowledgeBase) -> float:
    """The measured grouping cut of the index's embedding model; KbError for a model without one."""
    return cutoffs_for(kb.manifest["model"]).group_distance


def kb_encoder(kb: KnowledgeBase) -> Encoder:
    """The index's embedder (cached per text); char n-gram hashing for a lexical-only index."""
    if kb.manifest["dim"]:

        def embed(texts: Sequence[str]) -> np.ndarray:
            vectors = [kb.embed_query(text) for text in texts]
            return np.stack([vector for vector in vectors if vector is not None])  # a dense index always embeds

        return cached(embed)
    return cached(char_ngram_encoder())


def char_ngram_encoder() -> Encoder:
    """Char 3–5-gram hashing (folded text): the vectors of a lexical-only (`none`) index."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), preprocessor=fold, n_features=2**16, alternate_sign=False)
    return lambda texts: np.asarray(vectorizer.transform(list(texts)).todense(), dtype=np.float32)


def cached(encode: Encoder) -> Encoder:
    """Each distinct text embedded once (long agent answers are the slow part), missing ones in one batch."""
    vectors: dict[str, np.ndarray] = {}

    def lookup(texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in vectors))
        if missing:
            vectors.update(zip(missing, np.asarray(encode(missing), dtype=np.float32), strict=True))
        return np.stack([vectors[t] for t in texts])

    return lookup


def group_answers(answers: Sequence[AgentAnswer], encode: Encoder, distance: float) -> list[list[AgentAnswer]]:
    from sklearn.cluster import AgglomerativeClustering

    groups: list[list[AgentAnswer]] = []
    for language in sorted({a.language for a in answers}):
        items = [a for a in answers if a.language == language]
        if len(items) == 1:
            groups.append(items)
            continue
        points = _points(items, encode)
        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance).fit_predict(
            points
        )
        for label in sorted(set(labels)):
            groups.append([item for item, mine in zip(items, labels) if mine == label])
    return groups


def _points(items: Sequence[AgentAnswer], encode: Encoder) -> np.ndarray:
    questions = _unit(encode([a.question for a in items]))
    replies = _unit(encode([a.answer for a in items]))
    return np.hstack([questions, replies]) / np.sqrt(2.0)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def suggest(
    group: Sequence[AgentAnswer], kb: KnowledgeBase, articles: Sequence[Article], encode: Encoder | None = None
) -> Suggestion | None:
    """The suggestion for one group of answers (one language), or None when nothing is left to add."""
    encode = encode or kb_encoder(kb)
    language = group[0].language
    if any(a.language != language for a in group):
        raise ValueError("field 'ids': the answers are not all in one language")
    points = _points(group, encode)
    central = int(np.argmax((points @ points.T).sum(axis=1)))
    wordings = list(dict.fromkeys(q for a in group for q in a.questions))
    agents = sorted({a.agent for a in group if a.agent})
    article, reason = _cited(group, articles, language)
    if article is None:
        article, reason = _matched(group[central].answer, kb, articles, language, encode)
    if article is None:
        return Suggestion(
            ARTICLE, language, list(group), wordings[:MAX_DRAFT_QUESTIONS], group[central].question, group[central].answer, agents=agents
        )
    known = {question_key(q) for q in (article.title, *article.questions)}
    missing = [q for q in wordings if question_key(q) not in known and not _answers(kb, q, language, article.id, encode)]
    if not missing:
        return None
    return Suggestion(ALTERNATE, language, list(group), missing, group[central].question, group[central].answer, article, reason, agents)


def _cited(group: Sequence[AgentAnswer], articles: Sequence[Article], language: str) -> tuple[Article | None, str]:
    by_url = {_canonical(a.url): a for a in articles if a.url}
    counts: dict[str, int] = {}
    for answer in group:
        cited = {by_url[_canonical(u)].topic for u in _URL.findall(answer.answer) if _canonical(u) in by_url}
        cited |= {a.topic for a in articles if re.search(rf"(?<![\w-]){re.escape(a.id)}(?![\w-])", answer.answer)}
        for topic in cited:
            counts[topic] = counts.get(topic, 0) + 1
    for topic, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        same = next((a for a in articles if a.topic == topic and a.lang == language), None)
        if same is not None:
            return same, f"agents linked to it in {counts[topic]} of {len(group)} answers"
    return None, ""


def _search(kb: KnowledgeBase, text: str, language: str, encode: Encoder) -> list[Hit]:
    vector = encode([text])[0] if kb.manifest["dim"] else None
    return kb.search(text, k=1, lang=language, query_vector=vector)


def _matched(answer: str, kb: KnowledgeBase, articles: Sequence[Article], language: str, encode: Encoder) -> tuple[Article | None, str]:
    if language not in kb.languages:
        return None, ""
    hits = _search(kb, answer, language, encode)
    if not hits or hits[0].score < kb.threshold:
        return None, ""
    article = next((a for a in articles if a.id == hits[0].id), None)
    return article, f"the agents' answer matches it (score {hits[0].score:.2f}, threshold {kb.threshold:.2f})"


def _answers(kb: KnowledgeBase, question: str, language: str, article_id: str, encode: Encoder) -> bool:
    """The bot already answers this wording with that article."""
    if language not in kb.languages:
        return False
    hits = _search(kb, question, language, encode)
    return bool(hits) and hits[0].id == article_id and hits[0].score >= kb.threshold


def _canonical(url: str) -> str:
    parts = urlsplit(url.rstrip(".,;:!?"))
    return (parts.netloc.lower() + parts.path.rstrip("/")).lower()
