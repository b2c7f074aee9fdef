"""Suggestions for the agent: the KB passages and reply templates that fit what the customer wrote.

The passages come from the same kb_index the bot answers from (DESTEK_KB_INDEX), searched in the
customer's language; the customer's latest messages are each searched (see `passages` for how
they are merged). Templates are ranked by how close their text
is to the customer's words and to the best article's title (character n-grams, plus the index's sentence
model when it has one), so "paketim gelmedi" finds a template about tracking a parcel. Offline.
"""

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.build import POINTER
from kb_index.lexical import LexicalIndex
from kb_index.search import Hit, KnowledgeBase

RECENT_MESSAGES = 3
AGE_WEIGHTS = (1.0, 0.85, 0.7)  # newest message first
MAX_QUERY_CHARS = 500
_VARIABLE = re.compile(r"\{[^{}]*\}")  # a template's {first_name}: not words to match on
_MARKUP = re.compile(r"<[^<>]*>")  # markup a customer pasted or typed: never what they ask about
# The newest message's hits above this share of the index's answer threshold come first: a new
# question scores ~0.35-0.9, "thanks", "still waiting" or "merhaba" below 0.06 on the sample KB (threshold 0.5).
NEW_TOPIC_SHARE = 0.5
CACHE_SIZE = 2048  # searches and sentence vectors kept (cleared when full or when the index changes)
ARTICLE_WEIGHT = 0.8  # a template matching the best article counts a little less than one matching the customer


@dataclass(frozen=True)
class Passage:
    hit: Hit
    weighted: float
    query: str

    def public(self) -> dict[str, Any]:
        return {**self.hit.public(), "query": self.query}


def customer_texts(messages: Sequence[dict[str, Any]], card: dict[str, Any] | None) -> list[tuple[int, str]]:
    """The customer's latest messages to the agent, newest first, as (message id, text); before
    the customer has written to the agent, their last turns with the bot (id 0)."""
    texts = [(int(m["id"]), str(m["text"])) for m in messages if m.get("direction") == "customer" and str(m.get("text") or "").strip()]
    if not texts:
        turns = [t for t in (card or {}).get("transcript") or [] if t.get("role") == "customer" and str(t.get("text") or "").strip()]
        texts = [(0, str(turn["text"])) for turn in turns]
    return [(message_id, text.strip()[:MAX_QUERY_CHARS]) for message_id, text in texts[::-1][:RECENT_MESSAGES]]


