"""The web chat's socket.io client manager: in-process by default, Redis pub/sub in a cluster."""

from socketio import AsyncRedisManager


def socketio_manager(url: str, prefix: str) -> AsyncRedisManager | None:
    """AsyncRedisManager on `url` (DESTEK_REDIS_URL), or None (python-socketio's in-process manager)."""
    return AsyncRedisManager(url, channel=f"{prefix}:socketio") if url else None
