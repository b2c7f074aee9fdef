"""Read Rasa's SQL tracker store (table `events`, Rasa 3.6 SQLTrackerStore) into conversations and turns.

The store is Rasa's own: the SQLite file RASA_TRACKER_DB (endpoints.yml), or in the cluster profile
(DESTEK_PROFILE=cluster) the PostgreSQL database that endpoints.cluster.yml's `tracker_store` names, its
`${RASA_TRACKER_PG_…}` variables filled with the values Rasa is given, from the settings (`tracker_store()`).
A SQLite file is opened read-only, a PostgreSQL store read in a read-only transaction, so a reader can never
change or lock out the Rasa server's data.
A conversation is one Rasa session of one sender: `action_session_start` (or `session_started`)
begins the next one.
A turn is one user message with everything the bot did until the next user message.
"""

import itertools
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import URL, make_url

from settings.model import Settings, get_settings
from storage.database import engine

TrackerStore = Path | str  # a SQLite file, or a SQLAlchemy URL (PostgreSQL)
CACHED_SQL_STORE = "bot.tracker_store.CachedSQLTrackerStore"  # Rasa's SQL store, redacting what it writes
SQL_STORES = ("sql", CACHED_SQL_STORE.lower())
CLUSTER_ENDPOINTS = Path(__file__).resolve().parent.parent / "endpoints.cluster.yml"

CHANNELS = ("web", "whatsapp", "rest")
_IGNORED_ACTIONS = ("action_listen", "action_session_start")
_EVENT_TYPES = ("user", "bot", "action", "slot", "session_started")  # the rest (featurization, loops…) is not read
_SLOTS = ("language", "kb_query", "kb_article_id", "kb_score", "kb_answered", "handoff_requested", "kb_feedback")


def tracker_store(settings: Settings | None = None, endpoints: Path = CLUSTER_ENDPOINTS) -> TrackerStore:
    """The tracker store the Rasa server of this profile uses: with DESTEK_PROFILE=cluster, the URL built from
    endpoints.cluster.yml's `tracker_store` (as Rasa's SQLTrackerStore builds it, its `${RASA_TRACKER_PG_…}` filled
    from the settings), else RASA_TRACKER_DB. Raises ValueError (one line) when that section cannot be used."""
    settings = settings or get_settings()
    if settings.cluster.profile != "cluster":
        return settings.storage.tracker_database
    try:
        section = (yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}).get("tracker_store") or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{endpoints.name}: cannot read it ({error})") from None
    if str(section.get("type", "")).lower() not in SQL_STORES:
        raise ValueError(f"{endpoints.name}: tracker_store is not Rasa's SQL store (type: SQL or {CACHED_SQL_STORE})")
    variables = settings.cluster.tracker_variables()
    values = {key: _filled(endpoints.name, key, value, variables) for key, value in section.items()}
    dialect = values.get("dialect") or "sqlite"
    if dialect == "sqlite":
        return Path(values.get("db") or "rasa.db")
    port = values.get("port") or None
    if port is not None and not port.isdigit():
        raise ValueError(f"{endpoints.name}: tracker_store port {port!r} is not a number")
    url = URL.create(
        "postgresql+psycopg" if dialect == "postgresql" else dialect,
        username=values.get("username") or None,
        password=values.get("password") or None,
        host=values.get("url") or None,
        port=int(port) if port else None,
        database=values.get("db") or "rasa",
    )
    return url.render_as_string(hide_password=False)


