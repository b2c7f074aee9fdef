"""The inbox's one door into the handoff package (store, service).

Every call the inbox makes into `handoff` goes through here, so the web layer (inbox.py,
inbox_stream.py, reply_templates_admin.py) does not depend on the package's internals.
"""

from typing import Any

from starlette.concurrency import run_in_threadpool

from customer_store.store import CustomerStore
from handoff.context_card import REASONS
from handoff.rasa_client import RasaClient
from handoff.service import HandoffService
from handoff.store import HandoffError, HandoffStore
from settings.model import get_settings
from storage.database import Database

__all__ = ["HandoffError", "InboxBackend"]


class InboxBackend:
    """Handoffs, their messages, reply templates and the agent actions, for one database."""

    def __init__(self, database_path: Database) -> None:
        self.store = HandoffStore(database_path)
        self.service = HandoffService(self.store, RasaClient.configured(get_settings()), CustomerStore(database_path))

    def queue(self) -> list[dict[str, Any]]:
        """Open handoffs, most urgent first (higher priority, then longer wait), without their cards."""
        return [_listed(row) for row in self.store.list()]

    def handoff(self, handoff_id: int) -> dict[str, Any] | None:
        row = self.store.get(handoff_id)
        return _listed(row) if row else None

    def card(self, handoff_id: int) -> dict[str, Any]:
        """The context card built (and redacted) when the handoff was created; what the customer
        writes afterwards is in messages()."""
        row = self.store.get(handoff_id)
        return dict((row or {}).get("context_card") or {})

    def messages(self, handoff_id: int, after_id: int = 0) -> list[dict[str, Any]]:
        return [message for message in self.store.messages(handoff_id) if message["id"] > after_id]

    def templates(self, language: str | None = None) -> list[dict[str, Any]]:
        return self.store.templates(language)

    def template(self, template_id: int) -> dict[str, Any] | None:
        return next((row for row in self.templates() if row["id"] == template_id), None)

    def save_template(self, name: str, language: str, text: str, admin: str, replaces: int | None = None) -> int:
        """Save (name and language are the key); `replaces` is the template being edited, removed
        when the edit changed its name or language."""
        self.store.save_template(name, language, text, updated_by=admin)
        saved = next(row for row in self.templates(language) if row["name"] == name)
        if replaces is not None and replaces != saved["id"]:
            self.store.delete_template(replaces)
        return int(saved["id"])

    def delete_template(self, template_id: int) -> None:
        self.store.delete_template(template_id)

    # The service calls Rasa over HTTP (5 s timeout): run it off the event loop so live feeds keep going.
    async def claim(self, handoff_id: int, agent: str) -> None:
        await run_in_threadpool(self.service.claim, handoff_id, agent)

    async def reply(self, handoff_id: int, agent: str, text: str) -> dict[str, Any]:
        """The stored message: status `sent`, or `failed` with the error when Rasa did not take it."""
        return dict(await run_in_threadpool(self.service.reply, handoff_id, agent, text))

    async def transfer(self, handoff_id: int, agent: str, to_agent: str) -> None:
        await run_in_threadpool(self.service.transfer, handoff_id, agent, to_agent)

    async def close(self, handoff_id: int, agent: str) -> dict[str, Any]:
        return dict(await run_in_threadpool(self.service.close, handoff_id, agent))


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    """A handoff as the inbox lists it: the reason in words, no context card."""
    listed = {key: value for key, value in row.items() if key != "context_card"}
    listed["reason_text"] = REASONS.get(row["reason"], row["reason"]) + (f" ({row['reason_detail']})" if row.get("reason_detail") else "")
    return listed
