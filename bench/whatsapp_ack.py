"""WhatsApp webhook benchmark: acknowledgement latency with concurrent senders, and messages
handled per second with none lost or duplicated.

Real Rasa + action server + fake_twilio (which also fires the four status callbacks of every
reply at Rasa). Each of the senders posts signed webhooks one after another, as fast as they
are acknowledged, and re-delivers every tenth one (as Twilio does after a timeout). Afterwards
every sender's tracker must hold each MessageSid exactly once, in the order sent.

    .venv/bin/python bench/whatsapp_ack.py [--senders 20] [--messages 15]
"""

import argparse
import asyncio
import json
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.servers import TWILIO_AUTH_TOKEN, Servers  # noqa: E402

WEBHOOK = "/webhooks/whatsapp/webhook"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]


def load_queries(count: int) -> list[str]:
    lines = (ROOT / "bot/data/kb_eval/queries.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["query"] for line in lines if line.strip()]
    return [
        texts[number % len(texts)] if number % 2 else ["merhaba", "hello", "teşekkürler", "thanks"][number % 4] for number in range(count)
    ]


async def sender(
    session: aiohttp.ClientSession, url: str, public_url: str, address: str, texts: list[str]
) -> tuple[list[float], list[str]]:
    validator = RequestValidator(TWILIO_AUTH_TOKEN)
    latencies, sids = [], []
    for number, text in enumerate(texts):
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": address,
            "To": "whatsapp:+14155238886",
            "Body": text,
            "NumMedia": "0",
            "ProfileName": "Bench",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(public_url + WEBHOOK, params)}
        for _ in range(2 if number % 10 == 9 else 1):  # every tenth webhook is delivered twice
            started = time.perf_counter()
            async with session.post(url + WEBHOOK, data=params, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"webhook answered HTTP {response.status}")
            latencies.append((time.perf_counter() - started) * 1000)
        sids.append(params["MessageSid"])
    return latencies, sids


async def load(servers: Servers, senders: int, per_sender: int) -> tuple[list[float], dict[str, list[str]], float]:
    texts = load_queries(per_sender)
    addresses = [f"whatsapp:+9055590{number:05d}" for number in range(senders)]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        started = time.time()
        results = await asyncio.gather(*(sender(session, servers.rasa_url, servers.rasa_url, a, texts) for a in addresses))
    latencies = [value for result in results for value in result[0]]
    return latencies, {address: result[1] for address, result in zip(addresses, results, strict=True)}, started


def wait_until_handled(db: Path, expected: int, timeout: float) -> float:
    """The time the last webhook finished processing (handled_at in the channel's SQLite)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as connection:
            done, last = connection.execute("SELECT count(handled_at), max(handled_at) FROM whatsapp_inbound").fetchone()
        if done >= expected:
            return float(last)
        time.sleep(0.5)
    raise SystemExit(f"only {done} of {expected} messages handled after {timeout}s")


def check_trackers(servers: Servers, sent: dict[str, list[str]]) -> tuple[int, int, int]:
    """(lost, duplicated, conversations out of order) over every sender's tracker."""
    lost = duplicated = unordered = 0
    for address, sids in sent.items():
        tracker = servers.tracker(address)
        seen = [event["message_id"] for event in tracker["events"] if event["event"] == "user"]
        lost += len(set(sids) - set(seen))
        duplicated += len(seen) - len(set(seen))
        unordered += [sid for sid in seen if sid in sids] != sids
    return lost, duplicated, unordered


def handled_count(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM whatsapp_inbound").fetchone()[0])


def run(senders: int = 20, per_sender: int = 15) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as state:
        servers = Servers(Path(state))
        # This measures the pipeline, not the per-sender flood limit (connectors/rate_limit.py):
        # let every message of the run through, so "lost" means lost.
        servers.env["INBOUND_MESSAGES_BURST"] = str(per_sender + 10)
        try:
            servers.start_fake()
            servers.start_actions()
            servers.start_rasa()
            asyncio.run(load(servers, 2, 3))  # warm-up (model, action server, index)
            warm = handled_count(servers.state / "destek.sqlite3")
            latencies, sent, started = asyncio.run(load(servers, senders, per_sender))
            total = senders * per_sender
            finished = wait_until_handled(servers.state / "destek.sqlite3", warm + total, timeout=600)
            lost, duplicated, unordered = check_trackers(servers, sent)
        finally:
            servers.stop_rasa()
            servers.stop_actions()
            servers.stop_fake()
    rate = total / (finished - started)
    return [
        (
            f"WhatsApp webhook ack, {senders} concurrent senders (incl. 10 % re-deliveries)",
            f"p50 {statistics.median(latencies):.1f} ms, p95 {p95(latencies):.1f} ms (n={len(latencies)})",
        ),
        (
            "WhatsApp messages handled per second (FAQ + small talk, replies sent via fake Twilio)",
            f"{rate:.1f} msg/s; {total} messages, {lost} lost, {duplicated} duplicated, {unordered} conversations out of order",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--messages", type=int, default=15, help="messages per sender")
    args = parser.parse_args()
    print("| benchmark | result |\n|---|---|")
    for name, result in run(args.senders, args.messages):
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
