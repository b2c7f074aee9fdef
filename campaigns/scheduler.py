"""The one campaign scheduler: `python -m campaigns.scheduler`.

Only the holder of the lease (a row in scheduler_lease, renewed while it runs) sends; a second
scheduler started by mistake waits for it. Each batch of due rows is committed as `sending`
before any provider call; a row a crash left in `sending` is looked up at Twilio (Messages list
by To) and either recorded as sent or sent again — so nobody gets a campaign twice or not at all.
"""

import argparse
import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url
from twilio.base.exceptions import TwilioException

from campaigns.audience import resolve_stored_audience
from campaigns.bucket import TokenBucket
from campaigns.delivery import CLOCK_SKEW, WhatsAppDelivery
from campaigns.sendlog import LeaseLost, SendLog
from campaigns.store import CampaignStore
from campaigns.timing import Clock, QuietHours
from customer_store.store import CustomerStore
from security.secrets_policy import SecretError
from settings.model import Settings, SettingsError, get_settings
from storage.database import Database, url_of

logger = logging.getLogger("campaigns.scheduler")

DELIVERY_LOOKBACK = 3 * 24 * 3600
# A batch holds about this many seconds of sending at its campaigns' rates, so consent, opt-outs
# and quiet hours are checked only seconds before each message goes out, even at 1 message/s.
BATCH_SECONDS = 4.0


@dataclass(frozen=True)
class SchedulerSettings:
    db: Database  # DESTEK_DATABASE_URL, else the SQLite file DESTEK_DB
    lease_ttl: float = 30.0  # CAMPAIGNS_LEASE_TTL: how long a dead scheduler blocks the next one
    poll: float = 1.0  # CAMPAIGNS_POLL: seconds between looks when nothing is due
    batch: int = 200  # rows claimed (committed as `sending`) per transaction: at most this many in doubt after a crash
    concurrency: int = 8  # provider calls in flight
    check_every: float = 10.0  # CAMPAIGNS_CHECK_EVERY: seconds between delivery-status / reply / in-doubt passes

    @classmethod
    def configured(cls, settings: Settings) -> "SchedulerSettings":
        proactive = settings.proactive
        return cls(db=settings.storage.url(), lease_ttl=proactive.lease_ttl, poll=proactive.poll, check_every=proactive.check_every)


