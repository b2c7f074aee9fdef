"""The WhatsApp inbound queue shared by every Rasa replica, in Redis.

Twilio delivers each webhook to whichever replica the load balancer picks, and a retry may go to
another one. So that each message is handled once and one customer's messages in arrival order,
the acknowledging replica only records the message (one Lua script: a MessageSid key set if
absent, the message appended to that address's list); workers on every replica then take an
*address* at a time under a lease (a Redis key with a short expiry, renewed while they work),
handle its messages in list order and remove each one once handled.

A replica killed mid-message leaves its lease to expire; the sweeper of a surviving replica
hands the address to a worker again, which handles the rest. The message that was in progress
is marked (an `inflight` key): before handling it again the worker asks the tracker store
whether Rasa already saved a turn with that MessageSid, so a turn is never stored twice.
"""

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Optional

from cluster.settings import async_client

logger = logging.getLogger(__name__)

SID_TTL_SECONDS = 7 * 24 * 3600  # Twilio retries for far less; a week keeps the dedupe exact
LEASE_MS = 10_000
SWEEP_SECONDS = 2.0

# KEYS: sid key, address list, active set, ready list; ARGV: address, item, ttl. 1 if queued, 0 if seen before.
_PUSH = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[3])) == false then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('RPUSH', KEYS[4], ARGV[1])
return 1
"""
# KEYS: lease, address list, active set; ARGV: owner, address. Drop the head if the lease is still ours.
_DONE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[2])
local left = redis.call('LLEN', KEYS[2])
if left == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return left
"""
# KEYS: lease; ARGV: owner, ms. Renew (1) or release (ms = 0) only our own lease.
_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) == 0 then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 1
"""

Handler = Callable[[dict[str, str], str], Awaitable[None]]
AlreadyHandled = Callable[[dict[str, str]], Awaitable[bool]]


class SharedWhatsAppQueue:
    def __init__(self, url: str, prefix: str = "destek") -> None:
        self.url = url
        self.prefix = f"{prefix}:whatsapp"
        self.owner = secrets.token_hex(8)  # this process, in the leases it holds
        self._clients: dict[int, Any] = {}

    @classmethod
    def configured(cls, url: str, prefix: str) -> Optional["SharedWhatsAppQueue"]:
        """On the Redis at `url` (DESTEK_REDIS_URL), or None without one."""
        return cls(url, prefix) if url else None

    def _redis(self) -> Any:
        """A client per event loop: the server's loop records, the channel's processing loop works."""
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients[loop] = async_client(self.url)
        return self._clients[loop]

    def _keys(self, address: str) -> dict[str, str]:
        return {"list": f"{self.prefix}:queue:{address}", "lease": f"{self.prefix}:lease:{address}"}

    @property
    def _active(self) -> str:
        return f"{self.prefix}:active"

    @property
    def _ready(self) -> str:
        return f"{self.prefix}:ready"

    async def seen(self, message_sid: str) -> bool:
        return bool(await self._redis().exists(f"{self.prefix}:sid:{message_sid}"))

    async def push(self, params: dict[str, str], verdict: str) -> bool:
        """Record one inbound message (False: this MessageSid was recorded before)."""
        address = params["From"]
        item = json.dumps({"params": params, "verdict": verdict}, ensure_ascii=False)
        keys = [f"{self.prefix}:sid:{params['MessageSid']}", self._keys(address)["list"], self._active, self._ready]
        return bool(await self._redis().eval(_PUSH, len(keys), *keys, address, item, SID_TTL_SECONDS))

    async def run(self, workers: int, handle: Handler, already_handled: AlreadyHandled) -> None:
        """Work the queue until cancelled: `workers` workers and a sweeper (on the calling loop)."""
        tasks = [asyncio.ensure_future(self._worker(handle, already_handled)) for _ in range(workers)]
        tasks.append(asyncio.ensure_future(self._sweeper()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _worker(self, handle: Handler, already_handled: AlreadyHandled) -> None:
        client = self._redis()
        while True:
            try:
                popped = await client.blpop([self._ready], timeout=1)
                if popped is None:
                    continue
                address = popped[1].decode()
                keys = self._keys(address)
                token = f"{self.owner}:{secrets.token_hex(4)}"  # this hold of the lease, not just this process
                if not await client.set(keys["lease"], token, nx=True, px=LEASE_MS):
                    continue  # another worker drains this address; it will see the new message
                renewal = asyncio.ensure_future(self._renew(keys["lease"], token))  # for the whole drain
                try:
                    await self._drain(address, token, handle, already_handled)
                finally:
                    renewal.cancel()
                    await client.eval(_LEASE, 1, keys["lease"], token, 0)
                if await client.llen(keys["list"]):
                    await client.rpush(self._ready, address)  # arrived while we released the lease
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("WhatsApp queue worker: Redis failed; retrying in 1 s")
                await asyncio.sleep(1)

    async def _drain(self, address: str, token: str, handle: Handler, already_handled: AlreadyHandled) -> None:
        client = self._redis()
        keys = self._keys(address)
        while True:
            raw = await client.lindex(keys["list"], 0)
            if raw is None:
                return
            item = json.loads(raw)
            params: dict[str, str] = item["params"]
            inflight = f"{self.prefix}:inflight:{params['MessageSid']}"
            first_attempt = await client.set(inflight, token, nx=True, ex=SID_TTL_SECONDS)
            if first_attempt or not await already_handled(params):
                if not first_attempt:
                    logger.warning("WhatsApp message %s: its worker died before finishing; handling it again", params["MessageSid"])
                await handle(params, item["verdict"])
            if await client.eval(_DONE, 3, keys["lease"], keys["list"], self._active, token, address) == -1:
                logger.warning("WhatsApp queue: lost the lease on %s; another worker goes on", address)
                return

    async def _renew(self, lease: str, token: str) -> None:
        """Keep the lease while its worker drains the address (a third of its life at a time)."""
        while True:
            await asyncio.sleep(LEASE_MS / 3000)
            try:
                if not await self._redis().eval(_LEASE, 1, lease, token, LEASE_MS):
                    logger.warning("WhatsApp queue: %s lapsed before it was renewed", lease)
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("WhatsApp queue: renewing %s failed; trying again", lease)

    async def _sweeper(self) -> None:
        """Hand addresses whose lease lapsed (a dead replica's) back to the workers."""
        client = self._redis()
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                for raw in await client.smembers(self._active):
                    address = raw.decode()
                    keys = self._keys(address)
                    if not await client.exists(keys["lease"]) and await client.llen(keys["list"]):
                        await client.rpush(self._ready, address)
            except Exception:
                logger.exception("WhatsApp queue sweeper: Redis failed")


def message_in_tracker(events: Any, message_sid: str) -> bool:
    """Whether a tracker's events hold the user message with this MessageSid."""
    return any(getattr(event, "message_id", None) == message_sid for event in events)
