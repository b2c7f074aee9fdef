"""Clients of the shared state's Redis: DESTEK_REDIS_URL (e.g. redis://127.0.0.1:6379/2), with the key
prefix DESTEK_REDIS_PREFIX (default `destek`) so that several installs or test runs can share one Redis
server without meeting. Both are settings (settings/): the callers pass them in."""

from typing import Any

import redis
import redis.asyncio as aioredis


def sync_client(url: str) -> "redis.Redis":
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


def async_client(url: str) -> Any:
    """redis.asyncio's client, typed Any: its stubs mix awaitable and plain results."""
    return aioredis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
