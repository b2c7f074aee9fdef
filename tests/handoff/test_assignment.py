"""Auto-assignment, presence and the SLA (handoff/assignment.py) on a real SQLite file and PostgreSQL, with a
real local HTTP receiver for the signed helpdesk webhook; then the same through the running
support app (its assignment worker, presence from the inbox API)."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from handoff.assignment import Assignment, AssignmentSettings, load_settings, notify_breaches
from handoff.settings import SettingsError
from handoff.store import HandoffStore
from handoff.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, HelpdeskWebhook, verify
from storage.database import Database
from tests.helpers.servers import Servers

SECRET = "sla-test-secret-0123456789"  # secrets are at least 16 characters (security/secrets_policy.py)
T0 = 1_800_000_000.0
SETTINGS = AssignmentSettings(auto_assign=True, default_capacity=2, presence_timeout_seconds=30, sla_minutes=5, sla_priority=5)


class Receiver:
    """A helpdesk on 127.0.0.1 that keeps every POST whose signature verifies (others get 401)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.rejected = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if verify(SECRET, self.headers.get(TIMESTAMP_HEADER, ""), self.headers.get(SIGNATURE_HEADER, ""), body):
                    receiver.received.append(json.loads(body))
                    self.send_response(204)
                else:
                    receiver.rejected += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/destek"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def stores(database: Database) -> tuple[HandoffStore, Assignment]:
    """On each engine (tests/helpers/databases.py): SQLite file and PostgreSQL schema."""
    return HandoffStore(database), Assignment(database)


def waiting(store: HandoffStore, count: int, start: float = T0, prefix: str = "c") -> list[int]:
    return [store.create(f"web:{prefix}{i}", "web", "customer_asks", 1, language="tr", now=start + i)["id"] for i in range(count)]


def test_two_agents_capacity_two_five_waiting(stores: tuple[HandoffStore, Assignment]) -> None:
    store, assignment = stores
    ids = waiting(store, 5)
    now = T0 + 60
    assignment.heartbeat("agent1", now)
    assignment.heartbeat("agent2", now)
    result = assignment.tick(SETTINGS, now)
    assert sorted(handoff_id for handoff_id, _ in result.assigned) == ids[:4]
    rows = {row["id"]: row for row in store.list(("queued", "assigned"))}
    assigned = [rows[i] for i in ids if rows[i]["status"] == "assigned"]
    queued = [rows[i] for i in ids if rows[i]["status"] == "queued"]
    # nobody still waiting has waited longer than anyone who got an agent
    assert [row["id"] for row in queued] == [ids[4]]
    assert max(row["created_at"] for row in assigned) <= min(row["created_at"] for row in queued)
    assert sorted(row["agent"] for row in assigned) == ["agent1", "agent1", "agent2", "agent2"]
    # least loaded first: the oldest two go to different agents
    assert rows[ids[0]]["agent"] != rows[ids[1]]["agent"]
    assert any("assigned to" in m["text"] for m in store.messages(ids[0]) if m["direction"] == "system")
    # the fifth gets the first free place
    store.close(ids[0], rows[ids[0]]["agent"], now=now + 1)
    second = assignment.tick(SETTINGS, now + 2)
    assert second.assigned == [(ids[4], rows[ids[0]]["agent"])]


def test_least_loaded_and_per_agent_capacity(stores: tuple[HandoffStore, Assignment]) -> None:
    store, assignment = stores
    mine = waiting(store, 1, start=T0 - 100, prefix="early")[0]
    store.claim(mine, "agent1", now=T0)
    ids = waiting(store, 3, start=T0)
    assignment.heartbeat("agent1", T0 + 10)
    assignment.heartbeat("agent2", T0 + 10)
    assignment.set_capacity("agent2", 1, "admin")
    with pytest.raises(ValueError, match="field 'capacity'"):
        assignment.set_capacity("agent2", -1)
    result = assignment.tick(SETTINGS, T0 + 10)
    # agent1 already has one: agent2 (0) first, then agent1 fills up to 2; agent2's capacity is 1
    assert result.assigned == [(ids[0], "agent2"), (ids[1], "agent1")]
    assert store.require(ids[2])["status"] == "queued"
    agents = {a["login"]: a for a in assignment.agents(SETTINGS, ["agent1", "agent2", "agent3"], now=T0 + 10)}
    assert (agents["agent1"]["load"], agents["agent1"]["capacity"], agents["agent1"]["online"]) == (2, 2, True)
    assert (agents["agent2"]["load"], agents["agent2"]["capacity"]) == (1, 1)
    assert agents["agent3"]["online"] is False


