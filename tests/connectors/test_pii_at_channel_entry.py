"""PII never gets stored (issue #15): a card number, a TCKN, an IBAN and a one-time code sent on
WhatsApp (signed Twilio webhook) and in the web chat (token-bound socket) are redacted by the
channels before the message enters Rasa. Afterwards no text column of any table of either
database (the Rasa tracker store and the support database) holds them, in any spacing, and no
staff page shows them, while the same pages do show the redacted transcript."""

import json
import re
from collections.abc import Iterator

import pytest
import requests

from customer_store.store import CustomerStore
from privacy.redaction import find
from storage.database import Database
from tests.helpers.databases import query, support_database, table_names
from tests.helpers.servers import MODEL, Servers, running_servers

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

STAFF_PASSWORD = "pii-test-staff-password"
CARD, TCKN, IBAN, CODE = "4111 1111 1111 1111", "10000000146", "TR33 0006 1005 1978 6457 8413 26", "482913"
SECRETS = [CARD, TCKN, IBAN, CODE]
FORMS = sorted({form for value in SECRETS for form in (value, value.replace(" ", ""), value.replace(" ", "-"))})
WEB, WHATSAPP = "web:cust-ayse", "whatsapp:+905551110002"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("pii")
    CustomerStore(support_database(state)).seed_demo_customers()
    with running_servers(state, fake_twilio=True, support_app=True, env={"STAFF_DEMO_PASSWORD": STAFF_PASSWORD}) as running:
        for sender in (WEB, WHATSAPP):
            running.say(sender, f"how do I get a refund to my card {CARD}")
            running.say(sender, "/answer_not_helpful")
            running.say(sender, f"my ID number is {TCKN} and my IBAN is {IBAN}, the sms verification code: {CODE}")
            running.say(sender, "I want to talk to a person")
            running.say(sender, f"still waiting, card {CARD.replace(' ', '')}, IBAN {IBAN.replace(' ', '')}")
        yield running


def text_cells(database: Database) -> list[str]:
    """Every text value of every table, as stored (JSON columns included), on either engine."""
    cells: list[str] = []
    for table in table_names(database):
        for row in query(database, f'SELECT * FROM "{table}"'):
            for value in row:
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                elif isinstance(value, dict | list):  # a JSON column on PostgreSQL comes back parsed
                    value = json.dumps(value, ensure_ascii=False)
                if isinstance(value, str):
                    cells.append(f"{table}: {value}")
    return cells


def leaks(texts: list[str]) -> list[str]:
    return [f"{form!r} in {text[:160]!r}" for text in texts for form in FORMS if form in text]


def test_the_values_are_the_kind_the_redactor_knows() -> None:
    assert [finding.kind for value in (CARD, TCKN, IBAN) for finding in find(value)] == ["CARD", "TCKN", "IBAN"]
    assert [finding.kind for finding in find(f"verification code: {CODE}")] == ["OTP"]


@pytest.mark.parametrize("which", ["tracker", "support"])
def test_no_table_of_either_database_holds_them(servers: Servers, which: str) -> None:
    cells = text_cells(servers.state / "tracker.sqlite3" if which == "tracker" else servers.database)
    assert any("[CARD]" in cell for cell in cells) and any("[IBAN]" in cell for cell in cells)  # the messages are there
    assert leaks(cells) == []


def test_the_whatsapp_webhook_log_keeps_redacted_bodies(servers: Servers) -> None:
    logged = [row[0] for row in query(servers.database, "SELECT params FROM whatsapp_inbound WHERE address = ?", WHATSAPP)]
    assert len(logged) == 5 and any("[TCKN]" in params and "[IBAN]" in params and "[CODE]" in params for params in logged)
    assert leaks(logged) == []


def staff_session(servers: Servers) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{servers.support_url}/staff/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = session.post(
        f"{servers.support_url}/staff/login",
        timeout=10,
        allow_redirects=False,
        data={"login": "admin", "password": STAFF_PASSWORD, "csrf": token, "next": "/staff"},
    )
    assert response.status_code == 303
    return session


def test_no_staff_page_shows_them(servers: Servers) -> None:
    session = staff_session(servers)
    queue = session.get(f"{servers.support_url}/inbox/api/queue", timeout=30)
    assert queue.status_code == 200
    handoff_ids = sorted({int(found) for found in re.findall(r'"id":\s*(\d+)', queue.text)})
    assert handoff_ids
    pages = [
        "/staff",
        "/inbox",
        "/inbox/api/queue",
        "/review",
        "/review?channel=web",
        "/review?channel=whatsapp",
        "/review/gaps",
        "/review/gaps.csv",
        "/review/articles.csv",
        "/dashboard",
        *[f"/inbox/api/handoffs/{number}" for number in handoff_ids],
    ]
    shown = {}
    for page in pages:
        response = session.get(servers.support_url + page, timeout=60)
        assert response.status_code == 200, page
        shown[page] = response.text
    assert any("[CARD]" in text for text in shown.values())  # the transcripts are on these pages, redacted
    assert leaks([f"{page}: {text}" for page, text in shown.items()]) == []
