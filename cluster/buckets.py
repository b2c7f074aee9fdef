"""Token buckets in Redis: the per-sender inbound limit shared by every replica.

The same rule as connectors/rate_limit.py (burst tokens, refilled at per_minute; a refused
sender is told once per refusal spell), computed atomically in one Lua script on Redis's own
clock, so two replicas never hand out the same token. A bucket's key expires once it would be
full again, which keeps memory bounded without a sweep.
"""

from typing import Optional

import redis

from cluster.settings import sync_client

# KEYS[1] bucket hash; ARGV: per_minute, burst. Returns "allow", "refuse_and_tell" or "refuse_silently".
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local per_minute = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'told')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
local told = state[3] == '1'
tokens = math.min(burst, tokens + math.max(0, now - updated) * per_minute / 60)
local verdict
if tokens >= 1 then
  tokens = tokens - 1
  told = false
  verdict = 'allow'
elseif told then
  verdict = 'refuse_silently'
else
  told = true
  verdict = 'refuse_and_tell'
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now), 'told', told and '1' or '0')
redis.call('EXPIRE', KEYS[1], math.ceil(burst * 60 / per_minute) + 1)
return verdict
"""


class SharedBuckets:
    """One family of buckets (`name`: which limit) on one Redis server."""

    def __init__(self, client: "redis.Redis", name: str, prefix: str = "destek") -> None:
        self.client = client
        self.name = name
        self.prefix = prefix
        self._take = client.register_script(_TAKE)

    @classmethod
    def configured(cls, name: str, url: str, prefix: str) -> Optional["SharedBuckets"]:
        """On the Redis at `url` (DESTEK_REDIS_URL), or None without one (then the limits stay in-process)."""
        return cls(sync_client(url), name, prefix) if url else None

    def take(self, sender: str, per_minute: float, burst: int) -> str:
        """One message from `sender`: the verdict's value (connectors.rate_limit.Verdict)."""
        verdict = self._take(keys=[f"{self.prefix}:rate:{self.name}:{sender}"], args=[per_minute, burst])
        return verdict.decode() if isinstance(verdict, bytes) else str(verdict)