class Copilot:
    """Opens the index on first use and again when `kb_index build` switches its live generation."""

    def __init__(self, index_dir: Path, model: str | None = None, threads: int | None = None) -> None:
        """`threads`: CPU threads of the index's embedder, which embeds one text at a time here (each
        message, title and template on its own): DESTEK_QUERY_EMBED_THREADS, one by default (docs/turn-cost.md)."""
        self.index_dir = Path(index_dir)
        self.model = model
        self.threads = threads
        self._lock = threading.Lock()
        self._kb: KnowledgeBase | None = None
        self._pointer: str | None = None
        # A conversation's earlier messages are searched again with each new one: keep the results.
        self._searches: dict[tuple[str, str | None, int], list[Hit]] = {}
        self._vectors_by_text: dict[str, np.ndarray | None] = {}

    def knowledge_base(self) -> KnowledgeBase:
        """Raises kb_index.errors.KbError (one line) when the index is missing or damaged."""
        pointer = self.index_dir / POINTER
        current = pointer.read_text(encoding="utf-8") if pointer.is_file() else None
        with self._lock:
            if self._kb is None or current != self._pointer:
                self._kb = KnowledgeBase.open(self.index_dir, model=self.model, threads=self.threads, query_threads=self.threads)
                self._pointer = current
                self._searches.clear()
                self._vectors_by_text.clear()
            return self._kb

    def passages(self, texts: Sequence[str], language: str | None, k: int = 3) -> list[Passage]:
        """The best `k` articles for the customer's messages (newest first), in `language` when the
        index has it (else the language each message is detected in). The newest message's hits
        above half the index's answer threshold come first (the customer moved on to a new question);
        the other places go to the best of all recent messages, older ones counting less (a
        "hello?" or "thanks" keeps the earlier question's articles on screen)."""
        kb = self.knowledge_base()
        lang = language if language in kb.languages else None
        best: dict[str, Passage] = {}
        confident: list[Passage] = []  # what the newest message asks, where it clearly asks something
        # strict=False: only the newest len(AGE_WEIGHTS) messages count; older ones are left out on purpose.
        for age, (weight, text) in enumerate(zip(AGE_WEIGHTS, texts, strict=False)):
            for hit in self._search(kb, text, lang, k + 2):
                candidate = Passage(hit, hit.score * weight, text)
                if age == 0 and hit.score >= NEW_TOPIC_SHARE * kb.threshold:
                    confident.append(candidate)
                if hit.id not in best or candidate.weighted > best[hit.id].weighted:
                    best[hit.id] = candidate
        if len(texts) > 1:  # the earlier question keeps at least one place while it is on screen
            confident = confident[: k - 1]
        taken = {passage.hit.id for passage in confident}
        rest = sorted((p for p in best.values() if p.hit.id not in taken), key=lambda passage: -passage.weighted)
        return (confident + rest)[:k]

    def templates(
        self, texts: Sequence[str], passages: Sequence[Passage], templates: Sequence[dict[str, Any]], k: int = 3
    ) -> list[dict[str, Any]]:
        """The `k` reply templates closest to the customer's latest words or to the best article's title
        (its question: a passage often mentions neighbouring topics), with a score in 0..1."""
        if not templates or not texts:
            return []
        bodies = [f"{row['name']}. {_VARIABLE.sub(' ', row['text'])}" for row in templates]
        probes = [(1.0, text) for text in texts[:1]] + [(ARTICLE_WEIGHT, p.hit.title) for p in passages[:1]]
        lexical = LexicalIndex.build(bodies)
        kb = self.knowledge_base()
        vectors = self._vectors(kb, bodies)
        scores: np.ndarray = np.zeros(len(templates), dtype=np.float32)
        for weight, probe in probes:
            similarity = lexical.scores(probe)
            if vectors is not None:
                similarity = 0.5 * similarity + 0.5 * np.clip(vectors @ self._embed(kb, probe), 0, 1)
            scores = scores + weight * similarity
        scores = scores / sum(weight for weight, _ in probes)  # a weighted mean: 0..1
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            {
                "id": templates[i]["id"],
                "name": templates[i]["name"],
                "language": templates[i]["language"],
                "text": templates[i]["text"],
                "score": round(float(scores[i]), 4),
            }
            for i in order
            if scores[i] > 0
        ]

    def _embed(self, kb: KnowledgeBase, text: str) -> np.ndarray | None:
        if text not in self._vectors_by_text:
            if len(self._vectors_by_text) >= CACHE_SIZE:
                self._vectors_by_text.clear()
            self._vectors_by_text[text] = kb.embed_query(text)
        return self._vectors_by_text[text]

    def _search(self, kb: KnowledgeBase, text: str, lang: str | None, k: int) -> list[Hit]:
        key = (text, lang, k)
        if key not in self._searches:
            if len(self._searches) >= CACHE_SIZE:
                self._searches.clear()
            words = _MARKUP.sub(" ", text)  # the index scores a query by how much of it an article covers
            self._searches[key] = kb.search(words, k=k, lang=lang, query_vector=self._embed(kb, words))
        return self._searches[key]

    def _vectors(self, kb: KnowledgeBase, bodies: Sequence[str]) -> np.ndarray | None:
        """The templates' sentence vectors (None for a lexical-only index)."""
        vectors = [self._embed(kb, body) for body in bodies]
        present = [vector for vector in vectors if vector is not None]
        return np.vstack(present) if len(present) == len(vectors) else None

    def suggest(
        self, handoff: dict[str, Any], messages: Sequence[dict[str, Any]], card: dict[str, Any] | None, templates: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """What the inbox's copilot panel shows for one handoff."""
        recent = customer_texts(messages, card)
        texts = [text for _, text in recent]
        language = handoff.get("language") or (card or {}).get("language")
        passages = self.passages(texts, language) if texts else []
        in_language = [row for row in templates if not language or row["language"] == language]
        return {
            "handoff_id": handoff["id"],
            "language": language,
            "based_on_message_id": recent[0][0] if recent else 0,
            "queries": texts,
            "passages": [passage.public() for passage in passages],
            "templates": self.templates(texts, passages, in_language),
        }
