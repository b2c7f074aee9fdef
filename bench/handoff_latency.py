"""Handoff latency benchmark: how fast a handoff reaches an open inbox, and an agent's reply the customer.

Real processes: support app (inbox), Rasa (web chat + WhatsApp channels), action server and
fake Twilio. An agent session listens to the inbox's live feed (/inbox/api/stream, the same
Server-Sent Events the inbox page uses). For each customer:

1. trigger → inbox: from sending "I want to talk to a person" (web: a socket.io message on the
   web chat channel; WhatsApp: an inbound webhook through fake Twilio) until the handoff is in
   a `queue` event of the live feed;
2. reply → customer: from the agent's POST /inbox/api/handoffs/{id}/reply until the text
   arrives (web: `bot_uttered` on the customer's socket; WhatsApp: in fake Twilio's inbox).
   The agent replies once Rasa has finished the customer's turn (the queue message sent, the
   tracker saved): a handoff shows in the inbox while Rasa is still finishing that turn, and
   Rasa's conversation lock makes a reply wait for it (up to ~1 s here), which an agent who
   reads the card before typing never sees.

    .venv/bin/python bench/handoff_latency.py [--customers 20]
"""

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.webchat_token import issue_token  # noqa: E402
from tests.helpers.servers import AUTH_TOKEN, Servers, running_servers  # noqa: E402

ASK_PERSON = "bir temsilciyle görüşmek istiyorum"
QUEUE_MESSAGE = "Sırada"  # utter_handoff_connecting (TR)
STAFF_PASSWORD = "demo-staff"
TIMEOUT = 30.0
WARM_UP = 2


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms (n={len(ordered)})"


class LiveFeed:
    """An agent's inbox live feed in a thread: when each sender's handoff first appeared, and its id."""

    def __init__(self, session: requests.Session, url: str) -> None:
        self.session, self.url = session, url
        self.seen: dict[str, tuple[float, int]] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.is_set():  # the server ends each stream after a while; reconnect
            try:
                self._listen()
            except requests.RequestException:
                if self.stopped.is_set():
                    return  # the servers are going down at the end of the run
                raise

    def _listen(self) -> None:
        with self.session.get(self.url, stream=True, timeout=(5, 60)) as response:
            response.raise_for_status()
            name = ""
            for line in response.iter_lines(decode_unicode=True):
                if self.stopped.is_set():
                    return
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: ") and name == "queue":
                    now = time.perf_counter()
                    with self.lock:
                        for handoff in json.loads(line[len("data: ") :])["handoffs"]:
                            self.seen.setdefault(handoff["sender_id"], (now, int(handoff["id"])))

    def wait(self, sender_id: str) -> tuple[float, int]:
        deadline = time.perf_counter() + TIMEOUT
        while time.perf_counter() < deadline:
            with self.lock:
                if sender_id in self.seen:
                    return self.seen[sender_id]
            time.sleep(0.002)
        raise TimeoutError(f"{sender_id} never appeared in the inbox feed")


class Agent:
    """A logged-in agent calling the inbox API."""

    def __init__(self, servers: Servers, login: str = "agent1") -> None:
        self.base = servers.support_url
        self.session = requests.Session()
        page = self.session.get(f"{self.base}/staff/login", timeout=10).text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        response = self.session.post(
            f"{self.base}/staff/login",
            timeout=10,
            allow_redirects=False,
            data={"login": login, "password": STAFF_PASSWORD, "csrf": token, "next": "/inbox"},
        )
        if response.status_code != 303:
            raise SystemExit(f"staff login as {login} failed: HTTP {response.status_code}")
        self.session.headers["X-CSRF-Token"] = token

    def post(self, handoff_id: int, action: str, body: dict[str, Any] | None = None) -> None:
        response = self.session.post(f"{self.base}/inbox/api/handoffs/{handoff_id}/{action}", json=body, timeout=15)
        if response.status_code != 200:
            raise SystemExit(f"{action} of handoff {handoff_id} failed: HTTP {response.status_code} {response.text}")


