"""The inbox's one door into the handoff package (store, service, context card).

Every call the inbox makes into `handoff` goes through here, so the web layer (inbox.py,
inbox_stream.py, reply_templates_admin.py) does not depend on the package's internals.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional

from handoff import context_card, service
from handoff.store import HandoffStore

HandoffError = service.HandoffError
OPEN_STATUSES = ("queued", "assigned")


class InboxBackend:
    """Handoffs, their messages, reply templates and the agent actions, for one database."""

    def __init__(self, database_path: Path) -> None:
        self.database_path = database_path
        self.store = HandoffStore(database_path)

    def queue(self) -> List[Dict[str, Any]]:
        """Open handoffs, most urgent first: higher priority, then longer wait."""
        handoffs = [dict(row) for row in self.store.queue() if row["status"] in OPEN_STATUSES]
        return sorted(handoffs, key=lambda row: (-(row.get("priority") or 0), row["created_at"], row["id"]))

    def handoff(self, handoff_id: int) -> Optional[Dict[str, Any]]:
        row = self.store.get(handoff_id)
        return dict(row) if row else None

    def messages(self, handoff_id: int, after_id: int = 0) -> List[Dict[str, Any]]:
        return [dict(row) for row in self.store.messages(handoff_id, after_id=after_id)]

    def card(self, handoff_id: int) -> Dict[str, Any]:
        return dict(context_card.build(self.database_path, handoff_id))

    def templates(self, language: Optional[str] = None) -> List[Dict[str, Any]]:
        return [dict(row) for row in self.store.templates(language)]

    def template(self, template_id: int) -> Optional[Dict[str, Any]]:
        return next((row for row in self.templates() if row["id"] == template_id), None)

    def save_template(self, name: str, language: str, body: str, template_id: Optional[int] = None) -> int:
        return int(self.store.save_template(name, language, body, template_id=template_id))

    def delete_template(self, template_id: int) -> bool:
        return bool(self.store.delete_template(template_id))

    async def claim(self, handoff_id: int, agent: str) -> None:
        await service.claim(self.database_path, handoff_id, agent)

    async def reply(self, handoff_id: int, agent: str, text: str) -> None:
        await service.reply(self.database_path, handoff_id, agent, text)

    async def transfer(self, handoff_id: int, agent: str, to_agent: str) -> None:
        await service.transfer(self.database_path, handoff_id, agent, to_agent)

    async def close(self, handoff_id: int, agent: str) -> None:
        await service.close(self.database_path, handoff_id, agent)
