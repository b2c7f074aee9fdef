"""The WhatsApp webhook's acknowledgement does the same work at a customer's 2,001st message as at their
2nd, and as for a new customer's first (docs/turn-cost.md, "WhatsApp acknowledgement").

Run with the Rasa interpreter by tests/connectors/whatsapp/test_ack_work.py; exits non-zero on the first
failed check. Counted, not timed, on a real SQLite file: one customer writes 2,000 messages through the
channel's own webhook handler (each acknowledged, logged in whatsapp_inbound, handled: service window,
held texts, offered choices; Rasa's part is left out) and each gets two replies whose delivery statuses
are stored (whatsapp_outbound). Then, for the acknowledgement (the webhook handler, on the server's
thread) and for the channel's own handling of the message (on the processing thread):
- the SQL statements are the same, in the same order;
- SQLite's virtual machine runs the same number of instructions (a progress handler called at each one:
  a table scan or an unbounded read would grow with the rows);
- the Python calls of the acknowledgement are as many, within a few (sys.setprofile).
"""

import asyncio
import collections
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

from sanic.models.futures import FutureRoute
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from connectors.rate_limit import SenderRateLimit  # noqa: E402
from connectors.whatsapp.channel import WhatsAppInput  # noqa: E402
from connectors.whatsapp.sender import WhatsAppMessenger  # noqa: E402
from connectors.whatsapp.twilio_client import DEMO_TEMPLATE_SID, TwilioSettings  # noqa: E402
from customer_store.store import CustomerStore  # noqa: E402
from storage import database as storage_database  # noqa: E402

EARLIER = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
TOKEN = "ack-check-" + "x" * 22
PUBLIC_URL = "http://localhost:5005"
PATH = "/webhooks/whatsapp/webhook"
LONG = "whatsapp:+905550000001"
NEW = "whatsapp:+905550000002"
BODY = "Kargom nerede, ne zaman gelir?"

steps: collections.Counter[int] = collections.Counter()  # SQLite VM instructions per thread
statements: dict[int, list[str]] = collections.defaultdict(list)  # SQL per thread


@event.listens_for(Pool, "connect")
def _count_vm_steps(dbapi_connection: Any, _record: Any) -> None:
    def progress() -> int:
        steps[threading.get_ident()] += 1
        return 0

    dbapi_connection.set_progress_handler(progress, 1)


@event.listens_for(Engine, "before_cursor_execute")
def _record_statement(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
    statements[threading.get_ident()].append(" ".join(statement.split()))


class FakeRequest:
    """What the webhook handler reads of Sanic's request."""

    def __init__(self, body: bytes, signature: str) -> None:
        self.body = body
        self.headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
        self.path = PATH
        self.query_string = ""


class Customer:
    def __init__(self, address: str) -> None:
        self.address = address
        self.sent = 0

    def request(self) -> tuple[FakeRequest, str]:
        self.sent += 1
        sid = f"SM{self.address[-8:]}{self.sent:024d}"  # 34 characters, like Twilio's
        params = {
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.address,
            "To": "whatsapp:+14155238886",
            "Body": BODY,
            "NumMedia": "0",
            "ProfileName": "Bench",
        }
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + PATH, params)
        return FakeRequest(urlencode(params).encode(), signature), sid


class Work:
    """What one message cost: the acknowledgement's SQL, VM steps and Python calls, the handling's SQL and VM steps."""

    def __init__(self) -> None:
        self.ack_sql: list[str] = []
        self.ack_steps = 0
        self.ack_calls = 0
        self.handling_sql: list[str] = []
        self.handling_steps = 0

    def __repr__(self) -> str:
        return (
            f"ack: {len(self.ack_sql)} statements, {self.ack_steps} VM steps, {self.ack_calls} Python calls; "
            f"handling: {len(self.handling_sql)} statements, {self.handling_steps} VM steps"
        )


