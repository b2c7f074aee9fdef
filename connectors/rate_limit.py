"""Per-sender limit on inbound messages: each one runs the NLU and can trigger paid sends.

A token bucket per sender: `burst` messages at once, refilled at `per_minute`. A refused
sender is told once per refusal spell (then silence until a token is back), so a flood cannot
make the bot flood back. Opt-out keywords are never limited (the channels check them first).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from cluster.buckets import SharedBuckets
from settings.rasa_side import RasaSettings


class Verdict(Enum):
    ALLOW = "allow"
    REFUSE_AND_TELL = "refuse_and_tell"
    REFUSE_SILENTLY = "refuse_silently"


@dataclass
class _Bucket:
    tokens: float
    updated: float
    told: bool = False


@dataclass
class SenderRateLimit:
    per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    max_senders: int = 50_000
    # With DESTEK_REDIS_URL the buckets live in Redis, shared by every replica (cluster/buckets.py).
    shared: SharedBuckets | None = None
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    @classmethod
    def inbound(cls, settings: RasaSettings) -> "SenderRateLimit":
        """The per-sender limit of web chat and WhatsApp: INBOUND_MESSAGES_PER_MINUTE and _BURST (checked by settings)."""
        shared = SharedBuckets.configured("inbound", settings.redis_url, settings.redis_prefix)
        return cls(per_minute=settings.inbound_per_minute, burst=settings.inbound_burst, shared=shared)

    def check(self, sender: str) -> Verdict:
        if self.shared is not None:
            return Verdict(self.shared.take(sender, self.per_minute, self.burst))
        now = self.clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[sender] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_minute / 60)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.told = False
            return Verdict.ALLOW
        if bucket.told:
            return Verdict.REFUSE_SILENTLY
        bucket.told = True
        return Verdict.REFUSE_AND_TELL

    def _forget_idle(self, now: float) -> None:
        """Keep memory bounded: drop senders whose bucket has refilled (they are as new)."""
        if len(self._buckets) < self.max_senders:
            return
        refill_time = self.burst * 60 / self.per_minute
        for sender in [s for s, b in self._buckets.items() if now - b.updated >= refill_time]:
            del self._buckets[sender]


SLOW_DOWN = {
    "tr": "Çok hızlı mesaj gönderiyorsunuz; lütfen biraz bekleyip tekrar yazın.",
    "en": "You are sending messages very quickly; please wait a moment and write again.",
}
