"""Where the shared state lives: DESTEK_REDIS_URL (e.g. redis://127.0.0.1:6379/2), and the key
prefix DESTEK_REDIS_PREFIX (default `destek`) so that several installs or test runs can share
one Redis server without meeting."""

import os
from typing import Any

import redis
import redis.asyncio as aioredis


def redis_url() -> str | None:
    """The configured Redis URL, or None (then every part stays in-process)."""
    return os.environ.get("DESTEK_REDIS_URL", "").strip() or None


def key_prefix() -> str:
    prefix = os.environ.get("DESTEK_REDIS_PREFIX", "").strip() or "destek"
    if not all(c.isalnum() or c in "-_." for c in prefix):
        raise ValueError(f"DESTEK_REDIS_PREFIX ({prefix!r}) may hold only letters, digits, - _ and .")
    return prefix


def sync_client(url: str) -> "redis.Redis":
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


def async_client(url: str) -> Any:
    """redis.asyncio's client, typed Any: its stubs mix awaitable and plain results."""
    return aioredis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
