"""The queue that never drops a customer: presence, auto-assignment and the waiting-time SLA.

- Presence: the open inbox page sends a heartbeat (agent_desk/routes.py); an agent is online
  while their last heartbeat is younger than `presence_timeout_seconds`.
- Assignment: queued handoffs, most urgent first (priority, then the oldest), go to the online
  agent with the fewest open conversations who is below their capacity (per agent, else
  `default_capacity`); ties go to the agent who got one least recently.
- Going offline: an offline agent's handoffs that no agent has answered yet go back to the queue.
- SLA: an open handoff nobody has answered `sla_minutes` after it was created gets its priority
  raised to `sla_priority`, is marked in the inbox and is announced once on the signed helpdesk
  webhook (the row in handoff_sla is inserted once, whatever the number of processes).

Settings: the `assignment:` section of handoff/settings.yml (HANDOFF_SETTINGS merged over it).
Python 3.10-compatible like the rest of the package.
"""

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handoff.settings import SettingsError, _merged, _mtime, _read, settings_paths
from handoff.store import HandoffStore
from handoff.webhook import HelpdeskWebhook
from storage import schema
from storage.database import Connection, Database, Store

logger = logging.getLogger(__name__)

AUTO_ASSIGNER = "auto-assign"
_TICK_LOCK = "handoff-assignment"  # PostgreSQL: one tick's decisions at a time (SQLite: the write lock)
MAX_CAPACITY = 50


@dataclass(frozen=True)
class AssignmentSettings:
    auto_assign: bool = True
    default_capacity: int = 3
    presence_timeout_seconds: float = 30.0
    sla_minutes: float = 5.0
    sla_priority: int = 5
    tick_seconds: float = 1.0

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> "AssignmentSettings":
        section = raw.get("assignment") or {}
        if not isinstance(section, dict):
            raise SettingsError("field 'assignment': expected a mapping")
        defaults = cls()
        values: dict[str, Any] = {}
        for name, kind, low in (
            ("default_capacity", int, 0),
            ("presence_timeout_seconds", float, 1),
            ("sla_minutes", float, 0),
            ("sla_priority", int, 0),
            ("tick_seconds", float, 0.1),
        ):
            value = section.get(name, getattr(defaults, name))
            try:
                number = kind(value)
            except (TypeError, ValueError):
                raise SettingsError(f"field 'assignment.{name}': expected a number, got {value!r}") from None
            if not math.isfinite(number) or number < low:
                raise SettingsError(f"field 'assignment.{name}': must be a finite number >= {low}, got {value!r}")
            values[name] = number
        auto = section.get("auto_assign", True)
        if not isinstance(auto, bool):
            raise SettingsError(f"field 'assignment.auto_assign': expected true or false, got {auto!r}")
        return cls(auto_assign=auto, **values)


_cache: dict[tuple[Path, ...], tuple[tuple[float, ...], AssignmentSettings]] = {}


def load_settings(paths: tuple[Path, ...] | None = None) -> AssignmentSettings:
    """The `assignment:` settings, re-read when a settings file changes."""
    paths = paths or settings_paths()
    mtimes = tuple(_mtime(path) for path in paths)
    cached = _cache.get(paths)
    if cached and cached[0] == mtimes:
        return cached[1]
    raw: dict[str, Any] = {}
    for path in paths:
        raw = _merged(raw, _read(path))
    try:
        settings = AssignmentSettings.parse(raw)
    except SettingsError as error:
        raise SettingsError(f"{paths[-1]}: {error}") from error
    _cache[paths] = (mtimes, settings)
    return settings


@dataclass(frozen=True)
class TickResult:
    released: list[tuple[int, str]]
    assigned: list[tuple[int, str]]
    breached: list[dict[str, Any]]


