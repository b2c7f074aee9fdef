"""Delivery you can trust, with real processes: fake_twilio as Twilio and real
`python -m campaigns.scheduler` processes on one SQLite file. Every assertion counts what the
FAKE received (its inbox), never what the scheduler logged."""

import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from campaigns import schedule_single
from campaigns.service import create_campaign
from campaigns.store import CampaignStore
from connectors.whatsapp.window import ServiceWindows
from customer_store.store import CustomerStore
from settings.model import load
from tests.helpers.campaign_processes import CampaignRig, rig, seed_customers, stop_gracefully

NO_QUIET_HOURS = "00:00-00:00"


@pytest.fixture()
def campaign_rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CampaignRig]:
    """No quiet hours (the test may run at night); the campaign created in this process sees that too."""
    monkeypatch.setenv("CAMPAIGNS_QUIET_HOURS", NO_QUIET_HOURS)
    yield from rig(tmp_path, CAMPAIGNS_QUIET_HOURS=NO_QUIET_HOURS)


def marketing_to_everyone(db: Path, rate: float) -> int:
    fields = {
        "name": "Büyük kampanya",
        "kind": "announcement",
        "purpose": "marketing",
        "channel": "whatsapp",
        "message_tr": "Merhaba {first_name}, fiber hızınız iki katına çıktı!",
        "message_en": "Hi {first_name}, your fibre is twice as fast!",
        "send_at": "now",
        "rate": rate,
    }
    return create_campaign(db, fields)


def test_10000_recipients_killed_at_30_and_70_percent_each_consenting_recipient_gets_it_exactly_once(campaign_rig: CampaignRig) -> None:
    groups = seed_customers(campaign_rig.db, 10_000, no_consent_every=10, opted_out_every=10)
    expected = len(groups["consenting"])
    assert expected == 8000 and len(groups["no_consent"]) == 1000 and len(groups["opted_out"]) == 1000
    marketing_to_everyone(campaign_rig.db, rate=2000)

    in_doubt = []
    for fraction in (0.3, 0.7):
        scheduler = campaign_rig.start_scheduler()
        # Kill mid-batch: rows committed as `sending` whose sids are not recorded yet.
        campaign_rig.wait_for(
            lambda fraction=fraction: (
                sum(campaign_rig.outbound_counts().values()) >= fraction * expected + 37 and campaign_rig.rows_in("sending") > 0
            ),
            300,
            f"{fraction:.0%} sent",
        )
        scheduler.send_signal(signal.SIGKILL)
        scheduler.wait(timeout=10)
        in_doubt.append(campaign_rig.rows_in("sending"))
        assert sum(campaign_rig.outbound_counts().values()) < expected, "killed too late to prove anything"
    assert sum(in_doubt) > 0, "no kill left rows in doubt: the restart proved nothing"
    campaign_rig.start_scheduler()
    campaign_rig.wait_for(lambda: campaign_rig.open_rows() == 0, 300, "campaign finished after the restarts")
    time.sleep(1)  # anything still on its way would show up now

    counts = campaign_rig.outbound_counts()
    assert all(counts.get(address) == 1 for address in groups["consenting"]), (
        f"not exactly once: {[(a, counts.get(a)) for a in groups['consenting'] if counts.get(a) != 1][:5]}"
    )
    assert not any(counts.get(address) for address in groups["no_consent"] + groups["opted_out"])
    assert sum(counts.values()) == expected
    stats = CampaignStore(campaign_rig.db).stats(1)
    assert (stats["sent"], stats["skipped_no_consent"], stats["skipped_opted_out"]) == (8000, 1000, 1000)


def test_two_schedulers_started_at_once_send_each_message_once_and_the_second_takes_over(campaign_rig: CampaignRig) -> None:
    groups = seed_customers(campaign_rig.db, 600)
    marketing_to_everyone(campaign_rig.db, rate=60)
    first, second = campaign_rig.start_scheduler(), campaign_rig.start_scheduler()
    campaign_rig.wait_for(lambda: sum(campaign_rig.outbound_counts().values()) >= 200, 120, "a third sent")
    holder = first if "holds the lease" in campaign_rig.scheduler_log(0) else second
    assert ("holds the lease" in campaign_rig.scheduler_log(0)) != ("holds the lease" in campaign_rig.scheduler_log(1))
    holder.send_signal(signal.SIGKILL)  # the waiting one must take over once the lease expires
    holder.wait(timeout=10)
    campaign_rig.wait_for(lambda: campaign_rig.open_rows() == 0, 180, "campaign finished by the other scheduler")
    time.sleep(1)
    counts = campaign_rig.outbound_counts()
    assert sorted(counts) == sorted(groups["consenting"]) and set(counts.values()) == {1}
    assert "holds the lease" in campaign_rig.scheduler_log(0) and "holds the lease" in campaign_rig.scheduler_log(1)


