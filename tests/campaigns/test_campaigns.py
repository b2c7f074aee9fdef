"""Campaign rules on a real SQLite file, in process: quiet hours and recurrences in the
customer's time zone, CSV checks (line and field named, nothing stored), one-off messages for
other packages, the lease, recurring runs, and the CLI's one-line errors with exit code 2."""

import time
from datetime import datetime
from pathlib import Path

import pytest

from campaigns import cancel_single, schedule_single
from campaigns.__main__ import main as cli
from campaigns.audience import AudienceError, Segment, parse_csv, segment_recipients
from campaigns.sendlog import LeaseLost, SendLog
from campaigns.service import create_campaign
from campaigns.store import CampaignSpec, CampaignStore
from campaigns.timing import QuietHours, next_occurrence
from customer_store.store import CustomerStore
from storage.database import Database


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.fixture
def db(database: Database) -> Database:
    """The support database on SQLite and on PostgreSQL (tests/helpers/databases.py)."""
    CustomerStore(database).seed_demo_customers()
    return database


def test_quiet_hours_defer_to_0800_local_in_each_customers_time_zone() -> None:
    quiet = QuietHours()
    assert quiet.defer(at("2030-01-07T22:30:00+03:00"), "Europe/Istanbul") == at("2030-01-08T08:00:00+03:00")
    assert quiet.defer(at("2030-01-08T03:00:00+03:00"), "Europe/Istanbul") == at("2030-01-08T08:00:00+03:00")
    assert quiet.defer(at("2030-01-08T12:00:00+03:00"), "Europe/Istanbul") == at("2030-01-08T12:00:00+03:00")
    # 20:30 in Istanbul is 21:30 in Dubai: quiet there, not here.
    assert quiet.defer(at("2030-01-07T20:30:00+03:00"), "Europe/Istanbul") == at("2030-01-07T20:30:00+03:00")
    assert quiet.defer(at("2030-01-07T20:30:00+03:00"), "Asia/Dubai") == at("2030-01-08T08:00:00+04:00")
    # Over the spring DST change in Berlin the end is still 08:00 local.
    assert quiet.defer(at("2030-03-30T23:00:00+01:00"), "Europe/Berlin") == at("2030-03-31T08:00:00+02:00")
    assert QuietHours.parse("22:00-07:30").defer(at("2030-01-07T07:00:00+03:00"), "Europe/Istanbul") == at("2030-01-07T07:30:00+03:00")
    with pytest.raises(ValueError, match="not like 21:00-08:00"):
        QuietHours.parse("9pm-8am")


def test_recurrences_daily_and_weekly() -> None:
    assert next_occurrence("daily 09:00", at("2030-01-07T09:00:00+03:00"), "Europe/Istanbul") == at("2030-01-08T09:00:00+03:00")
    assert next_occurrence("weekly mon 09:00", at("2030-01-08T10:00:00+03:00"), "Europe/Istanbul") == at("2030-01-14T09:00:00+03:00")


def test_marketing_is_deferred_by_quiet_hours_service_is_not_unless_asked(db: Database) -> None:
    store = CampaignStore(db, QuietHours())
    late = at("2030-01-07T22:30:00+03:00")
    base = {"kind": "announcement", "channel": "whatsapp", "messages": {"tr": "x"}, "audience": {"type": "segment"}, "send_at": late}
    recipients = segment_recipients(Segment(), CustomerStore(db), "whatsapp")
    marketing = store.create(CampaignSpec(name="m", purpose="marketing", **base), recipients)
    service = store.create(CampaignSpec(name="s", purpose="service", **base), recipients)
    asked = store.create(CampaignSpec(name="q", purpose="service", quiet_hours=True, **base), recipients)
    assert store.stats(marketing)["quiet_hours_deferred"] == 3 and store.stats(asked)["quiet_hours_deferred"] == 3
    assert store.stats(service)["quiet_hours_deferred"] == 0
    with pytest.raises(ValueError, match="field quiet_hours: marketing messages always respect quiet hours"):
        store.create(CampaignSpec(name="m", purpose="marketing", quiet_hours=False, **base), recipients)


