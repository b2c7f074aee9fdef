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
from typing import Any, Dict, List, Optional, Tuple

from storage.sqlite import SqliteStore
from handoff.settings import SettingsError, _merged, _mtime, _read, settings_paths
from handoff.store import HandoffStore
from handoff.webhook import HelpdeskWebhook

logger = logging.getLogger(__name__)

AUTO_ASSIGNER = "auto-assign"
MAX_CAPACITY = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_presence (
    agent TEXT PRIMARY KEY,
    last_seen REAL NOT NULL,
    last_assigned_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS agent_capacity (
    agent TEXT PRIMARY KEY,
    capacity INTEGER NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS handoff_sla (
    handoff_id INTEGER PRIMARY KEY REFERENCES handoffs(id),
    breached_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class AssignmentSettings:
    auto_assign: bool = True
    default_capacity: int = 3
    presence_timeout_seconds: float = 30.0
    sla_minutes: float = 5.0
    sla_priority: int = 5
    tick_seconds: float = 1.0

    @classmethod
    def parse(cls, raw: Dict[str, Any]) -> "AssignmentSettings":
        section = raw.get("assignment") or {}
        if not isinstance(section, dict):
            raise SettingsError("field 'assignment': expected a mapping")
        defaults = cls()
        values: Dict[str, Any] = {}
        for name, kind, low in (("default_capacity", int, 0), ("presence_timeout_seconds", float, 1), ("sla_minutes", float, 0),
                                ("sla_priority", int, 0), ("tick_seconds", float, 0.1)):
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


_cache: Dict[Tuple[Path, ...], Tuple[Tuple[float, ...], AssignmentSettings]] = {}


def load_settings(paths: Optional[Tuple[Path, ...]] = None) -> AssignmentSettings:
    """The `assignment:` settings, re-read when a settings file changes."""
    paths = paths or settings_paths()
    mtimes = tuple(_mtime(path) for path in paths)
    cached = _cache.get(paths)
    if cached and cached[0] == mtimes:
        return cached[1]
    raw: Dict[str, Any] = {}
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
    released: List[Tuple[int, str]]
    assigned: List[Tuple[int, str]]
    breached: List[Dict[str, Any]]


class Assignment(SqliteStore):
    """Presence, capacities and SLA marks next to the handoff tables (same database)."""

    SCHEMA = _SCHEMA

    def __init__(self, path: Path) -> None:
        self.handoffs = HandoffStore(path)  # the handoffs table must exist before we join on it
        super().__init__(path)

    # --- presence and capacity -----------------------------------------------------
    def heartbeat(self, agent: str, now: Optional[float] = None) -> None:
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO agent_presence (agent, last_seen) VALUES (?, ?) ON CONFLICT (agent) DO UPDATE SET last_seen = excluded.last_seen",
                (agent, now or time.time()),
            )

    def set_capacity(self, agent: str, capacity: int, updated_by: str = "") -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"field 'capacity': expected a whole number from 0 to {MAX_CAPACITY}, got {capacity!r}")
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO agent_capacity (agent, capacity, updated_by, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (agent) DO UPDATE SET capacity = excluded.capacity, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (agent, capacity, updated_by, time.time()),
            )

    def agents(self, settings: AssignmentSettings, logins: List[str], now: Optional[float] = None) -> List[Dict[str, Any]]:
        """Each of `logins` with online, open conversations (load) and capacity."""
        now = now or time.time()
        with self._connection() as connection:
            seen = {row["agent"]: row["last_seen"] for row in connection.execute("SELECT agent, last_seen FROM agent_presence")}
            capacities = {row["agent"]: row["capacity"] for row in connection.execute("SELECT agent, capacity FROM agent_capacity")}
            loads = _loads(connection)
        return [
            {"login": login, "online": seen.get(login, 0) >= now - settings.presence_timeout_seconds,
             "load": loads.get(login, 0), "capacity": capacities.get(login, settings.default_capacity)}
            for login in logins
        ]

    # --- the periodic work ---------------------------------------------------------
    def tick(self, settings: AssignmentSettings, now: Optional[float] = None) -> TickResult:
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

    def release_offline(self, settings: AssignmentSettings, now: float) -> List[Tuple[int, str]]:
        """Unanswered handoffs of agents whose inbox stopped sending heartbeats go back to the
        queue. Agents who never opened the inbox (no presence row) are left alone."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            rows = connection.execute(
                "SELECT h.id, h.agent FROM handoffs h JOIN agent_presence p ON p.agent = h.agent"
                " WHERE h.status = 'assigned' AND h.first_agent_reply_at IS NULL AND p.last_seen < ?",
                (now - settings.presence_timeout_seconds,),
            ).fetchall()
            for row in rows:
                connection.execute(
                    "UPDATE handoffs SET status = 'queued', agent = NULL, claimed_at = NULL WHERE id = ? AND status = 'assigned'", (row["id"],)
                )
        return [(int(row["id"]), str(row["agent"])) for row in rows]

    def assign_waiting(self, settings: AssignmentSettings, now: float) -> List[Tuple[int, str]]:
        """Queued handoffs (priority, then oldest first) to the least loaded online agent below capacity."""
        assigned: List[Tuple[int, str]] = []
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            online = connection.execute(
                "SELECT p.agent, p.last_assigned_at, COALESCE(c.capacity, ?) AS capacity FROM agent_presence p"
                " LEFT JOIN agent_capacity c ON c.agent = p.agent WHERE p.last_seen >= ?",
                (settings.default_capacity, now - settings.presence_timeout_seconds),
            ).fetchall()
            if not online:
                return assigned
            loads = _loads(connection)
            agents = {row["agent"]: [loads.get(row["agent"], 0), float(row["last_assigned_at"]), int(row["capacity"])] for row in online}
            waiting = connection.execute("SELECT id FROM handoffs WHERE status = 'queued' ORDER BY priority DESC, created_at, id").fetchall()
            for row in waiting:
                free = [(load, last, agent) for agent, (load, last, capacity) in agents.items() if load < capacity]
                if not free:
                    break
                _, _, agent = min(free)
                connection.execute(
                    "UPDATE handoffs SET status = 'assigned', agent = ?, claimed_at = ? WHERE id = ? AND status = 'queued'", (agent, now, row["id"])
                )
                connection.execute("UPDATE agent_presence SET last_assigned_at = ? WHERE agent = ?", (now, agent))
                agents[agent][0] += 1
                agents[agent][1] = now
                assigned.append((int(row["id"]), agent))
        return assigned

    def mark_sla(self, settings: AssignmentSettings, now: float) -> List[Dict[str, Any]]:
        """Open handoffs no agent has answered within the SLA: marked once (the insert is the
        'once'), priority raised. Out-of-hours handoffs are not counted: the customer was told
        when the team is back. Returns the newly breached handoffs."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            rows = connection.execute(
                "SELECT id FROM handoffs WHERE status IN ('queued', 'assigned') AND first_agent_reply_at IS NULL AND out_of_hours = 0"
                " AND created_at <= ? AND id NOT IN (SELECT handoff_id FROM handoff_sla)",
                (now - settings.sla_minutes * 60,),
            ).fetchall()
            for row in rows:
                connection.execute("INSERT INTO handoff_sla (handoff_id, breached_at) VALUES (?, ?)", (row["id"], now))
                connection.execute("UPDATE handoffs SET priority = MAX(priority, ?) WHERE id = ?", (settings.sla_priority, row["id"]))
        return [self.handoffs.require(int(row["id"])) for row in rows]

    def breaches(self) -> List[Dict[str, Any]]:
        """The open handoffs past the SLA that no agent has answered yet: id and when it was breached."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT s.handoff_id, s.breached_at, h.created_at FROM handoff_sla s JOIN handoffs h ON h.id = s.handoff_id"
                " WHERE h.status IN ('queued', 'assigned') AND h.first_agent_reply_at IS NULL ORDER BY s.breached_at"
            ).fetchall()
        return [dict(row) for row in rows]


def _loads(connection: Any) -> Dict[str, int]:
    return {row["agent"]: int(row["n"]) for row in connection.execute(
        "SELECT agent, COUNT(*) AS n FROM handoffs WHERE status = 'assigned' AND agent IS NOT NULL GROUP BY agent")}


def sla_payload(handoff: Dict[str, Any], settings: AssignmentSettings, now: float) -> Dict[str, Any]:
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


def notify_breaches(breached: List[Dict[str, Any]], settings: AssignmentSettings, now: float,
                    webhook: Optional[HelpdeskWebhook]) -> None:
    """One signed POST per newly breached handoff (with the webhook's own retries)."""
    if webhook is None:
        return
    for handoff in breached:
        if not webhook.post(sla_payload(handoff, settings, now)):
            logger.error("helpdesk webhook: SLA breach of handoff %s not delivered", handoff["id"])
