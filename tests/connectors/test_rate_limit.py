"""The per-sender inbound limit with a controlled clock."""

import pytest

from connectors.rate_limit import SenderRateLimit, Verdict
from settings.rasa_side import SettingsError, read


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_notice_then_silence_then_refill() -> None:
    clock = Clock()
    limit = SenderRateLimit(per_minute=6, burst=3, clock=clock)
    assert [limit.check("a") for _ in range(3)] == [Verdict.ALLOW] * 3
    assert limit.check("a") is Verdict.REFUSE_AND_TELL
    assert limit.check("a") is Verdict.REFUSE_SILENTLY
    assert limit.check("b") is Verdict.ALLOW  # other senders are not affected
    clock.now += 10  # one token back at 6 per minute
    assert limit.check("a") is Verdict.ALLOW
    assert limit.check("a") is Verdict.REFUSE_AND_TELL  # a new refusal spell is told again


def test_memory_is_bounded_by_forgetting_refilled_senders() -> None:
    clock = Clock()
    limit = SenderRateLimit(per_minute=60, burst=2, clock=clock, max_senders=100)
    for number in range(100):
        limit.check(f"s{number}")
    clock.now += 5
    limit.check("new")
    assert len(limit._buckets) == 1


def test_settings_from_the_environment_are_checked() -> None:
    with pytest.raises(SettingsError, match=r"^INBOUND_MESSAGES_PER_MINUTE: must be a number, not 'lots'$"):
        read({"INBOUND_MESSAGES_PER_MINUTE": "lots"})
    with pytest.raises(SettingsError, match=r"^INBOUND_MESSAGES_BURST: must be >= 1, not '0'$"):
        read({"INBOUND_MESSAGES_BURST": "0"})
    limit = SenderRateLimit.inbound(read({"INBOUND_MESSAGES_PER_MINUTE": "12", "INBOUND_MESSAGES_BURST": "4"}))
    assert (limit.per_minute, limit.burst, limit.shared) == (12.0, 4, None)
