"""Campaigns through the real channels: the real Rasa server (WhatsApp status callbacks, opt-out
keywords) and action server (web notices at session start), fake_twilio as Twilio, and a real
scheduler process. Counts come from the fake's inbox and the stats the scheduler reconciled."""

import subprocess
from collections.abc import Iterator

import pytest

from campaigns.service import create_campaign
from campaigns.store import CampaignStore
from customer_store.store import CustomerStore
from tests.conftest import ROOT
from tests.helpers.campaign_processes import PYTHON
from tests.helpers.databases import support_database
from tests.helpers.servers import MODEL, Servers, http, running_servers
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

AYSE, JOHN, MEHMET = "whatsapp:+905551110001", "whatsapp:+905551110002", "whatsapp:+905551110003"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("campaign-channels")
    CustomerStore(support_database(state)).seed_demo_customers()
    with running_servers(state, fake_twilio=True) as running:
        log = open(state / "scheduler.log", "ab")
        scheduler = subprocess.Popen(
            [PYTHON, "-m", "campaigns.scheduler"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**running.env, "CAMPAIGNS_POLL": "0.2", "CAMPAIGNS_CHECK_EVERY": "0.5", "CAMPAIGNS_QUIET_HOURS": "00:00-00:00"},
        )
        try:
            yield running
        finally:
            scheduler.terminate()
            scheduler.wait(timeout=20)


def test_stats_reconcile_delivered_read_failed_replies_and_opt_outs_from_status_callbacks(servers: Servers) -> None:
    db = servers.database
    for address, outcome in ((AYSE, "read"), (JOHN, "delivered"), (MEHMET, "failed")):
        assert http("POST", f"{servers.fake_url}/_fake/outcomes", {"address": address, "outcome": outcome})[0] == 200
    campaign_id = create_campaign(
        db,
        {
            "name": "Kesinti",
            "kind": "outage_notice",
            "purpose": "service",
            "message_tr": "Bölgenizde kesinti var.",
            "message_en": "There is an outage in your area.",
        },
    )
    store = CampaignStore(db)
    wanted = {"sent": 3, "delivered": 2, "read": 1, "failed": 1}
    eventually(lambda: {key: store.stats(campaign_id)[key] for key in wanted} == wanted, "stats from callbacks", timeout=60)

    status, _ = http("POST", f"{servers.fake_url}/_fake/inbound", {"from": JOHN, "body": "DUR", "profile_name": "John"})  # John: STOP
    assert status == 200
    eventually(lambda: store.stats(campaign_id)["opt_outs"] == 1, "the opt-out counted", timeout=30)
    stats = store.stats(campaign_id)
    assert (stats["replies"], stats["opt_outs"], stats["failed"]) == (1, 1, 1)


def test_web_notice_is_shown_once_at_the_customers_next_chat_session(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    # Creating a marketing campaign places each recipient's due time after the quiet hours
    # (21:00-08:00 local by default) in this process: switch them off here too, as the scheduler's.
    monkeypatch.setenv("CAMPAIGNS_QUIET_HOURS", "00:00-00:00")
    db = servers.database
    campaign_id = create_campaign(
        db,
        {
            "name": "Yeni modem",
            "kind": "announcement",
            "purpose": "marketing",
            "channel": "web",
            "message_tr": "Merhaba {first_name}, yeni modemler geldi!",
            "message_en": "Hi {first_name}, the new modems are here!",
            "region": "Istanbul-*",
        },
    )
    store = CampaignStore(db)
    eventually(lambda: store.stats(campaign_id)["sent"] == 1, "the notice stored for Ayşe's next visit", timeout=30)
    replies = servers.say("web:cust-ayse", "merhaba")
    assert "Merhaba Ayşe, yeni modemler geldi!" in [reply.get("text") for reply in replies]
    assert store.stats(campaign_id)["read"] == 1
    again = servers.say("web:cust-ayse", "teşekkürler")
    assert "Merhaba Ayşe, yeni modemler geldi!" not in [reply.get("text") for reply in again]