class Assignment(Store):
    """Presence, capacities and SLA marks next to the handoff tables (same database).

    The periodic work (release, assign, SLA) runs under SQLite's write lock (`transaction(write=True)`); on
    PostgreSQL under a transaction-scoped advisory lock (`lock_key`), so two processes ticking together decide
    one after the other, and each UPDATE keeps its status condition, counted only when it changed the row."""

    TABLES = (schema.agent_presence, schema.agent_capacity, schema.handoff_sla)

    def __init__(self, database: Database) -> None:
        self.handoffs = HandoffStore(database)  # the handoffs table must exist before we join on it
        super().__init__(database)

    # --- presence and capacity -----------------------------------------------------
    def heartbeat(self, agent: str, now: float | None = None) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO agent_presence (agent, last_seen) VALUES (?, ?) ON CONFLICT (agent) DO UPDATE SET last_seen = excluded.last_seen",
                (agent, now or time.time()),
            )

    def set_capacity(self, agent: str, capacity: int, updated_by: str = "") -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"field 'capacity': expected a whole number from 0 to {MAX_CAPACITY}, got {capacity!r}")
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO agent_capacity (agent, capacity, updated_by, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (agent) DO UPDATE SET capacity = excluded.capacity, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (agent, capacity, updated_by, time.time()),
            )

    def agents(self, settings: AssignmentSettings, logins: list[str], now: float | None = None) -> list[dict[str, Any]]:
        """Each of `logins` with online, open conversations (load) and capacity."""
        now = now or time.time()
        with self._transaction() as connection:
            seen = {row["agent"]: row["last_seen"] for row in connection.execute("SELECT agent, last_seen FROM agent_presence")}
            capacities = {row["agent"]: row["capacity"] for row in connection.execute("SELECT agent, capacity FROM agent_capacity")}
            loads = _loads(connection)
        return [
            {
                "login": login,
                "online": seen.get(login, 0) >= now - settings.presence_timeout_seconds,
                "load": loads.get(login, 0),
                "capacity": capacities.get(login, settings.default_capacity),
            }
            for login in logins
        ]

    # --- the periodic work ---------------------------------------------------------
    def tick(self, settings: AssignmentSettings, now: float | None = None) -> TickResult:
        """Release the offline agents' unanswered handoffs, assign the queue, mark SLA breaches."""
        now = now or time.time()
        released = self.release_offline(settings, now) if settings.auto_assign else []
        assigned = self.assign_waiting(settings, now) if settings.auto_assign else []
        breached = self.mark_sla(settings, now) if settings.sla_minutes > 0 else []
        for handoff_id, agent in released:
            self.handoffs.add_message(handoff_id, "system", AUTO_ASSIGNER, f"back in the queue: {agent} went offline before answering")
        for handoff_id, agent in assigned:
            self.handoffs.add_message(handoff_id, "system", AUTO_ASSIGNER, f"assigned to {agent} automatically")
        return TickResult(released, assigned, breached)

    def release_offline(self, settings: AssignmentSettings, now: float) -> list[tuple[int, str]]:
        """Unanswered handoffs of agents whose inbox stopped sending heartbeats go back to the
        queue. Agents who never opened the inbox (no presence row) are left alone."""
        with self._transaction(write=True) as connection:
            connection.lock_key(_TICK_LOCK)
            rows = connection.execute(
                "SELECT h.id, h.agent FROM handoffs h JOIN agent_presence p ON p.agent = h.agent"
                " WHERE h.status = 'assigned' AND h.first_agent_reply_at IS NULL AND p.last_seen < ?",
                (now - settings.presence_timeout_seconds,),
            ).fetchall()
            released = [
                (int(row["id"]), str(row["agent"]))
                for row in rows
                if connection.execute(
                    "UPDATE handoffs SET status = 'queued', agent = NULL, claimed_at = NULL WHERE id = ? AND status = 'assigned'",
                    (row["id"],),
                ).rowcount
                == 1
            ]
        return released

    def assign_waiting(self, settings: AssignmentSettings, now: float) -> list[tuple[int, str]]:
        """Queued handoffs (priority, then oldest first) to the least loaded online agent below capacity."""
        assigned: list[tuple[int, str]] = []
        with self._transaction(write=True) as connection:
            connection.lock_key(_TICK_LOCK)
            online = connection.execute(
                "SELECT p.agent, p.last_assigned_at, COALESCE(c.capacity, ?) AS capacity FROM agent_presence p"
                " LEFT JOIN agent_capacity c ON c.agent = p.agent WHERE p.last_seen >= ?",
                (settings.default_capacity, now - settings.presence_timeout_seconds),
            ).fetchall()
            if not online:
                return assigned
            loads = _loads(connection)
            agents = {row["agent"]: [loads.get(row["agent"], 0), float(row["last_assigned_at"]), int(row["capacity"])] for row in online}
            waiting = connection.execute(
                "SELECT id FROM handoffs WHERE status = 'queued' ORDER BY priority DESC, created_at, id"
            ).fetchall()
            for row in waiting:
                free = [(load, last, agent) for agent, (load, last, capacity) in agents.items() if load < capacity]
                if not free:
                    break
                _, _, agent = min(free)
                if (
                    connection.execute(
                        "UPDATE handoffs SET status = 'assigned', agent = ?, claimed_at = ? WHERE id = ? AND status = 'queued'",
                        (agent, now, row["id"]),
                    ).rowcount
                    != 1
                ):
                    continue  # PostgreSQL: an agent claimed it meanwhile
                connection.execute("UPDATE agent_presence SET last_assigned_at = ? WHERE agent = ?", (now, agent))
                agents[agent][0] += 1
                agents[agent][1] = now
                assigned.append((int(row["id"]), agent))
        return assigned

    def mark_sla(self, settings: AssignmentSettings, now: float) -> list[dict[str, Any]]:
        """Open handoffs no agent has answered within the SLA: marked once (the insert is the
        'once'), priority raised. Out-of-hours handoffs are not counted: the customer was told
        when the team is back. Returns the newly breached handoffs."""
        with self._transaction(write=True) as connection:
            connection.lock_key(_TICK_LOCK)
            rows = connection.execute(
                "SELECT id FROM handoffs WHERE status IN ('queued', 'assigned') AND first_agent_reply_at IS NULL AND out_of_hours = 0"
                " AND created_at <= ? AND id NOT IN (SELECT handoff_id FROM handoff_sla)",
                (now - settings.sla_minutes * 60,),
            ).fetchall()
            breached = []
            for row in rows:
                if (
                    connection.execute(
                        "INSERT INTO handoff_sla (handoff_id, breached_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (row["id"], now)
                    ).rowcount
                    != 1
                ):
                    continue
                connection.execute(
                    f"UPDATE handoffs SET priority = {connection.greatest('priority', '?')} WHERE id = ?",
                    (settings.sla_priority, row["id"]),
                )
                breached.append(int(row["id"]))
        return [self.handoffs.require(handoff_id) for handoff_id in breached]

    def breaches(self) -> list[dict[str, Any]]:
        """The open handoffs past the SLA that no agent has answered yet: id and when it was breached."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT s.handoff_id, s.breached_at, h.created_at FROM handoff_sla s JOIN handoffs h ON h.id = s.handoff_id"
                " WHERE h.status IN ('queued', 'assigned') AND h.first_agent_reply_at IS NULL ORDER BY s.breached_at"
            ).fetchall()
        return [dict(row) for row in rows]


def _loads(connection: Connection) -> dict[str, int]:
    return {
        row["agent"]: int(row["n"])
        for row in connection.execute(
            "SELECT agent, COUNT(*) AS n FROM handoffs WHERE status = 'assigned' AND agent IS NOT NULL GROUP BY agent"
        )
    }


def sla_payload(handoff: dict[str, Any], settings: AssignmentSettings, now: float) -> dict[str, Any]:
    """What the helpdesk receives for a breach (no customer text: the card went with handoff.created)."""
    return {
        "event": "handoff.sla_breached",
        "handoff_id": handoff["id"],
        "sender_id": handoff["sender_id"],
        "channel": handoff["channel"],
        "language": handoff["language"],
        "status": handoff["status"],
        "agent": handoff["agent"],
        "priority": handoff["priority"],
        "waiting_seconds": round(now - float(handoff["created_at"]), 1),
        "sla_minutes": settings.sla_minutes,
    }


def notify_breaches(breached: list[dict[str, Any]], settings: AssignmentSettings, now: float, webhook: HelpdeskWebhook | None) -> None:
    """One signed POST per newly breached handoff (with the webhook's own retries)."""
    if webhook is None:
        return
    for handoff in breached:
        if not webhook.post(sla_payload(handoff, settings, now)):
            logger.error("helpdesk webhook: SLA breach of handoff %s not delivered", handoff["id"])