def test_reminder_due_at_2230_local_goes_out_at_0800_as_a_template_outside_the_window(tmp_path: Path) -> None:
    for running in rig(tmp_path):  # the default quiet hours, 21:00-08:00
        customers = CustomerStore(running.db)
        customers.seed_demo_customers()  # Ayşe (Europe/Istanbul) consented to marketing
        due = datetime.fromisoformat("2030-01-07T22:30:00+03:00").timestamp()
        campaign_id = schedule_single(
            "cart_reminder", "cust-ayse", due, "Sepetinizde ürünler sizi bekliyor.", "marketing", "cart:cust-ayse:1", db=running.db
        )
        row = CampaignStore(running.db).recipients(campaign_id)[0]
        assert row["due_at"] == datetime.fromisoformat("2030-01-08T08:00:00+03:00").timestamp() and row["deferred"] == 1

        evening = running.start_scheduler(CAMPAIGNS_CLOCK_START="2030-01-07T22:31:00+03:00")
        time.sleep(4)
        assert running.sent_to("whatsapp:+905551110001") == []
        stop_gracefully(evening)

        started = time.time()
        running.start_scheduler(CAMPAIGNS_CLOCK_START="2030-01-08T07:59:56+03:00")
        running.wait_for(lambda running=running: running.sent_to("whatsapp:+905551110001"), 60, "the reminder")
        assert time.time() - started >= 4, "sent before 08:00 on the scheduler's clock"
        [message] = running.sent_to("whatsapp:+905551110001")
        assert message["content_sid"] and message["free_text"] == "", "outside the 24-hour window: the template, no free text"
        assert message["content_variables"] == {"1": "Sepetinizde ürünler sizi bekliyor."}


def test_service_notice_inside_the_window_is_free_text_and_opt_out_wins(tmp_path: Path) -> None:
    for running in rig(tmp_path):
        customers = CustomerStore(running.db)
        customers.seed_demo_customers()
        ServiceWindows(running.db).touch("whatsapp:+905551110003")  # Mehmet wrote an hour ago
        customers.set_opt_out("whatsapp:+905551110002", True, "STOP")  # John said STOP
        campaign_id = create_campaign(
            running.db,
            {
                "name": "Kesinti",
                "kind": "outage_notice",
                "purpose": "service",
                "message_tr": "Kadıköy'de kesinti var, {first_name}.",
                "message_en": "Outage in your area, {first_name}.",
                "send_at": "now",
            },
        )
        running.start_scheduler()
        running.wait_for(lambda running=running: running.open_rows() == 0, 60, "the notice")
        time.sleep(0.5)
        [mehmet] = running.sent_to("whatsapp:+905551110003")
        assert mehmet["free_text"] == "Kadıköy'de kesinti var, Mehmet." and not mehmet["content_sid"]
        assert len(running.sent_to("whatsapp:+905551110001")) == 1  # service: no marketing consent needed
        assert running.sent_to("whatsapp:+905551110002") == []
        assert CampaignStore(running.db).stats(campaign_id)["skipped_opted_out"] == 1


def test_rows_left_sending_by_a_crash_are_matched_at_twilio_before_any_resend(campaign_rig: CampaignRig) -> None:
    """A dead scheduler committed 40 rows as `sending`; 25 reached Twilio, 15 did not. The next
    scheduler finds the 25 by listing Messages filtered by To, records their sids, sends the 15."""
    import asyncio

    from campaigns.delivery import WhatsAppDelivery
    from campaigns.sendlog import SendLog

    groups = seed_customers(campaign_rig.db, 40)
    campaign_id = marketing_to_everyone(campaign_rig.db, rate=100)
    store = CampaignStore(campaign_rig.db)
    log = SendLog(store)
    assert log.hold_lease("dead-scheduler", 1.0)[0]
    rows = log.due(time.time() + 1, 100)
    assert len(log.claim("dead-scheduler", [row["id"] for row in rows], {}, {})) == 40

    async def reach_twilio_for(part: list) -> list:
        import os

        os.environ.update({key: value for key, value in campaign_rig.env.items() if key.startswith("TWILIO")})
        delivery = WhatsAppDelivery.configured(campaign_rig.db, load())  # the environment as just set
        try:
            return [await delivery.send(row) for row in part]
        finally:
            await delivery.close()

    already = asyncio.run(reach_twilio_for(rows[:25]))
    time.sleep(1.2)  # the dead scheduler's lease runs out
    campaign_rig.start_scheduler()
    campaign_rig.wait_for(lambda: campaign_rig.open_rows() == 0, 60, "reconciled and finished")
    time.sleep(0.5)
    counts = campaign_rig.outbound_counts()
    assert sorted(counts) == sorted(groups["consenting"]) and set(counts.values()) == {1}
    recorded = {row["address"]: row["message_sid"] for row in store.recipients(campaign_id)}
    assert all(recorded[row["address"]] == result["sid"] for row, result in zip(rows[:25], already, strict=True))
    assert "reconciling 40 rows left in doubt" in campaign_rig.scheduler_log(0)


