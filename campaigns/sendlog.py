"""The scheduler's side of the send log: the lease that lets only one scheduler send, claiming
due rows (committed as `sending` before any provider call), recording results, and the rows
left in doubt by a crash."""

import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from campaigns.store import ACTIVE, CampaignStore
from storage.database import Connection, transaction

LEASE = "campaigns"


class LeaseLost(Exception):
    """Another scheduler holds the lease: stop sending."""


class SendLog:
    def __init__(self, store: CampaignStore) -> None:
        self.store = store  # creates the tables
        self.url, self.path = store.url, store.path

    def _transaction(self, write: bool = False) -> AbstractContextManager[Connection]:
        return transaction(self.url, write)

    # The lease: one row; whoever holds an unexpired lease is the only sender. Taking it, renewing it and every
    # claim under it lock that row (SQLite: the database's write lock; PostgreSQL: SELECT … FOR UPDATE), so a
    # scheduler taking over waits for the claim in progress and a claim never runs on an expired lease.

    def hold_lease(self, holder: str, ttl: float) -> tuple[bool, float, str]:
        """Take or renew the lease; returns (held, expires_at, current holder)."""
        now = time.time()
        with self._transaction(write=True) as connection:
            connection.execute(
                "INSERT INTO scheduler_lease (name, holder, expires_at, renewed_at) VALUES (?, ?, 0, 0) ON CONFLICT DO NOTHING",
                (LEASE, holder),
            )
            connection.execute("SELECT holder FROM scheduler_lease WHERE name = ?" + connection.for_update(), (LEASE,))
            connection.execute(
                "UPDATE scheduler_lease SET holder = ?, expires_at = ?, renewed_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)",
                (holder, now + ttl, now, LEASE, holder, now),
            )
            row = connection.execute("SELECT holder, expires_at FROM scheduler_lease WHERE name = ?", (LEASE,)).fetchone()
        assert row is not None  # inserted above when missing
        return row["holder"] == holder, float(row["expires_at"]), str(row["holder"])

    def release_lease(self, holder: str) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE scheduler_lease SET expires_at = 0 WHERE name = ? AND holder = ?", (LEASE, holder))

    @staticmethod
    def _check_lease(connection: Connection, holder: str) -> None:
        row = connection.execute(
            "SELECT holder, expires_at FROM scheduler_lease WHERE name = ?" + connection.for_update(), (LEASE,)
        ).fetchone()
        if row is None or row["holder"] != holder or row["expires_at"] <= time.time():
            raise LeaseLost(f"lease held by {row['holder'] if row else 'nobody'}")

    # due rows

    def due(self, now: float, limit: int) -> list[dict[str, Any]]:
        """Pending rows whose time has come, of campaigns that may send, oldest first."""
        marks = ",".join("?" * len(ACTIVE))
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT r.id, r.campaign_id, r.address, r.customer_id, r.name, r.timezone, r.text, r.due_at, "
                "c.purpose, c.channel, c.quiet_hours, c.rate, c.template_sid "
                "FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id "
                f"WHERE r.state = 'pending' AND r.due_at <= ? AND c.status IN ({marks}) ORDER BY r.due_at, r.id LIMIT ?",
                (now, *ACTIVE, limit),
            ).fetchall()
        return [dict(row) for row in rows]

    def claim(self, holder: str, send: Iterable[int], skip: dict[int, str], defer: dict[int, float]) -> list[int]:
        """In one transaction, under the lease: rows to send become `sending` (committed before
        any provider call), skipped rows get their reason, deferred rows a later time. Returns the
        ids this scheduler now owns (a row changed meanwhile, e.g. canceled, is left alone)."""
        now = time.time()
        claimed = []
        with self._transaction(write=True) as connection:
            self._check_lease(connection, holder)
            for row_id, reason in skip.items():
                connection.execute(
                    "UPDATE campaign_recipients SET state = 'skipped', skip_reason = ? WHERE id = ? AND state = 'pending'", (reason, row_id)
                )
            for row_id, due in defer.items():
                connection.execute(
                    "UPDATE campaign_recipients SET due_at = ?, deferred = 1 WHERE id = ? AND state = 'pending'", (due, row_id)
                )
            for row_id in send:
                updated = connection.execute(
                    "UPDATE campaign_recipients SET state = 'sending', holder = ?, claimed_at = ? WHERE id = ? AND state = 'pending' "
                    f"AND campaign_id IN (SELECT id FROM campaigns WHERE status IN ({','.join('?' * len(ACTIVE))}))",
                    (holder, now, row_id, *ACTIVE),
                )
                if updated.rowcount == 1:
                    claimed.append(row_id)
            connection.execute(
                "UPDATE campaigns SET status = 'running', updated_at = ? WHERE status = 'scheduled' AND id IN "
                "(SELECT campaign_id FROM campaign_recipients WHERE state = 'sending' AND holder = ?)",
                (now, holder),
            )
        return claimed

    def record(self, results: list[dict[str, Any]]) -> None:
        """Results of provider calls: {"id", "sid"?, "kind"?, "error"?, "failed": bool}.
        A row with neither a sid nor a definite failure stays `sending` (in doubt)."""
        now = time.time()
        with self._transaction() as connection:
            for result in results:
                if result.get("sid") is not None:
                    connection.execute(
                        "UPDATE campaign_recipients SET state = 'sent', message_sid = ?, sent_kind = ?, sent_at = ?, "
                        "delivery = CASE WHEN delivery = '' THEN ? ELSE delivery END WHERE id = ? AND state = 'sending'",
                        (result.get("sid"), result.get("kind", ""), now, result.get("status", "queued"), result["id"]),
                    )
                elif result.get("failed"):
                    connection.execute(
                        "UPDATE campaign_recipients SET state = 'failed', error = ? WHERE id = ? AND state = 'sending'",
                        (str(result.get("error", ""))[:500], result["id"]),
                    )

    def store_web_notice(self, holder: str, row: dict[str, Any]) -> None:
        """A web message: the notice and the `sent` state in one transaction (nothing in doubt)."""
        now = time.time()
        with self._transaction(write=True) as connection:
            self._check_lease(connection, holder)
            connection.execute(
                "INSERT INTO campaign_web_notices (recipient_id, customer_id, text, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (row["id"], row["customer_id"], row["text"], now),
            )
            connection.execute(
                "UPDATE campaign_recipients SET state = 'sent', sent_kind = 'web', sent_at = ?, delivery = 'sent' "
                "WHERE id = ? AND state = 'sending'",
                (now, row["id"]),
            )

    # crash recovery

    def in_doubt(self, older_than: float) -> list[dict[str, Any]]:
        """Rows a scheduler committed as `sending` but never recorded: the provider may or may not have the message."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT r.*, c.channel FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id "
                "WHERE r.state = 'sending' AND r.claimed_at < ? ORDER BY r.id",
                (older_than,),
            ).fetchall()
        return [dict(row) for row in rows]

    def known_sids(self, sids: list[str]) -> set:
        if not sids:
            return set()
        marks = ",".join("?" * len(sids))
        with self._transaction() as connection:
            rows = connection.execute(f"SELECT message_sid FROM campaign_recipients WHERE message_sid IN ({marks})", sids).fetchall()
        return {row["message_sid"] for row in rows}

    def web_notice_exists(self, recipient_id: int) -> bool:
        with self._transaction() as connection:
            return connection.execute("SELECT 1 FROM campaign_web_notices WHERE recipient_id = ?", (recipient_id,)).fetchone() is not None

    def resolve(self, holder: str, row_id: int, found: bool, sid: str | None = None, kind: str = "") -> None:
        """A row in doubt: found at the provider (sent, with its sid if any) or not (pending again, to be sent)."""
        with self._transaction(write=True) as connection:
            self._check_lease(connection, holder)
            if found:
                connection.execute(
                    "UPDATE campaign_recipients SET state = 'sent', message_sid = ?, sent_kind = ?, "
                    "sent_at = coalesce(sent_at, claimed_at), delivery = CASE WHEN delivery = '' THEN 'queued' ELSE delivery END "
                    "WHERE id = ? AND state = 'sending'",
                    (sid, kind, row_id),
                )
            else:
                connection.execute(
                    "UPDATE campaign_recipients SET state = 'pending', holder = NULL, claimed_at = NULL WHERE id = ? AND state = 'sending'",
                    (row_id,),
                )

    def finish_campaigns(self) -> None:
        """Campaigns with nothing left to send are done."""
        with self._transaction() as connection:
            connection.execute(
                "UPDATE campaigns SET status = 'done', updated_at = ? WHERE status IN ('scheduled', 'running') AND recurrence = '' "
                "AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = campaigns.id AND r.state IN ('pending', 'sending'))",
                (time.time(),),
            )

    # delivery statuses, replies and opt-outs (read from the WhatsApp channel's state)

    def open_deliveries(self, since: float, after_id: int, limit: int) -> list[dict[str, Any]]:
        """Sent WhatsApp rows (id > after_id) whose outcome may still change: status, reply, opt-out."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT id, address, message_sid, sent_at, delivery, replied FROM campaign_recipients "
                "WHERE state = 'sent' AND message_sid IS NOT NULL AND sent_at >= ? AND id > ? "
                "AND (delivery NOT IN ('read', 'failed', 'undelivered') OR replied = 0) ORDER BY id LIMIT ?",
                (since, after_id, limit),
            ).fetchall()
        return [dict(row) for row in rows]

    def update_deliveries(self, updates: list[tuple[str, int, int, int]]) -> None:
        """(delivery, replied, opted_out_after, id) for each changed row."""
        with self._transaction() as connection:
            connection.executemany(
                f"UPDATE campaign_recipients SET delivery = ?, replied = {connection.greatest('replied', '?')}, "
                f"opted_out_after = {connection.greatest('opted_out_after', '?')} WHERE id = ?",
                updates,
            )
