"""The web chat's socket.io client manager: in-process by default, Redis pub/sub in a cluster."""

from socketio import AsyncRedisManager

from cluster.settings import key_prefix, redis_url


def socketio_manager() -> AsyncRedisManager | None:
    """AsyncRedisManager on DESTEK_REDIS_URL, or None (python-socketio's in-process manager)."""
    url = redis_url()
    return AsyncRedisManager(url, channel=f"{key_prefix()}:socketio") if url else None
