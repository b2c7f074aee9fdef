"""The local services the production-profile tests use (PostgreSQL, Redis, RabbitMQ): reachable, or the test is
skipped with one line saying how to start it, except under CI=true, where it must run."""

import os
import socket

import pytest


def require_reachable(host: str, port: int, what: str, start_hint: str) -> None:
    """Skip (fail under CI=true) the calling test unless something listens at host:port."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        skip_or_fail(f"{what} not reachable at {host}:{port}: {start_hint}")


def skip_or_fail(problem: str) -> None:
    """Skip the calling test with `problem` as its one line; under CI=true, where the services run, fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: it must run)")
    pytest.skip(problem)
