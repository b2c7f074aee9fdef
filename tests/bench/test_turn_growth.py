"""bench/turn_growth.py's reading of the samples: ratios per block, the ack band, CPU from /proc."""

import os
import time

from bench.turn_growth import blocks, summary, usage_ms, verdicts

TURNS = 70


def series(destek: float, stock: float, ack_at: dict[int, float]) -> dict[str, dict[int, list[float]]]:
    """Two conversations; Destek `destek` ms a turn, stock `stock` ms; the ack `ack_at[first turn of block]`."""
    turns = range(1, TURNS + 1)
    ack = {turn: [ack_at[51] if turn > 50 else ack_at[1]] * 2 for turn in turns}
    return {
        "destek": {turn: [destek, destek + 1] for turn in turns},
        "stock": {turn: [stock, stock + 1] for turn in turns},
        "destek_cpu": {turn: [destek / 2] * 2 for turn in turns},
        "stock_cpu": {turn: [stock / 2] * 2 for turn in turns},
        "destek_wait": {turn: [1.0, 1.0] for turn in turns},
        "stock_wait": {turn: [1.0, 1.0] for turn in turns},
        "ack": ack,
        "handled": {turn: [100.0, 100.0] for turn in turns},
        "ack_fresh": {turn: [10.0] for turn in turns if turn <= 20 or turn > 50},
    }


def test_a_run_within_the_targets_is_reported_as_met() -> None:
    found = summary(series(110, 100, {1: 10.0, 51: 11.0}), TURNS)
    assert [row["turns"] for row in found["blocks"]] == ["1–20", "51–70"]
    assert found["conversations"] == 2
    first = found["blocks"][0]
    assert first["n"] == 40 and round(first["ratio"]["p50"], 2) == 1.1 and round(first["cpu_ratio"]["mean"], 2) == 1.1
    assert len(first["ratio_by_conversation"]) == 2
    assert round(found["blocks"][1]["ack_p95_vs_first"], 2) == 1.1
    lines = verdicts(found)
    assert lines[0].startswith("target wall ratio ≤ 1.15 at every block (p50 and p95): met")
    assert "ack p95 within ±20% of turns 1–20: met" in lines[2]


def test_a_slow_block_or_a_growing_ack_is_reported_as_not_met() -> None:
    lines = verdicts(summary(series(130, 100, {1: 10.0, 51: 13.0}), TURNS))
    assert "NOT met (worst 1.30" in lines[0]
    assert "CPU per turn (p50): NOT met" in lines[1]
    assert "ack p95 within ±20% of turns 1–20: NOT met (1.00, 1.30)" in lines[2]


def test_blocks_stop_at_the_last_full_block() -> None:
    assert blocks(220)[-1] == (201, 220)
    assert blocks(219)[-1] == (151, 170)


def test_usage_counts_this_process_cpu_in_nanosecond_steps() -> None:
    before, _ = usage_ms([os.getpid()])
    deadline = time.process_time() + 0.03
    while time.process_time() < deadline:
        pass
    after, _ = usage_ms([os.getpid()])
    assert 25 <= after - before < 1000
