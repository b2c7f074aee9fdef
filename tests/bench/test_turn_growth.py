"""bench/turn_growth.py's reading of the samples: ratios per block, the ack band against the first block and
against the new customers' acks of the same block, the WhatsApp-only blocks, CPU from /proc."""

import os
import time

from bench.turn_growth import ack_blocks, blocks, p95_interval, summary, table, usage_ms, verdicts

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
    assert round(found["acks"][1]["vs_first"], 2) == 1.1
    assert round(found["acks"][1]["vs_control"], 2) == 1.1 and round(found["acks"][1]["vs_control_first"], 2) == 1.1
    lines = verdicts(found)
    assert lines[0].startswith("target wall ratio ≤ 1.15 at every block (p50 and p95): met")
    assert "ack p95 within ±20% of turns 1–20: met" in lines[2]
    assert "of the same block (load drift cancelled): within ±20% (1.00, 1.10)" in lines[3]


def test_a_slow_block_or_a_growing_ack_is_reported_as_not_met() -> None:
    lines = verdicts(summary(series(130, 100, {1: 10.0, 51: 13.0}), TURNS))
    assert "NOT met (worst 1.30" in lines[0]
    assert "CPU per turn (p50): NOT met" in lines[1]
    assert "ack p95 within ±20% of turns 1–20: NOT met (1.00, 1.30)" in lines[2]
    assert "(load drift cancelled): NOT within ±20% (1.00, 1.30)" in lines[3]


def test_an_ack_that_follows_the_load_of_the_moment_is_flat_against_its_control() -> None:
    """Both the long conversation's and the new customers' acks slower in a later block: the raw band fails,
    the band against the same block's control holds."""
    samples = series(110, 100, {1: 10.0, 51: 14.0})
    samples["ack_fresh"] = {turn: [14.0 if turn > 50 else 10.0] for turn in range(1, TURNS + 1) if turn <= 20 or turn > 50}
    lines = verdicts(summary(samples, TURNS))
    assert "ack p95 within ±20% of turns 1–20: NOT met (1.00, 1.40)" in lines[2]
    assert "(load drift cancelled): within ±20% (1.00, 1.00); the new customers' own p95 / its first block's: 1.00, 1.40" in lines[3]


def test_the_whatsapp_only_run_spreads_its_blocks_to_the_last_turn_and_prints_the_ack_table() -> None:
    assert ack_blocks(200) == [(1, 20), (46, 65), (91, 110), (136, 155), (181, 200)]
    turns = range(1, 201)
    samples: dict[str, dict[int, list[float]]] = {
        name: {} for name in ("destek", "stock", "destek_cpu", "stock_cpu", "destek_wait", "stock_wait")
    }
    in_block = [turn for first, last in ack_blocks(200) for turn in range(first, last + 1)]
    samples["ack"] = {turn: [5.0 + turn % 3, 5.5] for turn in in_block}
    samples["ack_fresh"] = {turn: [5.0 + turn % 2, 5.0] for turn in in_block}
    samples["handled"] = {turn: [300.0, 310.0] for turn in turns}
    samples["settle_ms"] = {0: [40.0] * 400}
    samples["unsettled"] = {0: [0.0]}
    lines = table(samples, 200)
    assert lines[1].startswith("| turns | long conversations' ack p50 / p95 (n)")
    assert [line.split(" | ")[0] for line in lines[3:8]] == ["| 1–20", "| 46–65", "| 91–110", "| 136–155", "| 181–200"]
    assert "(40)" in lines[3]
    assert any(line.startswith("settling before each timed ack") and "gave up after 3 s: 0" in line for line in lines)
    assert any(line.startswith("target WhatsApp ack p95 within ±20% of turns 1–20: met") for line in lines)


def test_the_interval_of_a_p95_ratio_holds_the_ratio_of_equal_samples() -> None:
    same = [float(value) for value in range(1, 61)]
    low, high = p95_interval(same, same)
    assert low <= 1.0 <= high
    assert p95_interval([2 * value for value in same], same)[0] > 1.5


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
