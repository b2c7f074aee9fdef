"""An agent's reply (handoff.service.reply): the customer is sent the full text, every stored copy
in the support database is redacted. On a real SQLite file and PostgreSQL; Rasa's HTTP API is a
local receiver that keeps what it was asked to deliver (the Rasa side, where the reply is stored
again, is tests/bot/test_tracker_store.py)."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from customer_store.store import CustomerStore
from handoff.rasa_client import RasaClient
from handoff.service import HandoffService
from handoff.store import HandoffStore
from storage.database import Database, engine

IBAN, CARD, TCKN = "TR33 0006 1005 1978 6457 8413 26", "4111 1111 1111 1111", "10000000146"
REPLY = f"Havale için IBAN: {IBAN}. Kargo takip kodu 48213377. Kartınız {CARD} ve TC {TCKN} gerekmez."
CLEAR = (IBAN, IBAN.replace(" ", ""), CARD, CARD.replace(" ", ""), TCKN, "48213377")


class Rasa:
    """Stands for Rasa's trigger_intent endpoint: records each request's JSON body."""

    def __init__(self) -> None:
        self.delivered: list[dict[str, Any]] = []
        rasa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                rasa.delivered.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
                body = b'{"tracker": {}, "messages": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def rasa() -> Iterator[Rasa]:
    running = Rasa()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


def every_text_cell(database: Database) -> str:
    bound = engine(database)
    cells: list[str] = []
    with bound.connect() as connection:
        for table in sa.inspect(bound).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                cells += [value for value in row if isinstance(value, str)]
    return "\n".join(cells)


def test_an_agents_reply_is_sent_in_full_and_stored_redacted(database: Database, rasa: Rasa) -> None:
    store = HandoffStore(database)
    service = HandoffService(store, RasaClient(rasa.url, "test-token"), CustomerStore(database))
    handoff_id = store.create("whatsapp:+905551110002", "whatsapp", "customer_asked", 1)["id"]
    service.claim(handoff_id, "agent1")

    message = service.reply(handoff_id, "agent1", REPLY)
    assert message["status"] == "sent"
    # the customer needs the company's IBAN and the tracking code as written
    assert rasa.delivered == [{"name": "EXTERNAL_agent_message", "entities": {"agent_text": REPLY}}]
    # the inbox, the table and the answer kept for learning at close see placeholders
    assert message["text"] == "Havale için IBAN: [IBAN]. Kargo takip kodu [CODE]. Kartınız [CARD] ve TC [TCKN] gerekmez."
    service.close(handoff_id, "agent1")
    stored = every_text_cell(database)
    assert "[IBAN]" in stored and "[CARD]" in stored
    assert [clear for clear in CLEAR if clear in stored] == []


def test_system_messages_are_stored_redacted_too(database: Database) -> None:
    store = HandoffStore(database)
    handoff_id = store.create("web:cust-ayse", "web", "customer_asked", 1)["id"]
    store.add_message(handoff_id, "system", "agent1", f"closing not delivered to the bot: bad request {CARD}")
    assert store.messages(handoff_id)[-1]["text"] == "closing not delivered to the bot: bad request [CARD]"