class Harness:
    def __init__(self, folder: Path) -> None:
        db = folder / "destek.sqlite3"
        settings = TwilioSettings(
            account_sid="AC" + "0" * 32,
            auth_token=TOKEN,
            whatsapp_from="whatsapp:+14155238886",
            public_url=PUBLIC_URL,
            api_base="http://127.0.0.1:9",  # never called: Rasa's part, which replies, is left out
            template_sid=DEMO_TEMPLATE_SID,
            timeout=1,
            send_rate=50,
        )
        self.messenger = WhatsAppMessenger(settings, db, CustomerStore(db))
        self.channel = WhatsAppInput(self.messenger, SenderRateLimit(per_minute=1e9, burst=10**9), workers=2)

        async def on_new_message(_message: Any) -> None:
            return None

        routes: list[FutureRoute] = list(self.channel.blueprint(on_new_message)._future_routes)
        self.inbound = next(route.handler for route in routes if route.uri == "/webhook")
        self.loop = asyncio.new_event_loop()
        self.db = db
        self.last_sid = ""

    def processing_thread(self) -> int:
        return next(thread.ident or 0 for thread in threading.enumerate() if thread.name == "whatsapp-processing")

    def send(self, customer: Customer, wait: bool = True) -> Work:
        """One message: acknowledged here, handled on the processing thread (waited for unless `wait` is
        False); then its two replies' statuses."""
        request, sid = customer.request()
        work = Work()
        me = threading.get_ident()
        calls = 0

        def profile(_frame: FrameType, kind: str, _arg: Any) -> None:
            nonlocal calls
            if kind in ("call", "c_call"):
                calls += 1

        async def acknowledge() -> Any:
            sys.setprofile(profile)
            try:
                return await self.inbound(request)
            finally:
                sys.setprofile(None)

        steps_before, sql_before = steps[me], len(statements[me])
        answered = self.loop.run_until_complete(acknowledge())
        assert answered.status == 200, answered.body
        work.ack_steps, work.ack_sql, work.ack_calls = steps[me] - steps_before, statements[me][sql_before:], calls
        if wait:
            worker = self.processing_thread()
            self.wait_handled(sid)
            work.handling_steps, work.handling_sql = steps[worker], list(statements[worker])
        for number in range(2):  # the bot's replies, sent and then read
            reply = f"{sid}R{number}"
            self.messenger.statuses.record_sent(reply, customer.address, "text", "queued")
            self.messenger.statuses.update(reply, "read", address=customer.address)
        self.last_sid = sid
        return work

    def wait_handled(self, sid: str) -> None:
        deadline = time.monotonic() + 30
        with sqlite3.connect(self.db) as connection:
            while time.monotonic() < deadline:
                row = connection.execute("SELECT handled_at FROM whatsapp_inbound WHERE message_sid = ?", (sid,)).fetchone()
                if row and row[0] is not None:
                    time.sleep(0.01)  # mark_handled has committed; nothing follows it
                    return
                time.sleep(0.002)
        raise AssertionError(f"{sid} not handled within 30 s")

    def reset_processing_counts(self) -> None:
        worker = self.processing_thread()
        steps[worker] = 0
        statements[worker] = []


def measured(harness: Harness, customer: Customer) -> Work:
    harness.reset_processing_counts()
    return harness.send(customer)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        harness = Harness(Path(folder))
        long = Customer(LONG)
        harness.send(long)  # the first message ever starts the workers and creates the window
        second = measured(harness, long)
        for _ in range(EARLIER - 2):
            harness.send(long, wait=False)
        harness.wait_handled(harness.last_sid)  # one customer's messages are handled in order
        latest = measured(harness, long)  # the 2,001st: 2,000 earlier messages, 4,000 replies
        new = measured(harness, Customer(NEW))
        with storage_database.transaction(harness.db) as connection:
            rows = connection.execute("SELECT count(*) FROM whatsapp_inbound WHERE address = ?", (LONG,)).scalar()
            replies = connection.execute("SELECT count(*) FROM whatsapp_outbound WHERE address = ?", (LONG,)).scalar()
        assert (rows, replies) == (EARLIER + 1, 2 * (EARLIER + 1)), (rows, replies)
        print("acknowledgement SQL:", *second.ack_sql, "handling SQL:", *second.handling_sql, sep="\n  ")
        print(f"message 2: {second}\nmessage {EARLIER + 1}: {latest}\na new customer's message 1: {new}")
        assert latest.ack_sql == second.ack_sql, (second.ack_sql, latest.ack_sql)
        assert latest.ack_steps == second.ack_steps, (second.ack_steps, latest.ack_steps)
        assert latest.ack_calls <= second.ack_calls + 5, (second.ack_calls, latest.ack_calls)
        assert latest.handling_sql == second.handling_sql, (second.handling_sql, latest.handling_sql)
        assert latest.handling_steps == second.handling_steps, (second.handling_steps, latest.handling_steps)
        assert (new.ack_sql, new.ack_steps) == (latest.ack_sql, latest.ack_steps), (new, latest)
        harness.loop.close()
        storage_database.dispose(harness.db)
    print("ok")


if __name__ == "__main__":
    main()
