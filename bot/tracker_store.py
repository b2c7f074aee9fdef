"""Rasa's SQL tracker store, keeping the events of recent conversations in memory (Rasa server).

Every message makes Rasa 3.6 read the whole current session of that conversation from the
database, decode each event's JSON and turn it back into an event object (about a third of
a turn's CPU at turn 200, docs/turn-cost.md). This store keeps, per conversation, the event
objects it last loaded or saved and the database id of the newest stored event. A retrieve
asks the database only for that id (one index lookup): unchanged, the tracker is rebuilt
from the kept events; changed (another Rasa replica wrote, or the cache was dropped), it is
read from the database as before. The database stays the record: a restart, a new session
or anything unexpected only costs one full read.

endpoints.yml:  tracker_store: {type: bot.tracker_store.CachedSQLTrackerStore, dialect: sqlite,
db: ..., cached_conversations: 1000, action_server_events: 120}
`action_server_events` is not about storage: this class is the one piece of Destek that Rasa
builds from endpoints.yml, so it installs bot/action_payload.py (the newest N events go to the
action server; 0 sends whole sessions, as Rasa does) and bot/action_response.py (the action
server's responses validated without re-checking the schema each time).

What it writes is redacted (bot/event_redaction.py, privacy.redaction): the text of user and bot events and the
entity values (an agent's reply travels as the `agent_text` entity of EXTERNAL_agent_message
and is then uttered by the bot). The channels redact customers' messages before they enter
Rasa; this catches what is only uttered, above all an agent's reply, which the customer has
received in full by the time the turn is saved. The events kept in memory stay as they were.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from bot import action_payload, action_response
from bot.event_redaction import REDACTED_EVENTS, redacted_event_data

DEFAULT_CACHED_CONVERSATIONS = 1000


@dataclass(frozen=True)
class _Kept:
    events: tuple[Event, ...]  # the latest session's events, as Rasa's retrieve returns them
    last_id: int  # database id of the newest stored event of the conversation


class CachedSQLTrackerStore(SQLTrackerStore):
    def __init__(
        self, *args: Any, cached_conversations: int = DEFAULT_CACHED_CONVERSATIONS, action_server_events: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        action_payload.register(int(action_server_events))
        action_response.install()
        self.cached_conversations = int(cached_conversations)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._guard = threading.Lock()

    def _newest_id(self, sender_id: str) -> int | None:
        with self.session_scope() as session:
            value = session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()
        return int(value) if value is not None else None

    def _keep(self, sender_id: str, kept: _Kept | None) -> None:
        with self._guard:
            self._kept.pop(sender_id, None)
            if kept is not None and self.cached_conversations > 0:
                self._kept[sender_id] = kept
                while len(self._kept) > self.cached_conversations:
                    self._kept.popitem(last=False)

    def _tracker(self, sender_id: str, events: Sequence[Event]) -> DialogueStateTracker:
        assert self.domain is not None  # only called once events were found, which needs a domain
        return DialogueStateTracker.from_events(sender_id, list(events), self.domain.slots)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session, from memory when the database holds nothing newer."""
        with self._guard:
            kept = self._kept.get(sender_id)
            if kept is not None:
                self._kept.move_to_end(sender_id)
        if kept is not None and self.domain is not None and self._newest_id(sender_id) == kept.last_id:
            return self._tracker(sender_id, kept.events)
        newest = self._newest_id(sender_id)
        tracker = await super().retrieve(sender_id)
        # Kept only if nothing was written between the two reads (else the next retrieve reads again).
        if tracker is not None and newest is not None and self._newest_id(sender_id) == newest:
            self._keep(sender_id, _Kept(tuple(tracker.events), newest))
        else:
            self._keep(sender_id, None)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events as Rasa does; keep the tracker's events when they extend the kept ones."""
        with self._guard:
            kept = self._kept.get(tracker.sender_id)
        before = self._newest_id(tracker.sender_id) if kept is not None else None
        await super().save(tracker)
        if kept is None or before != kept.last_id or not _extends(tracker.events, kept.events):
            self._keep(tracker.sender_id, None)
            return
        new = list(tracker.events)[len(kept.events) :]
        if any(isinstance(event, SessionStarted) for event in new):
            # Rasa's retrieve now returns only the new session: read it once from the database.
            self._keep(tracker.sender_id, None)
            return
        newest = self._newest_id(tracker.sender_id)
        self._keep(tracker.sender_id, _Kept(tuple(tracker.events), newest) if newest is not None else None)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Any]:
        """The events Rasa's save writes, each user and bot event with its text redacted."""
        for event in super()._additional_events(session, tracker):
            yield _Redacted(event) if event.type_name in REDACTED_EVENTS else event


@dataclass(frozen=True)
class _Redacted:
    """An event as Rasa's SQL store serialises it (type_name, as_dict), with its texts redacted."""

    event: Event

    @property
    def type_name(self) -> str:
        return str(self.event.type_name)

    def as_dict(self) -> dict[str, Any]:
        return redacted_event_data(self.event.as_dict())


def _extends(events: Sequence[Event], kept: tuple[Event, ...]) -> bool:
    """True when `events` starts with the very event objects kept (the tracker was built from them)."""
    if len(events) < len(kept):
        return False
    return not kept or (events[0] is kept[0] and events[len(kept) - 1] is kept[-1])