def test_a_daily_campaign_runs_at_its_time_on_the_schedulers_clock(tmp_path: Path) -> None:
    for running in rig(tmp_path):
        CustomerStore(running.db).seed_demo_customers()
        parent = create_campaign(
            running.db,
            {
                "name": "Günlük durum",
                "kind": "announcement",
                "purpose": "service",
                "message_tr": "Günlük durum: her şey yolunda.",
                "recurrence": "daily 10:00",
                "send_at": "2030-01-07 00:00",
            },
        )
        started = time.time()
        running.start_scheduler(CAMPAIGNS_CLOCK_START="2030-01-07T09:59:57+03:00")
        running.wait_for(lambda running=running: sum(running.outbound_counts().values()) == 3, 60, "the 10:00 run")
        assert time.time() - started >= 3, "the run started before 10:00 on the scheduler's clock"
        time.sleep(1.5)
        assert sum(running.outbound_counts().values()) == 3  # one run, once each
        store = CampaignStore(running.db)
        assert store.campaign(parent)["next_run_at"] == datetime.fromisoformat("2030-01-08T10:00:00+03:00").timestamp()
        assert store.stats(parent)["sent"] == 3


def test_cli_test_send_reaches_the_fake_outside_the_send_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from campaigns.__main__ import main as cli

    for running in rig(tmp_path):
        CustomerStore(running.db).seed_demo_customers()
        for key in ("TWILIO_ACCOUNT_SID", "TWILIO_API_BASE", "TWILIO_AUTH_TOKEN", "CAMPAIGNS_STATUS_CALLBACK"):
            monkeypatch.setenv(key, running.env[key])
        campaign_id = create_campaign(running.db, {"name": "Deneme", "message_tr": "Merhaba {first_name}!", "send_at": "2030-01-01 12:00"})
        assert cli(["--db", str(running.db), "test-send", str(campaign_id), "--to", "+905559990000"]) == 0
        assert "sent to +905559990000 as template" in capsys.readouterr().out
        [message] = running.sent_to("whatsapp:+905559990000")
        assert message["content_variables"] == {"1": "[TEST] Merhaba Ayşe!"}
        assert CampaignStore(running.db).stats(campaign_id)["sent"] == 0
        assert cli(["--db", str(running.db), "test-send", str(campaign_id), "--to", "0555"]) == 2
        assert "field phone: '0555' is not an E.164 number" in capsys.readouterr().err


def test_pause_stops_the_running_scheduler_and_resume_finishes_exactly_once(campaign_rig: CampaignRig) -> None:
    groups = seed_customers(campaign_rig.db, 120)
    campaign_id = marketing_to_everyone(campaign_rig.db, rate=20)
    campaign_rig.start_scheduler()
    campaign_rig.wait_for(lambda: sum(campaign_rig.outbound_counts().values()) >= 20, 60, "sending started")
    store = CampaignStore(campaign_rig.db)
    store.pause(campaign_id)
    # The batch in flight (about 4 s of sending) finishes and is recorded; nothing new is claimed.
    campaign_rig.wait_for(lambda: campaign_rig.rows_in("sending") == 0, 60, "the batch in flight recorded")
    paused_at = sum(campaign_rig.outbound_counts().values())
    time.sleep(3)
    assert sum(campaign_rig.outbound_counts().values()) == paused_at < 120
    assert campaign_rig.rows_in("pending") == 120 - paused_at
    store.resume(campaign_id)
    campaign_rig.wait_for(lambda: campaign_rig.open_rows() == 0, 60, "finished after resume")
    time.sleep(0.5)
    counts = campaign_rig.outbound_counts()
    assert sorted(counts) == sorted(groups["consenting"]) and set(counts.values()) == {1}
