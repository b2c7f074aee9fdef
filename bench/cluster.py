"""Cluster benchmark (docs/cluster.md): WhatsApp messages handled per second and turn p95 with one
Rasa replica and with two behind nginx, in one run, and the per-turn cost of the cluster's
engines (PostgreSQL tracker store, Redis lock store, RabbitMQ broker) against `make run`'s
(SQLite, in-memory lock, no broker).

Messages: `senders` WhatsApp customers each post signed webhooks through nginx as fast as they
are acknowledged (every tenth twice, as Twilio re-delivers); handled per second = messages /
(last turn stored − first post). Turn p95: from Rasa's user event to the turn's last event
(the processing, without the wait in the queue). Every conversation is checked afterwards: each
MessageSid once, in order.

    .venv/bin/python bench/cluster.py [--senders 24] [--messages 10] [--turns 60]
"""

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import psycopg
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.cluster import Cluster, services_problem  # noqa: E402
from tests.helpers.servers import TWILIO_AUTH_TOKEN, UNLIMITED_RATE, running_servers  # noqa: E402

WEBHOOK = "/webhooks/whatsapp/webhook"
TEXTS = [
    "merhaba",
    "siparişim nerede?",
    "hello",
    "where is my refund",
    "teşekkürler",
    "how do I change my wifi password",
    "kargo ne zaman gelir",
    "thanks",
    "iade süresi ne kadar",
    "ok",
]


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]


async def customer(session: aiohttp.ClientSession, url: str, address: str, count: int) -> list[str]:
    validator = RequestValidator(TWILIO_AUTH_TOKEN)
    sids = []
    for number in range(count):
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": address,
            "To": "whatsapp:+14155238886",
            "Body": TEXTS[number % len(TEXTS)],
            "NumMedia": "0",
            "ProfileName": "Bench",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(url + WEBHOOK, params)}
        for _ in range(2 if number % 10 == 9 else 1):
            async with session.post(url + WEBHOOK, data=params, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"webhook answered HTTP {response.status}")
        sids.append(params["MessageSid"])
    return sids


def turns(cluster: Cluster) -> dict[str, list[tuple[str, float, float]]]:
    """Per conversation: (MessageSid, user event time, last event time of that turn)."""
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={cluster.database}") as connection:
        rows = connection.execute("SELECT sender_id, type_name, timestamp, data::json->>'message_id' FROM events ORDER BY id").fetchall()
    found: dict[str, list[tuple[str, float, float]]] = {}
    for sender, kind, stamp, sid in rows:
        conversation = found.setdefault(sender, [])
        if kind == "user":
            conversation.append((sid, stamp, stamp))
        elif conversation:
            conversation[-1] = (conversation[-1][0], conversation[-1][1], max(conversation[-1][2], stamp))
    return found


def whatsapp_load(replicas: int, senders: int, messages: int) -> tuple[str, float, float]:
    with (
        tempfile.TemporaryDirectory() as state,
        Cluster(Path(state), replicas=replicas, action_servers=replicas, env=UNLIMITED_RATE) as cluster,
    ):

        async def run(prefix: str, count: int, per_sender: int) -> dict[str, list[str]]:
            addresses = [f"whatsapp:+90{prefix}{number:07d}" for number in range(count)]
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                results = await asyncio.gather(*(customer(session, cluster.url, address, per_sender) for address in addresses))
            return dict(zip(addresses, results, strict=True))

        def wait(sent: dict[str, list[str]]) -> dict[str, list[tuple[str, float, float]]]:
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                found = turns(cluster)
                if all(len(found.get(address, [])) >= len(sids) for address, sids in sent.items()):
                    return found
                time.sleep(0.5)
            raise SystemExit("not every turn was stored within 15 minutes")

        wait(asyncio.run(run("539", 4, 3)))  # warm-up: models, action servers, connections
        started = time.time()
        sent = asyncio.run(run("538", senders, messages))
        found = wait(sent)
    measured = [turn for address in sent for turn in found[address]]
    wrong = sum([turn[0] for turn in found[address]] != sids for address, sids in sent.items())
    finished = max(turn[2] for turn in measured)
    rate = len(measured) / (finished - started)
    latency = p95([(end - begin) * 1000 for _, begin, end in measured])
    return f"{len(measured)} messages, {wrong} conversations lost/duplicated/out of order", rate, latency


def rest_turns(url: str, count: int) -> list[float]:
    """`count` REST turns of one sender, one after another: milliseconds each."""
    samples = []
    sender = "bench-" + secrets.token_hex(4)
    for number in range(count + 5):
        request = urllib.request.Request(
            url + "/webhooks/rest/webhook",
            method="POST",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"sender": sender, "message": TEXTS[number % len(TEXTS)]}).encode(),
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        if number >= 5:  # the first turns warm up
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def engines(count: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as state:
        with running_servers(Path(state), env=UNLIMITED_RATE) as servers:
            sqlite = rest_turns(servers.rasa_url, count)
    with tempfile.TemporaryDirectory() as state, Cluster(Path(state), replicas=1, action_servers=1, env=UNLIMITED_RATE) as cluster:
        postgres = rest_turns(cluster.replica_url(0), count)

    def summary(samples: list[float]) -> str:
        ordered = sorted(samples)
        return f"mean {sum(ordered) / len(ordered):.1f} ms, p50 {ordered[len(ordered) // 2]:.1f} ms, p95 {p95(ordered):.1f} ms (n={len(ordered)})"

    mean_gap = sum(postgres) / len(postgres) - sum(sqlite) / len(sqlite)
    return [
        ("REST turn, one sender, SQLite tracker + in-memory lock, no broker (make run)", summary(sqlite)),
        ("REST turn, one sender, PostgreSQL tracker + Redis lock + RabbitMQ broker (cluster profile)", summary(postgres)),
        ("per-turn cost of the cluster engines (difference of the means)", f"{mean_gap:+.1f} ms"),
    ]


def run(senders: int = 24, messages: int = 10, turns_count: int = 60) -> list[tuple[str, str]]:
    problem = services_problem()
    if problem:
        return [("cluster benchmark", f"skipped: {problem}")]
    rows = []
    results = {}
    for replicas in (1, 2):
        checked, rate, latency = whatsapp_load(replicas, senders, messages)
        results[replicas] = rate
        rows.append(
            (
                f"WhatsApp through nginx, {replicas} Rasa replica(s) + {replicas} action server(s), {senders} senders",
                f"{rate:.1f} msg/s, turn p95 {latency:.0f} ms; {checked}",
            )
        )
    rows.append(("two replicas / one", f"{results[2] / results[1]:.2f}×"))
    rows.extend(engines(turns_count))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=24)
    parser.add_argument("--messages", type=int, default=10, help="messages per sender")
    parser.add_argument("--turns", type=int, default=60, help="REST turns per tracker store")
    args = parser.parse_args()
    print("| benchmark | result |\n|---|---|")
    for name, result in run(args.senders, args.messages, args.turns):
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
