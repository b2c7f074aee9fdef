"""Campaign throughput to the fake Twilio: a marketing campaign to N consenting customers at a
configured rate (default 50 messages/s, 10,000 recipients), sent by a real
`python -m campaigns.scheduler` process. Reports the achieved rate (first to last message seen
in the fake's inbox), exactly-once delivery checked in the fake's inbox, the scheduler's peak
RSS, and the fake's CPU use; then a short unthrottled run showing the fake's headroom.

    .venv/bin/python bench/campaign_throughput.py [--recipients 10000] [--rate 50]
"""

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from campaigns.service import create_campaign  # noqa: E402
from tests.helpers.campaign_processes import CampaignRig, seed_customers  # noqa: E402

NO_QUIET_HOURS = "00:00-00:00"
ACCOUNT_RATE = 80  # TWILIO_SEND_RATE: the sender-wide ceiling (Twilio's default WhatsApp throughput); the campaign paces below it


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(recipients: int, rate: float, account_rate: float) -> tuple[float, int, float, float, float, bool]:
    """(achieved messages/s, messages, scheduler peak RSS MiB, fake CPU share, seconds, exactly once)."""
    os.environ["CAMPAIGNS_QUIET_HOURS"] = NO_QUIET_HOURS
    with tempfile.TemporaryDirectory() as state:
        rig = CampaignRig(
            Path(state), CAMPAIGNS_QUIET_HOURS=NO_QUIET_HOURS, TWILIO_SEND_RATE=str(account_rate), CAMPAIGNS_LOG_LEVEL="WARNING"
        )
        rig.start_fake(status_delay=0.5)
        try:
            groups = seed_customers(rig.db, recipients)
            create_campaign(
                rig.db,
                {
                    "name": "bench",
                    "purpose": "marketing",
                    "message_tr": "Merhaba {first_name}, kampanya!",
                    "message_en": "Hi {first_name}, a campaign!",
                    "rate": rate,
                },
            )
            assert rig.fake is not None
            fake_cpu_before = cpu_seconds(rig.fake.pid)
            scheduler = rig.start_scheduler()
            first = last = 0.0
            seen = 0
            deadline = time.monotonic() + recipients / rate * 3 + 120
            while seen < recipients and time.monotonic() < deadline:
                seen = sum(rig.outbound_counts().values())
                now = time.monotonic()
                if seen and not first:
                    first = now
                if seen:
                    last = now
                time.sleep(0.1)
            fake_cpu = cpu_seconds(rig.fake.pid) - fake_cpu_before
            scheduler.send_signal(signal.SIGTERM)
            _, _, usage = os.wait4(scheduler.pid, 0)
            rig.schedulers.remove(scheduler)
            counts = rig.outbound_counts()
            exactly_once = sorted(counts) == sorted(groups["consenting"]) and set(counts.values()) == {1}
            elapsed = max(last - first, 1e-9)
            return (seen - 1) / elapsed, seen, usage.ru_maxrss / 1024, fake_cpu / elapsed, elapsed, exactly_once
        finally:
            rig.stop()


def run(recipients: int = 10_000, rate: float = 50.0) -> list[tuple[str, str]]:
    achieved, sent, rss, fake_share, seconds, once = one_run(recipients, rate, account_rate=ACCOUNT_RATE)
    rows = [
        (
            f"Campaign throughput, {recipients:,} recipients at {rate:g} messages/s",
            f"{achieved:.1f} messages/s ({achieved / rate:.1%} of the configured rate; {sent:,} messages in {seconds:.0f} s); "
            f"exactly once in the fake's inbox: {'yes' if once else 'NO'}",
        ),
        ("Campaign scheduler peak RSS", f"{rss:.0f} MiB"),
        ("fake_twilio CPU while sending at that rate", f"{fake_share:.0%} of one core"),
    ]
    burst = min(recipients, 2000)
    achieved, sent, _, fake_share, seconds, once = one_run(burst, 5000, account_rate=5000)
    rows.append(
        (
            f"Campaign throughput, unthrottled (rate 5000), {burst:,} recipients",
            f"{achieved:.0f} messages/s; fake_twilio CPU {fake_share:.0%} of one core; exactly once: {'yes' if once else 'NO'}",
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    print("| benchmark | result |\n|---|---|")
    for name, result in run(args.recipients, args.rate):
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
