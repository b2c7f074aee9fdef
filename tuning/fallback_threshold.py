"""Choosing the NLU fallback threshold: the highest one that costs at most a small share of right answers.

Used by `make test-nlu` (scripts/nlu_report.py, on the project's cross-validation predictions)
and `make bench-nlu` (bench/nlu_benchmarks.py, on CLINC150's val split). Only in-scope
predictions decide, because out-of-scope examples are few (CLINC150 val: 100; ours: one
intent), and a threshold fitted to few of them does not carry over (docs/nlu.md).
"""

from collections.abc import Callable, Iterable

# Candidate thresholds, and how much in-scope accuracy (a share, 0.005 = half a point) the
# fallback may give up to catch questions the intents do not cover.
THRESHOLD_STEPS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(20))
IN_SCOPE_BUDGET = 0.005


def highest_threshold_within_budget(
    in_scope_accuracy_at: Callable[[float], float], budget: float = IN_SCOPE_BUDGET, candidates: Iterable[float] = THRESHOLD_STEPS
) -> float:
    """The highest candidate whose in-scope accuracy is at most `budget` below the accuracy at threshold 0."""
    floor = in_scope_accuracy_at(0.0) - budget
    return max(t for t in candidates if in_scope_accuracy_at(t) >= floor - 1e-12)


def accuracy_at(predictions: list[tuple[bool, float]]) -> Callable[[float], float]:
    """For (was the top intent right, its confidence) pairs: the share right and confident enough at a threshold."""
    return lambda threshold: sum(right and confidence >= threshold for right, confidence in predictions) / max(1, len(predictions))
