"""The inbox's change signal over Redis pub/sub (DESTEK_REDIS_URL).

Writers of the handoff store (the action server, the support app, any replica) publish one
message per change; each support app process holds ONE subscription and wakes the live feeds
of its open browsers, which then read the database once. Without Redis the feed polls, as
before. A lost notification costs at most SAFETY_SECONDS: the feed also reads then.
"""

import asyncio
import logging
from typing import Optional

import redis

from cluster.settings import async_client, sync_client
from settings.model import get_settings

logger = logging.getLogger(__name__)

SAFETY_SECONDS = 5.0
_publisher: Optional["redis.Redis"] = None


def channel() -> str:
    return f"{get_settings().cluster.redis_prefix}:inbox"


def notify_inbox() -> None:
    """Tell every inbox feed that the handoffs changed (nothing without DESTEK_REDIS_URL). Never
    raises: the write it follows has happened, and the feeds still read every SAFETY_SECONDS."""
    global _publisher
    url = get_settings().cluster.redis_url
    if not url:
        return
    try:
        if _publisher is None:
            _publisher = sync_client(url)
        _publisher.publish(channel(), b"1")
    except redis.RedisError:
        logger.warning("could not notify the inbox feeds through Redis", exc_info=True)


class InboxFeed:
    """One Redis subscription per process; `wait()` returns at the next change (or after `timeout`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def wait(self, timeout: float = SAFETY_SECONDS) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._listen())
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def _listen(self) -> None:
        while True:
            try:
                client = async_client(self.url)
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(channel())
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            # Wake every waiting feed at once; later waiters get a fresh event.
                            changed, self._changed = self._changed, asyncio.Event()
                            changed.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("inbox feed: Redis subscription lost; resubscribing in 1 s", exc_info=True)
                await asyncio.sleep(1)


_feed: InboxFeed | None = None


def inbox_feed() -> InboxFeed | None:
    """This process's feed, or None without DESTEK_REDIS_URL (then the inbox polls)."""
    global _feed
    url = get_settings().cluster.redis_url
    if not url:
        return None
    if _feed is None or _feed.url != url:
        _feed = InboxFeed(url)
    return _feed