async def web_customer(servers: Servers, feed: LiveFeed, agent: Agent, number: int) -> tuple[float, float]:
    """One web chat customer: (trigger → inbox, reply → socket) in milliseconds."""
    sub = f"anon-bench-{number}-{int(time.time())}"
    received: asyncio.Queue[str] = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False)

    @client.on("bot_uttered")
    async def on_bot(data: Any) -> None:
        await received.put(str((data or {}).get("text") or ""))

    await client.connect(
        servers.rasa_url,
        auth={"token": issue_token(sub, servers.webchat_secret, 900)},
        transports=["websocket"],
        headers={"Origin": servers.support_url},
        wait_timeout=10,
    )
    try:
        started = time.perf_counter()
        await client.emit("user_uttered", {"message": ASK_PERSON})
        appeared, handoff_id = await asyncio.to_thread(feed.wait, f"web:{sub}")
        to_inbox = (appeared - started) * 1000
        while QUEUE_MESSAGE not in await asyncio.wait_for(received.get(), TIMEOUT):
            pass
        await asyncio.to_thread(wait, lambda: turn_finished(servers, f"web:{sub}"), f"the end of web:{sub}'s turn")
        await asyncio.to_thread(agent.post, handoff_id, "claim")
        text = f"Merhaba, ben temsilciniz ({number})."
        started = time.perf_counter()
        await asyncio.to_thread(agent.post, handoff_id, "reply", {"text": text})
        while await asyncio.wait_for(received.get(), TIMEOUT) != text:
            pass
        to_customer = (time.perf_counter() - started) * 1000
        await asyncio.to_thread(agent.post, handoff_id, "close")
        return to_inbox, to_customer
    finally:
        await client.disconnect()


def turn_finished(servers: Servers, sender_id: str) -> bool:
    """Rasa saved the turn: the tracker ends listening for the customer."""
    url = f"{servers.rasa_url}/conversations/{urllib.parse.quote(sender_id, safe=':+')}/tracker"
    events = requests.get(url, params={"token": AUTH_TOKEN}, timeout=10).json()["events"]
    return bool(events) and events[-1].get("event") == "action" and events[-1].get("name") == "action_listen"


def wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.perf_counter() + TIMEOUT
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)


def whatsapp_customer(servers: Servers, feed: LiveFeed, agent: Agent, number: int) -> tuple[float, float]:
    """One WhatsApp customer through fake Twilio: (trigger → inbox, reply → fake Twilio inbox) in ms."""
    phone = f"+90555{int(time.time()) % 10000:04d}{number:03d}"
    started = time.perf_counter()
    response = requests.post(
        f"{servers.fake_url}/_fake/inbound", json={"from": phone, "body": ASK_PERSON, "profile_name": "Bench"}, timeout=10
    )
    response.raise_for_status()
    appeared, handoff_id = feed.wait(f"whatsapp:{phone}")
    to_inbox = (appeared - started) * 1000
    query = urllib.parse.urlencode({"to": f"whatsapp:{phone}", "direction": "outbound-api"})

    def sent(text: str) -> bool:
        messages = requests.get(f"{servers.fake_url}/_fake/messages?{query}", timeout=10).json()["messages"]
        return any(text in (message.get("body") or "") for message in messages)

    wait(lambda: sent(QUEUE_MESSAGE), f"the queue message to {phone}")
    wait(lambda: turn_finished(servers, f"whatsapp:{phone}"), f"the end of whatsapp:{phone}'s turn")
    agent.post(handoff_id, "claim")
    text = f"Merhaba, ben temsilciniz ({number})."
    started = time.perf_counter()
    agent.post(handoff_id, "reply", {"text": text})
    wait(lambda: sent(text), f"the reply to {phone} in fake Twilio's inbox")
    to_customer = (time.perf_counter() - started) * 1000
    agent.post(handoff_id, "close")
    return to_inbox, to_customer


def run(customers: int = 20) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as state, running_servers(Path(state), fake_twilio=True, support_app=True) as servers:
        agent = Agent(servers)
        feed = LiveFeed(agent.session, f"{servers.support_url}/inbox/api/stream")
        feed.thread.start()
        try:
            web = [asyncio.run(web_customer(servers, feed, agent, number)) for number in range(customers + WARM_UP)][WARM_UP:]
            whatsapp = [whatsapp_customer(servers, feed, agent, number) for number in range(customers + WARM_UP)][WARM_UP:]
        finally:
            feed.stopped.set()
    return [
        ("Handoff → open inbox (live feed), web chat customer", percentiles([sample[0] for sample in web])),
        ("Handoff → open inbox (live feed), WhatsApp customer", percentiles([sample[0] for sample in whatsapp])),
        ("Agent reply → customer's web socket", percentiles([sample[1] for sample in web])),
        ("Agent reply → fake Twilio inbox (WhatsApp)", percentiles([sample[1] for sample in whatsapp])),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20, help=f"customers per channel (after {WARM_UP} warm-up ones)")
    args = parser.parse_args()
    print("| benchmark | result |\n|---|---|", flush=True)
    for name, result in run(args.customers):
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
