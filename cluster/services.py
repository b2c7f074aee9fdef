"""Are the cluster's engines reachable? `python -m cluster.services` exits 1 with one line naming
what is missing and how to start it (scripts/run-cluster.sh and the cluster tests ask it)."""

import os
import socket
import sys

START_HINT = "start them with: service postgresql start; service redis-server start; service rabbitmq-server start"


def endpoints() -> list[tuple[str, str, int]]:
    """(name, host, port) of PostgreSQL, Redis and RabbitMQ as the cluster settings name them."""
    return [
        ("PostgreSQL", os.environ.get("RASA_TRACKER_PG_HOST") or "127.0.0.1", int(os.environ.get("RASA_TRACKER_PG_PORT") or 5432)),
        ("Redis", os.environ.get("RASA_LOCK_REDIS_HOST") or "127.0.0.1", int(os.environ.get("RASA_LOCK_REDIS_PORT") or 6379)),
        ("RabbitMQ", os.environ.get("RABBITMQ_HOST") or "127.0.0.1", int(os.environ.get("RABBITMQ_PORT") or 5672)),
    ]


def missing() -> str | None:
    """One line naming the unreachable services, or None when all three answer."""
    down = []
    for name, host, port in endpoints():
        try:
            with socket.create_connection((host, port), timeout=2):
                pass
        except OSError:
            down.append(f"{name} ({host}:{port})")
    return f"not reachable: {', '.join(down)}; {START_HINT}" if down else None


if __name__ == "__main__":
    problem = missing()
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(1)
