"""The failed-login limits shared by several support-app processes through the real Redis at
127.0.0.1:6379 (the cluster settings), each test under its own key prefix; in process memory
without DESTEK_REDIS_URL. Two apps over one real SQLite file stand for two processes."""

import dataclasses
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from settings.model import get_settings
from support_app.app import create_app
from support_app.settings import Settings
from tests.helpers.services import require_reachable

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "test-staff-password"
STRANGER = ("203.0.113.9", 40000)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "no-tracker.sqlite3"))
    monkeypatch.delenv("DESTEK_REDIS_URL", raising=False)
    return dataclasses.replace(Settings.of(get_settings()), database_path=tmp_path / "destek.sqlite3", staff_demo_password=PASSWORD)


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    require_reachable("127.0.0.1", 6379, "Redis", "start it with: service redis-server start")
    name = "t" + secrets.token_hex(6)
    monkeypatch.setenv("DESTEK_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("DESTEK_REDIS_PREFIX", name)
    get_settings.cache_clear()  # the settings are read once per process: this is a new start
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)


@contextmanager
def two_processes(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    with (
        TestClient(create_app(settings), client=STRANGER) as first,
        TestClient(create_app(settings), client=STRANGER) as second,
    ):
        yield first, second


def login(client: TestClient, path: str, name: str, password: str) -> int:
    page = client.get(path).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, path
    data = {"login": name, "password": password, "csrf": token.group(1)}
    return client.post(path, data=data, follow_redirects=False).status_code


def test_two_app_processes_count_the_same_staff_login_failures(settings: Settings, prefix: str) -> None:
    with two_processes(settings) as (first, second):
        for number in range(5):  # 3 failures on one process, 2 on the other: 5 for the pair
            assert login(first if number % 2 == 0 else second, "/staff/login", "agent1", "guess") == 401
        assert login(second, "/staff/login", "agent1", "guess") == 429
        assert login(first, "/staff/login", "agent1", PASSWORD) == 429  # stopped on either, even with the password
    keys = [key.decode() for key in redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}:login:*")]
    assert keys and not any("agent1" in key for key in keys)  # in Redis, under the prefix, logins hashed


def test_the_shop_login_limit_is_shared_too(settings: Settings, prefix: str) -> None:
    with two_processes(settings) as (first, second):
        for number in range(5):
            assert login(first if number % 2 == 0 else second, "/login", "ayse", "guess") == 401
        assert login(second, "/login", "ayse", "demo") == 429


def test_without_redis_each_process_counts_alone(settings: Settings) -> None:
    """The control: in memory, the same five failures spread over two processes block neither."""
    with two_processes(settings) as (first, second):
        for number in range(5):
            assert login(first if number % 2 == 0 else second, "/staff/login", "agent1", "guess") == 401
        assert login(second, "/staff/login", "agent1", "guess") == 401
        assert login(first, "/staff/login", "agent1", PASSWORD) == 303
