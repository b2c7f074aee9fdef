"""bench/nlu_benchmarks.py scoring: CLINC150 in-scope accuracy, oos recall, and the threshold rule."""

from bench.nlu_benchmarks import OOS, clinc_scores, falls_back, tune_threshold


def in_scope_fixture():
    """100 val queries: 96 right (93 at 0.9, two at 0.32, one at 0.12), 4 wrong at 0.2."""
    gold = [("q", "balance")] * 100
    confidences = [0.9] * 93 + [0.32, 0.32, 0.12]
    rankings = [[("balance", c), ("other", 0.01)] for c in confidences] + [[("transfer", 0.2), ("balance", 0.1)]] * 4
    return gold, rankings


def test_clinc_scores_count_a_fallback_as_out_of_scope() -> None:
    gold, rankings = in_scope_fixture()
    oos = [[(OOS, 0.9)], [("balance", 0.4)], [("balance", 0.9)]]
    assert clinc_scores(gold, rankings, oos, 0.0, 0.0) == (0.96, 1 / 3)
    assert clinc_scores(gold, rankings, oos, 0.5, 0.0) == (0.93, 2 / 3)


def test_ambiguity_margin_falls_back() -> None:
    assert falls_back([("a", 0.5), ("b", 0.47)], 0.3, 0.05)
    assert not falls_back([("a", 0.5), ("b", 0.4)], 0.3, 0.05)


def test_threshold_is_the_highest_within_the_in_scope_budget() -> None:
    gold, rankings = in_scope_fixture()
    unreachable_oos = [[("balance", 0.99)]] * 10
    # Up to 0.30 only the 0.12 answer is lost (0.95 >= 0.96 - 0.02); at 0.35 the two 0.32 ones go too.
    assert tune_threshold(gold, rankings, unreachable_oos, budget=0.02) == 0.3
    assert tune_threshold(gold, rankings, unreachable_oos, budget=0.0) == 0.1
