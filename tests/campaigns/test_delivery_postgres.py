"""The campaign lease on PostgreSQL, with real processes: two `python -m campaigns.scheduler` on one
PostgreSQL schema (tests/helpers/databases.py), the lease holder killed (SIGKILL) mid-campaign with rows in
doubt. Counted at the fake's inbox: each consenting recipient got the message exactly once, nobody else any."""

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns.service import create_campaign
from campaigns.store import CampaignStore
from tests.helpers.campaign_processes import CampaignRig, rig, seed_customers

NO_QUIET_HOURS = "00:00-00:00"


@pytest.fixture()
def postgres_rig(tmp_path: Path, postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CampaignRig]:
    monkeypatch.setenv("CAMPAIGNS_QUIET_HOURS", NO_QUIET_HOURS)
    yield from rig(tmp_path, postgres_database, CAMPAIGNS_QUIET_HOURS=NO_QUIET_HOURS)


@pytest.mark.postgres
def test_two_schedulers_on_postgresql_one_killed_mid_campaign_each_consenting_recipient_gets_it_once(postgres_rig: CampaignRig) -> None:
    groups = seed_customers(postgres_rig.db, 1500, no_consent_every=10, opted_out_every=10)
    expected = len(groups["consenting"])
    fields = {
        "name": "Kampanya",
        "kind": "announcement",
        "purpose": "marketing",
        "channel": "whatsapp",
        "message_tr": "Merhaba {first_name}",
        "message_en": "Hi {first_name}",
        "send_at": "now",
        "rate": 300,
    }
    campaign_id = create_campaign(postgres_rig.db, fields)
    first, second = postgres_rig.start_scheduler(), postgres_rig.start_scheduler()
    # Kill the lease holder mid-batch: rows committed as `sending` whose sids are not recorded yet.
    postgres_rig.wait_for(
        lambda: sum(postgres_rig.outbound_counts().values()) >= expected * 0.3 and postgres_rig.rows_in("sending") > 0,
        120,
        "30% sent with rows in flight",
    )
    logs = [postgres_rig.scheduler_log(0), postgres_rig.scheduler_log(1)]
    assert ("holds the lease" in logs[0]) != ("holds the lease" in logs[1]), "exactly one scheduler holds the lease"
    holder = first if "holds the lease" in logs[0] else second
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    in_doubt = postgres_rig.rows_in("sending")
    assert sum(postgres_rig.outbound_counts().values()) < expected, "killed too late to prove anything"
    postgres_rig.wait_for(lambda: postgres_rig.open_rows() == 0, 180, "campaign finished by the other scheduler")
    time.sleep(1)  # anything still on its way would show up now

    counts = postgres_rig.outbound_counts()
    assert all(counts.get(address) == 1 for address in groups["consenting"]), (
        f"not exactly once: {[(a, counts.get(a)) for a in groups['consenting'] if counts.get(a) != 1][:5]}"
    )
    assert not any(counts.get(address) for address in groups["no_consent"] + groups["opted_out"])
    assert sum(counts.values()) == expected
    assert "holds the lease" in postgres_rig.scheduler_log(0) and "holds the lease" in postgres_rig.scheduler_log(1)
    stats = CampaignStore(postgres_rig.db).stats(campaign_id)
    assert (stats["sent"], stats["skipped_no_consent"], stats["skipped_opted_out"]) == (expected, 150, 150)
    print(f"rows in doubt at the kill: {in_doubt}")