def test_agent_going_offline_returns_unanswered_handoffs(stores: tuple[HandoffStore, Assignment]) -> None:
    store, assignment = stores
    ids = waiting(store, 2)
    assignment.heartbeat("agent1", T0 + 5)
    assignment.tick(SETTINGS, T0 + 5)
    assert {store.require(i)["agent"] for i in ids} == {"agent1"}
    answered = store.add_message(ids[0], "agent", "agent1", "Merhaba", status="pending")
    store.set_message_status(answered, "sent")
    # agent1's inbox is closed; agent2 opens theirs
    later = T0 + 5 + SETTINGS.presence_timeout_seconds + 1
    assignment.heartbeat("agent2", later)
    result = assignment.tick(SETTINGS, later)
    assert result.released == [(ids[1], "agent1")]
    assert result.assigned == [(ids[1], "agent2")]
    assert store.require(ids[0])["agent"] == "agent1"  # answered: the customer is talking to agent1
    assert any("went offline" in m["text"] for m in store.messages(ids[1]))
    # nobody online: it waits in the queue, first in line
    final = later + SETTINGS.presence_timeout_seconds + 1
    assert assignment.tick(SETTINGS, final).released == [(ids[1], "agent2")]
    assert store.require(ids[1])["status"] == "queued" and store.position(ids[1]) == 1


def test_agents_without_inbox_presence_keep_their_claims(stores: tuple[HandoffStore, Assignment]) -> None:
    store, assignment = stores
    handoff_id = waiting(store, 1)[0]
    store.claim(handoff_id, "api-agent", now=T0)
    assert assignment.tick(SETTINGS, T0 + 3600).released == []
    assert store.require(handoff_id)["agent"] == "api-agent"


def test_auto_assign_off_leaves_the_queue_alone(stores: tuple[HandoffStore, Assignment]) -> None:
    store, assignment = stores
    handoff_id = waiting(store, 1)[0]
    assignment.heartbeat("agent1", T0 + 1)
    off = AssignmentSettings(auto_assign=False, sla_minutes=0)
    assert assignment.tick(off, T0 + 1).assigned == []
    assert store.require(handoff_id)["status"] == "queued"


def test_sla_breach_raises_priority_and_notifies_once(stores: tuple[HandoffStore, Assignment], receiver: Receiver) -> None:
    store, assignment = stores
    late = waiting(store, 1, start=T0)[0]
    fresh = store.create("web:fresh", "web", "customer_asks", 1, now=T0 + 299)["id"]
    night = store.create("web:night", "web", "customer_asks", 1, out_of_hours=True, now=T0)["id"]
    webhook = HelpdeskWebhook(url=receiver.url, secret=SECRET, attempts=1)
    other_process = Assignment(assignment.url)
    off = AssignmentSettings(auto_assign=False, sla_minutes=5, sla_priority=5)
    for when, worker in ((T0 + 299, assignment), (T0 + 301, assignment), (T0 + 302, other_process), (T0 + 400, assignment)):
        result = worker.tick(off, when)
        notify_breaches(result.breached, off, when, webhook)
    assert receiver.rejected == 0
    assert [(event["event"], event["handoff_id"]) for event in receiver.received] == [("handoff.sla_breached", late)]
    assert receiver.received[0]["waiting_seconds"] == pytest.approx(301)
    assert store.require(late)["priority"] == 5
    assert store.require(fresh)["priority"] == 1 and store.require(night)["priority"] == 1
    assert [b["handoff_id"] for b in assignment.breaches()] == [late]
    # answered: no longer marked in the inbox
    store.claim(late, "agent1")
    store.set_message_status(store.add_message(late, "agent", "agent1", "Buradayım", status="pending"), "sent")
    assert assignment.breaches() == []