def _filled(where: str, key: str, value: Any, variables: Mapping[str, str]) -> str:
    """A value with its ${VAR}s replaced by the settings' values; a variable settings/model.py does not declare is
    an error (Rasa would read it from the environment: declare it there first)."""

    def variable(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ValueError(f"{where}: tracker_store {key} needs {name}, which settings/model.py does not declare")
        return variables[name]

    return re.sub(r"\$\{([^}]+)\}", variable, "" if value is None else str(value))


def describe(store: TrackerStore) -> str:
    """A store for messages, without its password."""
    if isinstance(store, Path):
        return str(store)
    return make_url(store).render_as_string(hide_password=True)


def channel_of(sender_id: str) -> str:
    """`web:…` → web, `whatsapp:…` → whatsapp, anything else (REST, shell, tests) → rest."""
    if sender_id.startswith("web:"):
        return "web"
    if sender_id.startswith("whatsapp:"):
        return "whatsapp"
    return "rest"


@dataclass
class BotUtterance:
    timestamp: float
    text: str | None
    response: str | None  # the domain response it came from (utter_…), if any


@dataclass
class ActionRun:
    timestamp: float
    name: str
    policy: str | None
    confidence: float | None


@dataclass
class Turn:
    """One user message (or an EXTERNAL_… intent triggered through the API) and the bot's reaction."""

    timestamp: float
    text: str | None
    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    actions: list[ActionRun] = field(default_factory=list)
    bot: list[BotUtterance] = field(default_factory=list)
    kb_query: str | None = None
    kb_article_id: str | None = None
    kb_score: float | None = None
    kb_answered: bool | None = None  # None: no KB lookup in this turn
    feedback: bool | None = None  # 👍 True / 👎 False on this turn's KB answer, given in a later turn
    feedback_at: float | None = None
    handoff_requested: bool = False

    @property
    def external(self) -> bool:
        """Triggered by the system (EXTERNAL_… intents), not written by the customer."""
        return bool(self.intent and self.intent.startswith("EXTERNAL_"))


@dataclass
class Conversation:
    sender_id: str
    session: int  # 0, 1, … in the order of the sender's sessions
    channel: str
    started_at: float
    last_at: float
    language: str | None = None  # the language slot's last value in this session
    turns: list[Turn] = field(default_factory=list)
    opening: list[BotUtterance] = field(default_factory=list)  # bot messages before the first turn

    @property
    def user_turns(self) -> list[Turn]:
        return [turn for turn in self.turns if not turn.external]

    @property
    def handed_off(self) -> bool:
        """The bot recorded a handoff request (slot handoff_requested) in this conversation."""
        return any(turn.handoff_requested for turn in self.turns)

    @property
    def first_user_at(self) -> float | None:
        turns = self.user_turns
        return turns[0].timestamp if turns else None

    @property
    def first_response_at(self) -> float | None:
        """The first bot message after the first user message."""
        first = self.first_user_at
        if first is None:
            return None
        replies = [b.timestamp for turn in self.turns for b in turn.bot if b.timestamp >= first]
        return min(replies) if replies else None


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; raises sqlite3.OperationalError if the file does not exist."""
    connection = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=10)
    connection.row_factory = sqlite3.Row
    return connection


def iter_conversations(store: TrackerStore, since: float | None = None, sender_id: str | None = None) -> Iterator[Conversation]:
    """Every conversation in the tracker store (a SQLite file or a PostgreSQL URL), grouped by sender, oldest
    session first.

    since: only senders with an event at or after it (their older sessions come too: filter on
    started_at). A missing file or a store without the events table yields nothing.
    """
    if isinstance(store, str):
        yield from _from_server(store, since, sender_id)
        return
    path = store
    if not path.exists():
        return
    connection = open_read_only(path)
    try:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='events'").fetchone():
            return
        query = "SELECT sender_id, type_name, timestamp, action_name, data FROM events"
        conditions: list[str] = [f"type_name IN ({', '.join('?' for _ in _EVENT_TYPES)})"]
        arguments: list[Any] = list(_EVENT_TYPES)
        if sender_id is not None:
            conditions.append("sender_id = ?")
            arguments.append(sender_id)
        if since is not None:
            conditions.append("sender_id IN (SELECT DISTINCT sender_id FROM events WHERE timestamp >= ?)")
            arguments.append(since)
        query += " WHERE " + " AND ".join(conditions)
        rows = connection.execute(query + " ORDER BY sender_id, id", arguments)
        rows.row_factory = None  # plain tuples: a third faster than sqlite3.Row here
        yield from _grouped(rows)
    finally:
        connection.close()


def _from_server(url: str, since: float | None, sender_id: str | None) -> Iterator[Conversation]:
    """The same query on a server database (Rasa's SQLTrackerStore on PostgreSQL), in a read-only transaction,
    streamed."""
    conditions = ["type_name IN :types"]
    arguments: dict[str, Any] = {"types": list(_EVENT_TYPES)}
    if sender_id is not None:
        conditions.append("sender_id = :sender")
        arguments["sender"] = sender_id
    if since is not None:
        conditions.append("sender_id IN (SELECT DISTINCT sender_id FROM events WHERE timestamp >= :since)")
        arguments["since"] = since
    query = text(
        f"SELECT sender_id, type_name, timestamp, action_name, data FROM events WHERE {' AND '.join(conditions)} ORDER BY sender_id, id"
    ).bindparams(bindparam("types", expanding=True))
    with engine(url).connect() as connection:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")  # first statement of the transaction
        if not inspect(connection).has_table("events"):
            return
        rows = connection.execution_options(yield_per=5000).execute(query, arguments)
        yield from _grouped(tuple(row) for row in rows)


def _grouped(rows: Iterable[tuple[Any, ...]]) -> Iterator[Conversation]:
    for sender, events in itertools.groupby(rows, key=lambda row: str(row[0])):
        yield from _conversations(sender, events)


def read_conversations(path: TrackerStore, since: float | None = None, until: float | None = None) -> list[Conversation]:
    """Conversations that started in [since, until) (both optional), ordered by start time."""
    selected = [
        c
        for c in iter_conversations(path, since=since)
        if (since is None or c.started_at >= since) and (until is None or c.started_at < until)
    ]
    return sorted(selected, key=lambda c: (c.started_at, c.sender_id))


def conversations_of(path: TrackerStore, sender_id: str) -> list[Conversation]:
    """All sessions of one sender, oldest first."""
    return list(iter_conversations(path, sender_id=sender_id))


def _conversations(sender_id: str, rows: Iterator[tuple[Any, ...]]) -> Iterator[Conversation]:
    """rows: (sender_id, type_name, timestamp, action_name, data) of one sender, in order."""
    builder = _Builder(sender_id)
    for _, type_name, row_timestamp, name, data in rows:
        # action_listen and slots analytics does not read need only their name and time: skip the JSON
        if (type_name == "action" and name == "action_listen") or (type_name == "slot" and name not in _SLOTS):
            event: dict[str, Any] = {"name": name}
        else:
            try:
                event = json.loads(data or "{}")
            except json.JSONDecodeError:
                continue
        timestamp = float(row_timestamp or event.get("timestamp") or 0.0)
        finished = builder.add(type_name, timestamp, event)
        if finished is not None:
            yield finished
    if builder.conversation is not None:
        yield builder.conversation


class _Builder:
    """Folds one sender's events, in order, into conversations."""

    def __init__(self, sender_id: str) -> None:
        self.sender_id = sender_id
        self.session = -1
        self.conversation: Conversation | None = None
        self.in_session_start = False  # slots set now are carried over, not new facts
        self.language: str | None = None

    def add(self, type_name: str, timestamp: float, event: dict[str, Any]) -> Conversation | None:
        """Apply one event; returns the previous conversation when this event starts a new session."""
        starts_session = type_name == "session_started" or (type_name == "action" and event.get("name") == "action_session_start")
        finished = None
        if self.conversation is None or (starts_session and (self.conversation.turns or self.conversation.opening)):
            finished = self.conversation
            self.session += 1
            self.conversation = Conversation(
                self.sender_id, self.session, channel_of(self.sender_id), timestamp, timestamp, language=self.language
            )
        conversation = self.conversation
        conversation.last_at = max(conversation.last_at, timestamp)
        turn = conversation.turns[-1] if conversation.turns else None
        if starts_session:
            self.in_session_start = True
        elif type_name == "user":
            self.in_session_start = False
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
            conversation.turns.append(
                Turn(
                    timestamp=timestamp,
                    text=event.get("text"),
                    intent=intent.get("name"),
                    confidence=_float(intent.get("confidence")),
                    entities=[e for e in (parse.get("entities") or []) if isinstance(e, dict)],
                )
            )
        elif type_name == "action":
            name = str(event.get("name") or "")
            if name == "action_listen":
                self.in_session_start = False
            if turn is not None and name not in _IGNORED_ACTIONS:
                turn.actions.append(ActionRun(timestamp, name, event.get("policy"), _float(event.get("confidence"))))
        elif type_name == "bot":
            metadata = event.get("metadata") or {}
            utterance = BotUtterance(timestamp, event.get("text"), metadata.get("utter_action") or metadata.get("template"))
            (turn.bot if turn is not None else conversation.opening).append(utterance)
        elif type_name == "slot":
            self._slot(conversation, turn, str(event.get("name")), event.get("value"), timestamp)
        return finished

    def _slot(self, conversation: Conversation, turn: Turn | None, name: str, value: Any, timestamp: float) -> None:
        if name == "language" and value:
            self.language = conversation.language = str(value)
        if self.in_session_start or turn is None:
            return
        if name == "kb_query":
            turn.kb_query = value
        elif name == "kb_article_id":
            turn.kb_article_id = value
        elif name == "kb_score":
            turn.kb_score = _float(value)
        elif name == "kb_answered" and value is not None:
            turn.kb_answered = bool(value)
        elif name == "handoff_requested" and value:
            turn.handoff_requested = True
        elif name == "kb_feedback" and value in ("up", "down"):
            rated = next((t for t in reversed(conversation.turns) if t.kb_answered), turn)
            rated.feedback = value == "up"
            rated.feedback_at = timestamp


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
