"""Are the cluster's engines reachable? `python -m cluster.services` exits 1 with one line naming
what is missing and how to start it (scripts/run-cluster.sh and the cluster tests ask it)."""

import socket
import sys

from settings.model import get_settings

START_HINT = "start them with: service postgresql start; service redis-server start; service rabbitmq-server start"


def endpoints() -> list[tuple[str, str, int]]:
    """(name, host, port) of PostgreSQL, Redis and RabbitMQ as the cluster settings name them."""
    cluster = get_settings().cluster
    return [
        ("PostgreSQL", cluster.tracker_pg_host, cluster.tracker_pg_port),
        ("Redis", cluster.lock_redis_host, cluster.lock_redis_port),
        ("RabbitMQ", cluster.rabbitmq_host, cluster.rabbitmq_port),
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
