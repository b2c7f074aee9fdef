"""Real processes for campaign tests: fake_twilio and `python -m campaigns.scheduler`, sharing
one temporary support database (a SQLite file, or a PostgreSQL schema given as a URL), plus bulk seeding
of customers straight into it."""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from customer_store.store import CustomerStore
from storage.database import Database, transaction
from tests.conftest import ROOT
from tests.helpers.databases import environment_url, support_database
from tests.helpers.servers import TWILIO_AUTH_TOKEN, free_port, http, start_fake_twilio

PYTHON = str(ROOT / ".venv" / "bin" / "python")


class CampaignRig:
    """fake_twilio plus any number of scheduler processes on one database."""

    def __init__(self, state: Path, database: Database | None = None, **env: str) -> None:
        self.state = state
        self.db: Database = database or support_database(state)
        self.fake_port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            **environment_url(self.db),
            "TWILIO_ACCOUNT_SID": "",
            "TWILIO_API_BASE": f"http://127.0.0.1:{self.fake_port}",
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "PUBLIC_URL": "http://127.0.0.1:9",
            "CAMPAIGNS_STATUS_CALLBACK": "off",
            "CAMPAIGNS_POLL": "0.2",
            "CAMPAIGNS_LEASE_TTL": "8",
            "TWILIO_TIMEOUT": "3",
            "TWILIO_SEND_RATE": "5000",
            "CAMPAIGNS_CHECK_EVERY": "1",
            **env,
        }
        self.fake: subprocess.Popen[bytes] | None = None
        self.schedulers: list[subprocess.Popen[bytes]] = []

    @property
    def fake_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_port}"

    def start_fake(self, status_delay: float = 0.05) -> None:
        """The fake of Twilio's API, with nothing behind it (the scheduler only sends)."""
        self.fake = start_fake_twilio(self.state, self.fake_port, self.env, "http://127.0.0.1:9", status_delay)

    def start_scheduler(self, **env: str) -> "subprocess.Popen[bytes]":
        log = open(self.state / f"scheduler-{len(self.schedulers)}.log", "ab")
        process = subprocess.Popen(
            [PYTHON, "-m", "campaigns.scheduler"], cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        self.schedulers.append(process)
        return process

    def scheduler_log(self, number: int) -> str:
        return (self.state / f"scheduler-{number}.log").read_text(errors="replace")

    def outbound_counts(self) -> dict[str, int]:
        status, body = http("GET", f"{self.fake_url}/_fake/counts")
        assert status == 200
        return dict(body["by_to"])

    def sent_to(self, address: str) -> list[dict[str, Any]]:
        import urllib.parse

        status, body = http(
            "GET", f"{self.fake_url}/_fake/messages?" + urllib.parse.urlencode({"to": address, "direction": "outbound-api"})
        )
        assert status == 200
        return list(body["messages"])

    def wait_for(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            for process in self.schedulers:
                assert process.poll() in (None, -signal.SIGKILL, 0), f"a scheduler exited with {process.returncode}"
            time.sleep(0.2)
        raise TimeoutError(f"{what}: not within {timeout}s")

    def rows_in(self, state: str) -> int:
        with transaction(self.db) as db:
            return int(db.execute("SELECT count(*) FROM campaign_recipients WHERE state = ?", (state,)).scalar())

    def open_rows(self) -> int:
        """Send-log rows still to go (pending or sending)."""
        with transaction(self.db) as db:
            return int(db.execute("SELECT count(*) FROM campaign_recipients WHERE state IN ('pending', 'sending')").scalar())

    def stop(self) -> None:
        for process in [*self.schedulers, self.fake]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def stop_gracefully(process: "subprocess.Popen[bytes]") -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)


def seed_customers(
    db: Database, count: int, consent_every: int = 1, no_consent_every: int = 0, opted_out_every: int = 0, timezone: str = "Europe/Istanbul"
) -> dict[str, list[str]]:
    """`count` customers inserted in bulk (phones +90 500 …). Every `no_consent_every`-th has
    said no to marketing, every `opted_out_every`-th is on the opt-out list, the rest consented.
    Returns the addresses by group: consenting, no_consent, opted_out."""
    CustomerStore(db)  # creates customer_store's tables
    groups: dict[str, list[str]] = {"consenting": [], "no_consent": [], "opted_out": []}
    customers, consents, opt_outs = [], [], []
    now = time.time()
    for number in range(count):
        customer_id, phone = f"bulk-{number:05d}", f"+90500{number:07d}"
        customers.append(
            (customer_id, f"Müşteri {number}", phone, "tr" if number % 2 else "en", "Istanbul-Kadikoy", "Fiber 100", timezone, now)
        )
        no_consent = bool(no_consent_every) and number % no_consent_every == 1
        opted_out = bool(opted_out_every) and number % opted_out_every == 2
        consents.append((customer_id, "marketing", int(not no_consent), "test", now))
        if opted_out:
            opt_outs.append((f"whatsapp:{phone}", 1, "DUR", now))
        groups["opted_out" if opted_out else "no_consent" if no_consent else "consenting"].append(f"whatsapp:{phone}")
    with transaction(db) as database:
        database.executemany(
            "INSERT INTO customers (id, name, phone, language, region, plan, timezone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            customers,
        )
        database.executemany("INSERT INTO consents (customer_id, purpose, granted, source, recorded_at) VALUES (?, ?, ?, ?, ?)", consents)
        database.executemany("INSERT INTO opt_outs (address, opted_out, reason, updated_at) VALUES (?, ?, ?, ?)", opt_outs)
    return groups


def rig(state: Path, database: Database | None = None, **env: str) -> Iterator[CampaignRig]:
    running = CampaignRig(state, database, **env)
    try:
        running.start_fake()
        yield running
    finally:
        running.stop()
