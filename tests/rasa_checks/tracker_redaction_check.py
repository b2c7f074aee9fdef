"""CachedSQLTrackerStore writes user and bot texts and entity values redacted (privacy.redaction),
while the events in memory, what the customer was sent, keep the full text.

Run with the Rasa interpreter by tests/bot/test_tracker_store.py; exits non-zero on the first
failed check and prints "ok" at the end."""

import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bot.tracker_store import CachedSQLTrackerStore  # noqa: E402

DOMAIN = Domain.load(str(ROOT / "domain.yml"))
IBAN, CARD, TCKN = "TR33 0006 1005 1978 6457 8413 26", "4111 1111 1111 1111", "10000000146"
AGENT_TEXT = f"Havale için IBAN: {IBAN}. Kargo takip kodu 48213377."
CUSTOMER_TEXT = f"kartım {CARD}, TC {TCKN}"
SENDER = "whatsapp:+905551110002"
CLEAR = (IBAN, IBAN.replace(" ", ""), CARD, CARD.replace(" ", ""), TCKN, "48213377")


def events() -> list:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered(CUSTOMER_TEXT, intent={"name": "nlu_fallback", "confidence": 1.0}),
        ActionExecuted("action_listen"),
        UserUttered(
            "EXTERNAL: EXTERNAL_agent_message",
            intent={"name": "EXTERNAL_agent_message", "confidence": 1.0},
            entities=[{"entity": "agent_text", "value": AGENT_TEXT}],
        ),
        ActionExecuted("action_relay_agent_message"),
        BotUttered(AGENT_TEXT),
        SlotSet("handoff_status", "assigned"),
        ActionExecuted("action_listen"),
    ]


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "tracker.sqlite3")
        store = CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
        tracker = DialogueStateTracker.from_events(SENDER, events(), DOMAIN.slots)
        asyncio.run(store.save(tracker))

        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT type_name, intent_name, action_name, data FROM events ORDER BY id").fetchall()
        check(len(rows) == len(events()), f"every event stored once ({len(rows)} rows)")
        stored = "\n".join(str(row) for row in rows)
        check(not any(clear in stored for clear in CLEAR), f"no number in clear in the events table:\n{stored}")
        for placeholder in ("[IBAN]", "[CARD]", "[TCKN]", "[CODE]"):
            check(placeholder in stored, f"{placeholder} stored in place of the number")
        check(("user", "EXTERNAL_agent_message", None) in [row[:3] for row in rows], "the intent column is kept")

        kept = list(tracker.events)  # what this turn (and the customer's channel) saw: untouched
        check(kept[7].text == AGENT_TEXT, "the bot event in memory keeps the agent's full text")
        check(kept[5].entities[0]["value"] == AGENT_TEXT, "the entity in memory keeps the full text")
        check(kept[3].text == CUSTOMER_TEXT, "the user event in memory is untouched")

        reread = asyncio.run(CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db).retrieve(SENDER))
        check(reread is not None, "the conversation reads back")
        assert reread is not None
        bot = [e for e in reread.events if isinstance(e, BotUttered)]
        check(len(bot) == 1, "one bot event")
        check("[IBAN]" in (bot[0].text or "") and IBAN not in (bot[0].text or ""), f"read back redacted: {bot[0].text!r}")
        check(reread.get_slot("handoff_status") == "assigned", "other events are stored as they were")
        check(reread.latest_message.intent.get("name") == "EXTERNAL_agent_message", "the intent reads back")
    print("ok")


if __name__ == "__main__":
    main()
