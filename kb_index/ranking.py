"""Fusion of the retrieval signals, and the calibrated answer score.

Ranking: each signal (dense cosine, character n-gram cosine, word BM25; one value per
article) is z-scored over the articles of the query's language, and the fused score is their
weighted sum with fixed non-negative weights. Per-query normalisation makes signals of any
scale comparable on any knowledge base; the weights were chosen on public and sample sets
(docs/retrieval-eval.md), not fitted per base.

Answer score: a logistic model of relative and absolute evidence of an article (its fused
score, its margin over the best other article, its raw dense and character similarities, the
share of the query's word evidence (IDF mass) that the article contains, and its raw word BM25
score) gives the probability that the article answers the query. Its weights are fitted at
build time on the knowledge base's own pseudo-queries (kb_index/calibrate.py) and bounded to be
non-negative, so more evidence can never lower the score.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SIGNALS = ("dense", "chars", "words")
DEFAULT_FUSION = {"dense": 2.0, "chars": 1.0, "words": 1.0}
FEATURES = ("fused", "margin", "dense", "chars", "coverage", "words")
# Raw BM25 grows with the number of words a query has. Pseudo-queries all have two to four, so
# a weight fitted on them alone does not transfer to real questions (XQuAD half KB: false
# answers 3.5 % → 7.1 % in Turkish); it is fitted only when alternate questions, real questions
# of real lengths, are among the calibration queries (docs/retrieval-eval.md).
LENGTH_DEPENDENT = ("words",)
# Used when a knowledge base is too small to fit its own calibration (fewer than
# MIN_CALIBRATION_SAMPLES pseudo-queries, so too few to place a 5 % threshold either): hand-set
# on raw features, not fitted, with the threshold COMMON_THRESHOLD. Such a base is too small
# for relative evidence to mean much, so absolute similarity carries the score.
FALLBACK_WEIGHTS = {"fused": 0.0, "margin": 0.3, "dense": 6.0, "chars": 5.0, "coverage": 0.0, "words": 0.0}
FALLBACK_INTERCEPT = -6.0
MIN_CALIBRATION_SAMPLES = 20


def zscores(values: np.ndarray) -> np.ndarray:
    """Values standardised over the articles of one query (all zero when they are all equal)."""
    spread = float(values.std())
    if spread < 1e-9:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - values.mean()) / spread).astype(np.float32)


def fuse(signals: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted sum of the z-scored signals (absent signals count as zero)."""
    first = next(iter(signals.values()))
    fused = np.zeros(len(first), dtype=np.float32)
    for name, weight in weights.items():
        if weight and name in signals:
            fused += weight * zscores(signals[name])
    return fused


def features(fused: np.ndarray, signals: Mapping[str, np.ndarray], positions: np.ndarray) -> np.ndarray:
    """FEATURES of the articles at `positions` (rows), given the fused scores of all articles."""
    if len(fused) > 1:
        top_two = np.partition(-fused, 1)[:2]
        best, second = -top_two[0], -top_two[1]
        others = np.where(fused[positions] >= best, second, best)
    else:
        others = np.zeros(len(positions), dtype=np.float32)
    zeros = np.zeros(len(positions), dtype=np.float32)
    return np.column_stack(
        [
            fused[positions],
            fused[positions] - others,
            signals["dense"][positions] if "dense" in signals else zeros,
            signals["chars"][positions] if "chars" in signals else zeros,
            signals["coverage"][positions] if "coverage" in signals else zeros,
            signals["words"][positions] if "words" in signals else zeros,
        ]
    ).astype(np.float64)


@dataclass(frozen=True)
class Calibration:
    """Logistic answer score; `weights` apply to standardised FEATURES (offset, scale).

    `threshold` is the probability chosen for the false-answer budget; `shift` moves the
    logits so that this threshold lands on the index's common threshold, making one answer
    threshold (`kb.threshold`) right for every language."""

    weights: dict[str, float]
    intercept: float
    offset: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FEATURES, 0.0))
    scale: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FEATURES, 1.0))
    threshold: float | None = None
    shift: float = 0.0
    samples: int = 0
    fitted: bool = False
    fusion: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FUSION))
    report: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fallback(cls, fusion: Mapping[str, float] | None = None) -> "Calibration":
        return cls(weights=dict(FALLBACK_WEIGHTS), intercept=FALLBACK_INTERCEPT, fusion=dict(fusion or DEFAULT_FUSION))

    def probability(self, rows: np.ndarray) -> np.ndarray:
        offset = np.array([self.offset[name] for name in FEATURES])
        scale = np.array([self.scale[name] for name in FEATURES])
        weights = np.array([self.weights[name] for name in FEATURES])
        logits = ((rows - offset) / scale) @ weights + self.intercept + self.shift
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_logistic(
    rows: np.ndarray, labels: np.ndarray, l2: float = 1e-2, unused: tuple[str, ...] = ()
) -> tuple[dict[str, float], float, dict[str, float], dict[str, float]]:
    """Logistic regression with every feature weight bounded to [0, ∞) (L-BFGS-B); the
    weights of the `unused` features are held at 0.

    Returns (weights, intercept, offset, scale) for standardised features."""
    from scipy.optimize import minimize

    offset = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    x = (rows - offset) / scale
    y = labels.astype(np.float64)
    count = x.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logits = x @ theta[:count] + theta[count]
        p = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        value = np.mean(np.logaddexp(0.0, logits) - y * logits) + l2 * float(theta[:count] @ theta[:count])
        gradient = np.append(x.T @ (p - y) / len(y) + 2 * l2 * theta[:count], np.mean(p - y))
        return float(value), gradient

    bounds = [(0.0, 0.0) if name in unused else (0.0, None) for name in FEATURES] + [(None, None)]
    result = minimize(loss, np.zeros(count + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x
    return (
        {name: float(theta[i]) for i, name in enumerate(FEATURES)},
        float(theta[count]),
        {name: float(offset[i]) for i, name in enumerate(FEATURES)},
        {name: float(scale[i]) for i, name in enumerate(FEATURES)},
    )


def article_maxima(entry_scores: np.ndarray, article_starts: np.ndarray) -> np.ndarray:
    """Best entry score of each article; entries are stored article by article."""
    return np.maximum.reduceat(entry_scores, article_starts)