def test_settings_are_checked(tmp_path: Path) -> None:
    broken = tmp_path / "handoff.yml"
    broken.write_text("assignment:\n  default_capacity: lots\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"assignment\.default_capacity"):
        load_settings((Path("handoff/settings.yml"), broken))
    broken.write_text("assignment:\n  sla_minutes: .nan\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"assignment\.sla_minutes"):
        load_settings((Path("handoff/settings.yml"), broken))
    assert load_settings((Path("handoff/settings.yml"),)).sla_minutes == 5


# --- through the running support app ------------------------------------------------------------

STAFF_PASSWORD = "demo-staff"


def login(servers: Servers, name: str) -> requests.Session:
    import re

    session = requests.Session()
    page = session.get(f"{servers.support_url}/staff/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = session.post(
        f"{servers.support_url}/staff/login",
        timeout=10,
        allow_redirects=False,
        data={"login": name, "password": STAFF_PASSWORD, "csrf": token, "next": "/staff"},
    )
    assert response.status_code == 303
    session.headers["X-CSRF-Token"] = token
    return session


def eventually(condition: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_support_app_assigns_releases_and_notifies(tmp_path: Path, receiver: Receiver) -> None:
    settings = tmp_path / "handoff.yml"
    settings.write_text(
        "assignment:\n  auto_assign: true\n  default_capacity: 2\n  presence_timeout_seconds: 3\n  sla_minutes: 0.05\n  tick_seconds: 0.2\n",
        encoding="utf-8",
    )
    servers = Servers(tmp_path)
    servers.env.update(
        {
            "HANDOFF_SETTINGS": str(settings),
            "HELPDESK_WEBHOOK_URL": receiver.url,
            "HELPDESK_WEBHOOK_SECRET": SECRET,
            "STAFF_DEMO_PASSWORD": STAFF_PASSWORD,
        }
    )
    try:
        servers.start_support_app()
        store = HandoffStore(servers.database)
        agent1, agent2, marketing = login(servers, "agent1"), login(servers, "agent2"), login(servers, "marketing")
        assert requests.post(f"{servers.support_url}/inbox/api/presence", timeout=10).status_code == 401
        assert marketing.post(f"{servers.support_url}/inbox/api/presence", timeout=10).status_code == 403
        assert (
            requests.Session().put(f"{servers.support_url}/inbox/api/agents/agent1/capacity", json={"capacity": 1}, timeout=10).status_code
            == 401
        )
        assert agent1.put(f"{servers.support_url}/inbox/api/agents/agent1/capacity", json={"capacity": 1}, timeout=10).status_code == 403
        now = time.time()
        ids = [store.create(f"web:live{i}", "web", "customer_asks", 1, language="en", now=now - 10 + i)["id"] for i in range(5)]
        for agent in (agent1, agent2):
            assert agent.post(f"{servers.support_url}/inbox/api/presence", timeout=10).status_code == 200
        eventually(lambda: [store.require(i)["status"] for i in ids].count("assigned") == 4)
        assert store.require(ids[4])["status"] == "queued"
        # agent1 keeps the inbox open, agent2 closes it: agent2's go to agent1 once there is room
        agent1_load = [i for i in ids if store.require(i)["agent"] == "agent1"]
        for handoff_id in agent1_load:
            store.close(handoff_id, "agent1")
        stop = time.monotonic() + 6
        while time.monotonic() < stop:
            agent1.post(f"{servers.support_url}/inbox/api/presence", timeout=10)
            time.sleep(0.5)
        assert {store.require(i)["agent"] for i in ids if store.require(i)["status"] == "assigned"} == {"agent1"}
        # every handoff waited past the 3 s SLA without an answer: one webhook each, never twice
        eventually(lambda: len(receiver.received) == 5)
        time.sleep(1)
        assert sorted(event["handoff_id"] for event in receiver.received) == ids
        state = agent1.post(f"{servers.support_url}/inbox/api/presence", timeout=10).json()
        assert {b["handoff_id"] for b in state["breaches"]} == {i for i in ids if store.require(i)["status"] != "closed"}
        assert {a["login"]: a["online"] for a in state["agents"]}["agent2"] is False
        # admins set capacities; bad values are one-line 400s naming the field
        admin = login(servers, "admin")
        assert admin.put(f"{servers.support_url}/inbox/api/agents/agent1/capacity", json={"capacity": 4}, timeout=10).json() == {
            "login": "agent1",
            "capacity": 4,
        }
        bad = admin.put(f"{servers.support_url}/inbox/api/agents/agent1/capacity", json={"capacity": "many"}, timeout=10)
        assert bad.status_code == 400 and "capacity" in bad.text
        assert admin.put(f"{servers.support_url}/inbox/api/agents/agent1/capacity", json={"capacity": 51}, timeout=10).status_code == 400
        assert admin.put(f"{servers.support_url}/inbox/api/agents/nobody/capacity", json={"capacity": 1}, timeout=10).status_code == 404
    finally:
        servers.stop_support_app()