class Scheduler:
    def __init__(self, settings: SchedulerSettings, delivery: WhatsAppDelivery, clock: Clock, quiet: QuietHours) -> None:
        self.settings = settings
        self.store = CampaignStore(settings.db, quiet)
        self.log = SendLog(self.store)
        self.customers = CustomerStore(settings.db)
        self.delivery = delivery
        self.clock = clock
        self.quiet = quiet
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_expires = 0.0
        self.buckets: dict[int, TokenBucket] = {}
        self.last_check = 0.0
        self.delivery_cursor = 0
        self._prepared: dict[str, Any] | None = None

    # the lease

    def _lease(self) -> bool:
        held, expires, holder = self.log.hold_lease(self.holder, self.settings.lease_ttl)
        if held and self.lease_expires == 0:
            logger.info("scheduler %s holds the lease", self.holder)
        if not held and self.lease_expires:
            logger.warning("lease lost to %s", holder)
        self.lease_expires = expires if held else 0.0
        return held

    def _guard(self) -> None:
        """Before each provider call: the lease must outlast the call (else another scheduler
        could take over while our message is still on its way)."""
        margin = self.delivery.settings.timeout + 1
        if self.lease_expires - time.time() < max(self.settings.lease_ttl / 2, margin + 1):
            if not self._lease():
                raise LeaseLost("lease taken by another scheduler")
        if self.lease_expires - time.time() < margin:
            raise LeaseLost("lease too short to start a send")

    # the loop

    async def run(self, stop: asyncio.Event) -> None:
        recovered = False
        try:
            while not stop.is_set():
                if not self._lease():
                    await _sleep(stop, self.settings.poll)
                    continue
                try:
                    if not recovered:
                        await self.recover(older_than=time.time())
                        recovered = True
                    busy = await self.send_due()
                    due_check = time.monotonic() - self.last_check > self.settings.check_every
                    if not busy or due_check:  # between batches only now and then: keeps the send rate steady
                        self.start_recurring()
                        self.log.finish_campaigns()
                    if due_check:
                        self.last_check = time.monotonic()
                        await self.recover(older_than=time.time() - self.delivery.settings.timeout - CLOCK_SKEW)
                        await asyncio.to_thread(self.check_deliveries)
                except LeaseLost as lost:
                    logger.warning("stopped sending: %s", lost)
                    self.lease_expires = 0.0
                    self._prepared = None
                    recovered = False
                    busy = False
                except Exception:
                    logger.exception("scheduler pass failed; trying again")
                    self._prepared = None
                    busy = False
                if not busy:
                    await _sleep(stop, self.settings.poll)
        finally:
            if self.lease_expires:
                self.log.release_lease(self.holder)
            await self.delivery.close()

    async def recover(self, older_than: float) -> None:
        """Rows left `sending` (a crash, a timeout): found at Twilio → sent; else → pending again."""
        rows = self.log.in_doubt(older_than)
        if rows:
            logger.info("reconciling %d rows left in doubt", len(rows))
        for row in rows:
            self._guard()
            if row["channel"] == "web":
                self.log.resolve(self.holder, row["id"], self.log.web_notice_exists(row["id"]), kind="web")
                continue
            try:
                candidates = await self.delivery.candidates(row)
            except (TwilioException, aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.warning("cannot look up row %s at Twilio yet (%r); it stays in doubt", row["id"], error)
                continue
            taken = self.log.known_sids([sid for sid, _ in candidates])
            match = next(((sid, kind) for sid, kind in candidates if sid not in taken), None)
            self.log.resolve(self.holder, row["id"], match is not None, *(match or (None, "")))

    def start_recurring(self) -> None:
        for parent in self.store.due_recurring(self.clock.now()):
            recipients = resolve_stored_audience(parent["audience"], self.customers, parent["channel"])
            child = self.store.create_occurrence(parent["id"], float(parent["next_run_at"]), recipients)
            logger.info("recurring campaign %s: occurrence %s with %d recipients", parent["id"], child, len(recipients))

    def _refusal(self, row: dict[str, Any]) -> str | None:
        """Why this row must not be sent: an opt-out always wins; marketing needs consent."""
        addresses = [row["address"]]
        if row["address"].startswith("web:") and row["customer_id"]:
            customer = self.customers.customer(row["customer_id"]) or {}
            if customer.get("phone"):
                addresses.append(f"whatsapp:{customer['phone']}")
        if any(self.customers.is_opted_out(address) for address in addresses):
            return "opted_out"
        if row["purpose"] == "marketing" and not (row["customer_id"] and self.customers.has_consent(row["customer_id"], "marketing")):
            return "no_consent"
        return None

    def _prepare(self) -> dict[str, Any]:
        """Due rows and what to do with each (send, skip with a reason, defer past quiet hours).
        Only reads: runs in a thread while the previous batch is being sent."""
        now = self.clock.now()
        rows = _about_seconds_of_sending(self.log.due(now, self.settings.batch), BATCH_SECONDS)
        skip: dict[int, str] = {}
        defer: dict[int, float] = {}
        send: list[int] = []
        for row in rows:
            reason = self._refusal(row)
            later = self.quiet.defer(now, row["timezone"]) if row["quiet_hours"] else now
            if reason:
                skip[row["id"]] = reason
            elif later > now:
                defer[row["id"]] = later
            else:
                send.append(row["id"])
        return {"rows": rows, "skip": skip, "defer": defer, "send": send}

    async def send_due(self) -> bool:
        """Claim one batch of due rows and send it; False when nothing was due."""
        batch = self._prepared if self._prepared is not None else await asyncio.to_thread(self._prepare)
        self._prepared = None
        if not batch["rows"]:
            return False
        claimed = set(self.log.claim(self.holder, batch["send"], batch["skip"], batch["defer"]))
        upcoming = asyncio.ensure_future(asyncio.to_thread(self._prepare))  # the claimed rows are no longer pending
        results: list[dict[str, Any]] = []
        in_flight = asyncio.Semaphore(self.settings.concurrency)
        tasks = []

        async def one(row: dict[str, Any]) -> None:
            try:
                results.append(await self.delivery.send(row))
            finally:
                in_flight.release()

        try:
            for row in (row for row in batch["rows"] if row["id"] in claimed):
                await self._bucket(row).take()
                self._guard()
                if row["channel"] == "web":
                    self.log.store_web_notice(self.holder, row)
                    continue
                await in_flight.acquire()
                tasks.append(asyncio.ensure_future(one(row)))
        finally:
            await asyncio.gather(*tasks)
            self.log.record(results)
            prepared = await upcoming
        self._prepared = prepared if prepared["rows"] else None
        return True

    def _bucket(self, row: dict[str, Any]) -> TokenBucket:
        bucket = self.buckets.get(row["campaign_id"])
        if bucket is None or bucket.rate != row["rate"]:
            bucket = self.buckets[row["campaign_id"]] = TokenBucket(
                row["rate"], capacity=max(1.0, row["rate"])
            )  # catch up after a 1 s stall
        return bucket

    def check_deliveries(self) -> None:
        """Delivered / read / failed from the WhatsApp channel's stored status callbacks; replies
        (the customer wrote after the send) and opt-outs (an opt-out needs a message, so only
        repliers are looked up)."""
        rows = self.log.open_deliveries(time.time() - DELIVERY_LOOKBACK, self.delivery_cursor, 5000)
        self.delivery_cursor = rows[-1]["id"] if len(rows) == 5000 else 0
        updates = []
        for row in rows:
            status = self.delivery.delivery_of(row["message_sid"]) or row["delivery"]
            replied = self.delivery.replied_since(row["address"], float(row["sent_at"]))
            opted_out = replied and self.customers.is_opted_out(row["address"])
            if status != row["delivery"] or replied != bool(row["replied"]) or opted_out:
                updates.append((status, int(replied), int(opted_out), row["id"]))
        self.log.update_deliveries(updates)


def _about_seconds_of_sending(rows: list[dict[str, Any]], seconds: float) -> list[dict[str, Any]]:
    """The first rows whose sending (1/rate each) adds up to `seconds` (at least one row)."""
    total = 0.0
    for count, row in enumerate(rows, start=1):
        total += 1.0 / float(row["rate"])
        if total >= seconds:
            return rows[:count]
    return rows


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


async def serve(settings: SchedulerSettings, declared: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    delivery = WhatsAppDelivery.configured(settings.db, declared)
    clock = Clock.starting(declared.proactive.clock_start)
    scheduler = Scheduler(settings, delivery, clock, QuietHours.parse(declared.proactive.quiet_hours))
    logger.info("campaign scheduler %s on %s", scheduler.holder, make_url(url_of(settings.db)).render_as_string(hide_password=True))
    await scheduler.run(stop)


def main() -> None:
    argparse.ArgumentParser(description="The campaign scheduler (one per database; a second one waits)").parse_args()
    try:
        declared = get_settings()  # every setting, read and checked once, at start
    except SettingsError as error:
        sys.exit(f"campaign scheduler: {error}")
    logging.basicConfig(level=declared.proactive.log_level, format="campaigns %(levelname)s %(message)s")
    try:
        asyncio.run(serve(SchedulerSettings.configured(declared), declared))
    except SecretError as error:
        sys.exit(f"campaign scheduler: {error}")


if __name__ == "__main__":
    main()
