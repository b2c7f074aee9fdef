"""The same attacks against the real support app (`python -m support_app` under uvicorn, a real
SQLite file): a stranger on another loopback address cannot lock an agent out, bad input is a
one-line 400 with nothing stored, and a real crash (the database file destroyed under the
running app) is a 500 that still carries the security headers and no traceback."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from incidents.store import IncidentStore
from tests.helpers.databases import execute
from tests.helpers.servers import Servers

PASSWORD = "live-hardening-staff-password"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    servers = Servers(tmp_path)
    servers.env.update({"STAFF_DEMO_PASSWORD": PASSWORD, "OPS_API_TOKEN": "live-ops-token-0123456789"})
    servers.start_support_app()
    try:
        yield servers
    finally:
        servers.stop_support_app()


def client_from(servers: Servers, address: str) -> httpx.Client:
    """A browser on `address` (any 127.x address reaches the loopback listener)."""
    return httpx.Client(base_url=servers.support_url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def staff_login(client: httpx.Client, login: str, password: str) -> int:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/staff/login").text)
    assert match
    data = {"login": login, "password": password, "csrf": match.group(1), "next": "/staff"}
    return client.post("/staff/login", data=data).status_code


def test_a_stranger_on_another_address_cannot_lock_the_agent_out(servers: Servers) -> None:
    with client_from(servers, "127.0.0.2") as stranger, client_from(servers, "127.0.0.1") as agent:
        for _ in range(5):
            assert staff_login(stranger, "agent1", "guess") == 401
        assert staff_login(stranger, "agent1", PASSWORD) == 429
        assert staff_login(agent, "agent1", PASSWORD) == 303


def test_bad_input_on_the_live_app_is_a_one_line_400_and_nothing_is_stored(servers: Servers) -> None:
    bearer = {"Authorization": "Bearer live-ops-token-0123456789", "Content-Type": "application/json"}
    with client_from(servers, "127.0.0.1") as client:
        for raw in (b"NaN", b"1e309"):
            body = b'{"service": "internet", "regions": ["Kadikoy"], "eta": ' + raw + b', "message_tr": "a", "message_en": "b"}'
            response = client.post("/api/incidents", content=body, headers=bearer)
            assert response.status_code == 400 and response.json()["detail"].startswith("field 'eta': ")
        assert client.get("/api/incidents", headers=bearer).json() == {"incidents": []}
        assert client.get("/login?lang=tr%00").status_code == 400
    assert IncidentStore(servers.database).list() == []


def test_a_real_crash_is_a_500_with_the_security_headers(servers: Servers) -> None:
    database = servers.database
    if isinstance(database, Path):  # the file is no database any more
        for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            path.unlink(missing_ok=True)
        database.write_bytes(b"this is not a database" * 100)
    else:  # the table is not what the code reads any more
        IncidentStore(database)  # its tables, as the app makes them on first use
        execute(database, "ALTER TABLE incident_contacts RENAME COLUMN incident_id TO incident_gone")
    with client_from(servers, "127.0.0.1") as client:
        crashed = client.get("/api/incidents", headers={"Authorization": "Bearer live-ops-token-0123456789"})
        missing = client.get("/no/such/page")
    assert crashed.status_code == 500 and "Traceback" not in crashed.text
    assert not any(word in crashed.text.lower() for word in ("sqlite", "psycopg", "postgres", "incident_gone"))
    for response in (crashed, missing):
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
