"""Customer feedback feeds ranking: an article rated down for a kind of question is demoted for similar questions.

Each 👍/👎 is stored with the embedding of the question that was answered (table
`feedback_vectors` in DESTEK_DB). For a new question, the votes on each candidate article
whose question is similar (cosine ≥ `similarity`) are counted; when 👎 outnumber 👍 by at least
`min_net`, the article's calibrated score is lowered by `step` per net 👎, at most
`max_penalty`, and the hits are re-sorted. A bounded penalty on similar questions only: an
article that is right for other questions keeps its place there, and praise cancels blame.

"Similar" depends on the embedding model (USE and multilingual-e5 spread cosines very
differently): unless `similarity` is set, it is the model's measured same-question cut-off
(kb_index/similarity.py). For a model without one, demotion is off and a warning says so.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from kb_index.search import Hit
from kb_index.similarity import MEASURED
from settings.model import KnowledgeBase as KnowledgeBaseSettings
from storage import schema
from storage.database import Database, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemotionSettings:
    enabled: bool = True
    similarity: float | None = None  # None: the embedding model's measured same-question cut-off
    min_net: int = 2
    step: float = 0.1
    max_penalty: float = 0.3

    @classmethod
    def of(cls, settings: KnowledgeBaseSettings) -> "DemotionSettings":
        """DESTEK_FEEDBACK_DEMOTION (on/off), _SIMILARITY, _MIN_NET, _STEP, _MAX_PENALTY (bounds checked by settings)."""
        return cls(
            enabled=settings.feedback_demotion,
            similarity=settings.feedback_similarity,
            min_net=settings.feedback_min_net,
            step=settings.feedback_step,
            max_penalty=settings.feedback_max_penalty,
        )


class FeedbackMemory(Store):
    """The votes with their questions' embeddings, for one embedding model."""

    TABLES = (schema.feedback_vectors,)

    def __init__(self, path: Database, model: str, settings: DemotionSettings | None = None) -> None:
        super().__init__(path)
        self.model = model
        self.settings = settings or DemotionSettings()
        self.similarity = self.settings.similarity
        if self.similarity is None and model in MEASURED:
            self.similarity = MEASURED[model].same_question
        elif self.similarity is None and self.settings.enabled:
            log.warning(
                "feedback demotion off: no measured same-question cut-off for embedding model %r; "
                "set DESTEK_FEEDBACK_SIMILARITY (docs/staff-tools.md#feedback-demotion-ranking)",
                model,
            )

    def add(self, article_id: str, language: str | None, query_vector: np.ndarray, helpful: bool) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO feedback_vectors (article_id, language, model, helpful, vector, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (article_id, language, self.model, int(helpful), np.asarray(query_vector, dtype=np.float32).tobytes(), time.time()),
            )

    def penalties(self, query_vector: np.ndarray, article_ids: Sequence[str]) -> dict[str, float]:
        """Score penalty per article (0 when its similar votes are not mostly 👎)."""
        if not article_ids or self.similarity is None:
            return {}
        marks = ", ".join("?" for _ in article_ids)
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT article_id, helpful, vector FROM feedback_vectors WHERE model = ? AND article_id IN ({marks})",
                (self.model, *article_ids),
            ).fetchall()
        net: dict[str, int] = {}
        query = np.asarray(query_vector, dtype=np.float32)
        for article_id, helpful, blob in rows:
            vector = np.frombuffer(blob, dtype=np.float32)
            if vector.shape == query.shape and float(vector @ query) >= self.similarity:
                net[article_id] = net.get(article_id, 0) + (-1 if helpful else 1)
        step, cap, floor = self.settings.step, self.settings.max_penalty, self.settings.min_net
        return {article_id: min(cap, step * count) for article_id, count in net.items() if count >= floor}

    def rerank(self, hits: list[Hit], query_vector: np.ndarray | None) -> list[Hit]:
        """Hits with penalties applied, best first; unchanged when demotion is off or there is no vector."""
        if not self.settings.enabled or query_vector is None or not hits:
            return hits
        penalties = self.penalties(query_vector, [hit.id for hit in hits])
        if not penalties:
            return hits
        demoted = [replace(hit, score=round(max(0.0, hit.score - penalties.get(hit.id, 0.0)), 4)) for hit in hits]
        return sorted(demoted, key=lambda hit: -hit.score)
