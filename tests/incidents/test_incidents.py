"""Incidents: the store, region matching, the follow-up recipients, and the CLI's one-line errors."""

import json
import subprocess
import time
from typing import Any

import pytest

from customer_store.store import CustomerStore
from incidents.service import resolve_incident
from incidents.store import IncidentError, IncidentStore
from incidents.times import eta_text, parse_time
from storage.database import Database
from tests.conftest import PYTHON, ROOT


class RecordingScheduler:
    """Stands in for the campaigns scheduler in unit tests (the integration test uses the real one)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def schedule_single(self, kind: str, customer_id: str, send_at: float, message: str, purpose: str, dedup_key: str) -> None:
        self.calls.append((kind, customer_id, message, purpose, dedup_key))


@pytest.fixture()
def db(database: Database) -> Database:
    """The support database on SQLite and on PostgreSQL (tests/helpers/databases.py)."""
    CustomerStore(database).seed_demo_customers()
    return database


def open_kadikoy(store: IncidentStore) -> int:
    return store.open(
        "internet",
        ["İstanbul-Kadıköy", "Istanbul-Besiktas"],
        time.time() + 7200,
        "Kadıköy'de fiber kablo arızası.",
        "A fibre cable fault in Kadikoy.",
    ).id


def test_region_matching_ignores_case_and_turkish_letters(db: Database) -> None:
    store = IncidentStore(db)
    incident_id = open_kadikoy(store)
    assert store.open_incident_for("Istanbul-Kadikoy", "internet").id == incident_id
    assert store.open_incident_for("istanbul-kadıköy", None).id == incident_id
    assert store.open_incident_for("Istanbul-Kadikoy", "tv") is None
    assert store.open_incident_for("Ankara-Cankaya", "internet") is None
    store.resolve(incident_id)
    assert store.open_incident_for("Istanbul-Kadikoy", "internet") is None


def test_contacts_count_once_per_customer(db: Database) -> None:
    store = IncidentStore(db)
    incident_id = open_kadikoy(store)
    assert store.record_contact(incident_id, "cust-ayse", "whatsapp:+905551110001") is True
    assert store.record_contact(incident_id, "cust-ayse", "web:cust-ayse") is False
    assert store.get(incident_id).contact_count == 1
    assert store.contacts(incident_id)[0]["sender_id"] == "web:cust-ayse"


def test_update_eta_and_resolve_checks(db: Database) -> None:
    store = IncidentStore(db)
    incident = store.get(open_kadikoy(store))
    later = incident.eta + 3600
    assert store.update_eta(incident.id, later).eta == later
    with pytest.raises(IncidentError, match="field 'eta'"):
        store.update_eta(incident.id, incident.started_at - 1)
    store.resolve(incident.id)
    with pytest.raises(IncidentError, match="already resolved"):
        store.resolve(incident.id)
    with pytest.raises(IncidentError, match="already resolved"):
        store.update_eta(incident.id, later + 60)


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("service", {"service": "gas"}),
        ("regions", {"regions": [" ", ""]}),
        ("message_en", {"message_en": "  "}),
        ("eta", {"eta": 1.0}),
    ],
)
def test_open_refuses_bad_fields_and_writes_nothing(db: Database, field: str, kwargs: dict) -> None:
    store = IncidentStore(db)
    values = {
        "service": "internet",
        "regions": ["Istanbul-Kadikoy"],
        "eta": time.time() + 60,
        "message_tr": "a",
        "message_en": "b",
        **kwargs,
    }
    with pytest.raises(IncidentError, match=f"field '{field}'"):
        store.open(**values)
    assert store.list() == []


def test_resolve_schedules_told_and_subscribed_customers_once(db: Database) -> None:
    customers = CustomerStore(db)
    customers.upsert_customer("cust-zeynep", name="Zeynep Kaya", language="tr", region="Istanbul-Besiktas")
    customers.set_consent("cust-zeynep", "service_notices", True, source="test")
    customers.upsert_customer("cust-ali", name="Ali Can", language="tr", region="Istanbul-Besiktas")  # no consent, not told
    store = IncidentStore(db)
    incident_id = open_kadikoy(store)
    store.record_contact(incident_id, "cust-ayse", "whatsapp:+905551110001")  # told, and also opted in
    store.record_contact(incident_id, "cust-john", "web:cust-john")  # told, other region on file
    scheduler = RecordingScheduler()
    incident, scheduled = resolve_incident(db, incident_id, scheduler)
    assert incident.status == "resolved"
    assert sorted(scheduled) == ["cust-ayse", "cust-john", "cust-zeynep"]
    by_customer = {call[1]: call for call in scheduler.calls}
    assert len(scheduler.calls) == 3
    assert by_customer["cust-john"][2].startswith("Hello John, the internet outage in your area has been fixed")
    assert "Her şey yolunda mı?" in by_customer["cust-ayse"][2]
    assert {call[3] for call in scheduler.calls} == {"service"}
    assert by_customer["cust-ayse"][4] == f"incident-{incident_id}-restored-cust-ayse"


def test_times() -> None:
    assert parse_time("+2h", "eta", now=1000.0) == 1000.0 + 7200
    assert parse_time("2026-11-23T18:30+03:00", "eta") == parse_time("2026-11-23T18:30", "eta")  # naive = Europe/Istanbul
    with pytest.raises(IncidentError, match="field 'eta'"):
        parse_time("soon", "eta")
    eta = parse_time("2026-11-23T18:30", "eta")
    assert eta_text(eta, "tr", "Europe/Istanbul") == "23.11.2026 18:30"
    assert eta_text(eta, "en", "Europe/London") == "15:30 on 23 Nov 2026"


def cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "incidents", "--db", str(db), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_cli_open_update_list(db: Database) -> None:
    opened = cli(
        db,
        "open",
        "--service",
        "internet",
        "--regions",
        "Istanbul-Kadikoy",
        "--eta",
        "+2h",
        "--message-tr",
        "Arıza var.",
        "--message-en",
        "There is a fault.",
    )
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.startswith("#1 open internet regions=Istanbul-Kadikoy")
    assert cli(db, "update-eta", "1", "--eta", "2099-01-01T10:00").returncode == 0
    listed = json.loads(cli(db, "list", "--json").stdout)
    assert listed[0]["eta"] == parse_time("2099-01-01T10:00", "eta") and listed[0]["status"] == "open"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["open", "--service", "gas", "--regions", "X", "--eta", "+1h", "--message-tr", "a", "--message-en", "b"],
            "error: field 'service': 'gas' is not one of internet, tv, mobile",
        ),
        (
            ["open", "--service", "tv", "--regions", " , ", "--eta", "+1h", "--message-tr", "a", "--message-en", "b"],
            "error: field 'regions'",
        ),
        (
            ["open", "--service", "tv", "--regions", "X", "--eta", "tomorrow", "--message-tr", "a", "--message-en", "b"],
            "error: field 'eta': 'tomorrow' is not a time",
        ),
        (
            ["open", "--service", "tv", "--regions", "X", "--eta", "+1h", "--message-tr", "a"],
            "error: the following arguments are required: --message-en",
        ),
        (["update-eta", "42", "--eta", "+1h"], "error: no incident with id 42"),
        (["resolve", "abc"], "error: argument incident_id: invalid int value: 'abc'"),
        (["reopen", "1"], "error: argument command: invalid choice: 'reopen'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_changes_nothing(db: Database, args: list[str], message: str) -> None:
    result = cli(db, *args)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert IncidentStore(db).list() == []