def test_csv_errors_name_line_and_field_and_store_nothing(db: Database) -> None:
    customers = CustomerStore(db)
    cases = {
        b"phone,name\n+905551110001,A\n+905551110002,B\n+905551110004,C\n+905551110005,D\n+905551110006,E\n+90 555,F\n": "line 7, field phone: '+90 555' is not an E.164 number",
        b"phone,timezone\n+905551110001,Mars/Olympus\n": "line 2, field timezone: 'Mars/Olympus' is not an IANA time zone",
        b"customer_id\ncust-nobody\n": "line 2, field customer_id: no customer 'cust-nobody'",
        b"email\nx@example.com\n": "line 1, field email: unknown column",
        b"phone\n+905551110001\n+905551110001\n": "line 3, field phone: same recipient as line 2",
        b"phone,name\n+905551110001\n": "line 2, field name: 1 values, the header has 2 columns",
        b"phone\n": "line 2: no recipients",
    }
    for data, message in cases.items():
        with pytest.raises(AudienceError) as error:
            parse_csv(data, customers, "whatsapp")
        assert str(error.value).startswith(message), (str(error.value), message)
    fields = {"name": "x", "message_tr": "Merhaba", "channel": "whatsapp"}
    with pytest.raises(AudienceError, match="line 7, field phone"):
        create_campaign(db, fields, next(iter(cases)))
    assert CampaignStore(db).campaigns() == []
    good = parse_csv(b"customer_id,language\ncust-ayse,en\n", customers, "web")
    assert [(r.address, r.language, r.name) for r in good] == [("web:cust-ayse", "en", "Ayşe Yılmaz")]


def test_schedule_single_is_idempotent_and_cancel_single_stops_it(db: Database) -> None:
    first = schedule_single("cart_reminder", "cust-john", time.time() + 600, "Your cart {is} waiting", "marketing", "cart:john:1", db=db)
    assert schedule_single("cart_reminder", "cust-john", time.time(), "other", "marketing", "cart:john:1", db=db) == first
    store = CampaignStore(db)
    [row] = store.recipients(first)
    assert (row["address"], row["text"], row["state"]) == ("whatsapp:+905551110002", "Your cart {is} waiting", "pending")
    assert cancel_single("cart:john:1", db=db) is True and cancel_single("cart:john:1", db=db) is False
    assert store.recipients(first)[0]["state"] == "canceled"
    with pytest.raises(ValueError, match="field customer_id: no customer 'cust-x'"):
        schedule_single("cart_reminder", "cust-x", time.time(), "x", "marketing", "k", db=db)
    with pytest.raises(ValueError, match="field purpose"):
        schedule_single("cart_reminder", "cust-ayse", time.time(), "x", "spam", "k2", db=db)
    CustomerStore(db).upsert_customer("cust-webonly", name="Web Only", language="en")
    web = schedule_single("service_restored", "cust-webonly", time.time(), "Service is back.", "service", "inc:1:web", db=db)
    assert store.recipients(web)[0]["address"] == "web:cust-webonly"


def test_only_one_lease_holder_and_claims_need_the_lease(db: Database) -> None:
    log = SendLog(CampaignStore(db))
    assert log.hold_lease("a", 5)[0] is True
    assert log.hold_lease("b", 5)[:1] == (False,) and log.hold_lease("b", 5)[2] == "a"
    with pytest.raises(LeaseLost):
        log.claim("b", [1], {}, {})
    log.release_lease("a")
    assert log.hold_lease("b", 5)[0] is True


def test_a_recurring_campaign_gets_one_run_per_occurrence(db: Database) -> None:
    store = CampaignStore(db)
    parent = create_campaign(
        db,
        {
            "name": "Haftalık",
            "purpose": "service",
            "kind": "announcement",
            "message_tr": "Bülten",
            "recurrence": "weekly mon 09:00",
            "send_at": "2030-01-01 00:00",
        },
    )
    campaign = store.campaign(parent)
    assert campaign["status"] == "recurring" and campaign["next_run_at"] == at("2030-01-07T09:00:00+03:00")
    recipients = segment_recipients(Segment(), CustomerStore(db), "whatsapp")
    child = store.create_occurrence(parent, campaign["next_run_at"], recipients)
    assert child and store.create_occurrence(parent, campaign["next_run_at"], recipients) is None
    assert store.campaign(parent)["next_run_at"] == at("2030-01-14T09:00:00+03:00")
    assert store.stats(parent)["targeted"] == 3


def test_cli_creates_lists_and_refuses_bad_input_with_exit_2(db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli(
            [
                "--db",
                str(db),
                "create",
                "--name",
                "Kesinti",
                "--kind",
                "outage_notice",
                "--purpose",
                "service",
                "--message-tr",
                "Kesinti var {first_name}",
                "--region",
                "Istanbul-*",
                "--send-at",
                "2030-01-01 10:00",
            ]
        )
        == 0
    )
    assert "campaign 1 created: 1 recipients" in capsys.readouterr().out
    assert cli(["--db", str(db), "preview", "1"]) == 0 and "[tr] Kesinti var Ayşe" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("phone\n+905551110001\n12345\n", encoding="utf-8")
    for argv in (
        ["import-csv", str(bad)],
        ["create", "--name", "x", "--message-tr", "y", "--csv", str(bad)],
        ["pause", "99"],
        ["create", "--name", "x", "--message-tr", "{oops}"],
        ["create", "--name", "x"],
    ):
        assert cli(["--db", str(db), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert cli(["--db", str(db), "list"]) == 0 and "Kesinti" in capsys.readouterr().out
    assert len(CampaignStore(db).campaigns()) == 1
