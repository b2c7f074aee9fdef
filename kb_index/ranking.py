"""Article-level scoring shared by index building (calibration) and search.

An article's evidence is its best dense similarity and its best lexical similarity over
its entries (title, questions, passages). A logistic model turns the pair into the
probability that the article answers the query: that is the calibrated score in [0, 1],
and ranking by it is the fusion of the two signals.
"""

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from kb_index.lexical import LexicalIndex

# Used when a knowledge base has too few alternate questions to fit its own calibration.
# Hand-set starting values, not fitted: a base with fewer than MIN_CALIBRATION_SAMPLES
# questions should be evaluated (`kb_index eval`) and its threshold set from that.
FALLBACK_CALIBRATION: dict[str, Any] = {"dense": 9.0, "lexical": 7.0, "intercept": -8.5}
MIN_CALIBRATION_SAMPLES = 30
_NEGATIVES_PER_QUESTION = 5
_MAX_CALIBRATION_QUESTIONS = 3000


@dataclass(frozen=True)
class Calibration:
    dense: float
    lexical: float
    intercept: float
    samples: int = 0

    def probability(self, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        logits = self.dense * dense + self.lexical * lexical + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def article_maxima(entry_scores: np.ndarray, article_starts: np.ndarray) -> np.ndarray:
    """Best entry score of each article; entries are stored article by article."""
    return np.maximum.reduceat(entry_scores, article_starts)


def fit_calibration(
    dense_vectors: np.ndarray | None, lexical: "LexicalIndex", entry_kinds: list[str], article_starts: np.ndarray, seed: int = 13
) -> Calibration:
    """Fit the logistic model by leaving each alternate question out and searching for it.

    Positives: the question's own article; negatives: the best-scoring other articles.
    """
    from sklearn.linear_model import LogisticRegression

    entry_articles = np.repeat(np.arange(len(article_starts)), np.diff(np.append(article_starts, len(entry_kinds))))
    questions = np.flatnonzero(np.array(entry_kinds) == "question")
    if len(article_starts) < 2 or len(questions) < MIN_CALIBRATION_SAMPLES:
        return Calibration(**FALLBACK_CALIBRATION)
    rng = np.random.default_rng(seed)
    if len(questions) > _MAX_CALIBRATION_QUESTIONS:
        questions = rng.choice(questions, _MAX_CALIBRATION_QUESTIONS, replace=False)
    lexical_rows = lexical.entry_vectors()
    features: list[tuple[float, float]] = []
    labels: list[int] = []
    for entry in questions:
        dense = dense_vectors @ dense_vectors[entry] if dense_vectors is not None else np.zeros(len(entry_kinds), np.float32)
        lexical_scores = lexical.similarities(lexical_rows[entry])
        dense[entry], lexical_scores[entry] = -1.0, 0.0
        article_dense = article_maxima(dense, article_starts)
        article_lexical = article_maxima(lexical_scores, article_starts)
        own = entry_articles[entry]
        features.append((article_dense[own], article_lexical[own]))
        labels.append(1)
        order = np.argsort(-(article_dense + article_lexical))
        for other in [a for a in order if a != own][:_NEGATIVES_PER_QUESTION]:
            features.append((article_dense[other], article_lexical[other]))
            labels.append(0)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(np.array(features), np.array(labels))
    weights = model.coef_[0]
    return Calibration(float(weights[0]), float(weights[1]), float(model.intercept_[0]), samples=len(labels))
