"""How a turn's cost grows with the length of the conversation: Destek against a stock Rasa bot.

The stock bot is what `rasa init --no-prompt` writes and trains (Rasa 3.6 from .venv-rasa,
offline), with its "are you a bot?" rule calling one trivial custom action (`action_hello_world`,
the commented-out example of the template: utters one line) served by `rasa run actions`, and
the same SQLite tracker store as Destek. It is built once into var/turn-growth/stock-bot and
reused while its inputs are unchanged.

Destek runs as in the integration tests (tests/servers.py: Rasa, action server, fake Twilio,
a throwaway state folder). Both bots get the same client; every turn sends one request to each,
alternating which goes first, so load on this shared machine hits both alike. Destek's message
is a FAQ that action_answer_from_kb answers (chosen at start from bot/data/kb_eval, each checked
on a fresh conversation); the stock bot's is "are you a bot?". The FAQ texts cycle with period
50, so every block of 20 turns asks the same questions.

WhatsApp: one customer per conversation talks through the signed webhook path in the same loop
(the same FAQ texts). In a measured block each of its messages is acknowledged with nothing else in
flight (InFlight.settle: every earlier message handled, every reply at its last status callback,
Rasa + action server + fake Twilio idle), then handled; right before or after it (alternating), a
new customer's first message is timed the same way: the control, the same path at message 1 under
the load of that moment. Per block: ack p50/p95 of both, the long conversations' p95 against the
first block's (the issue's ±20 % target) and against the same block's control (load drift cancels).
Outside the blocks the conversations only grow (each message handled before the next, no timing).

    PYTHONPATH=. .venv/bin/python bench/turn_growth.py [--turns 220] [--conversations 3]
    PYTHONPATH=. .venv/bin/python bench/turn_growth.py --turns 70 --conversations 1   # quick
    PYTHONPATH=. .venv/bin/python bench/turn_growth.py --only whatsapp [--turns 200] [--conversations 3]
    PYTHONPATH=. .venv/bin/python bench/turn_growth.py --only rest    # the same as --no-whatsapp

`--only whatsapp` starts no stock bot and sends no REST turns: the long customers' conversations
grow to --turns (default 200) through WhatsApp alone, timed in 5 blocks of 20 turns spread from
turn 1 to the last (1–20, 46–65, 91–110, 136–155, 181–200).

Prints p50/p95 per block of turns (1-20, 51-70, 101-120, 151-170, 201-220) and the ratio
Destek / stock, and the slope (ms per earlier turn) of each; docs/turn-cost.md reads it.
Also the CPU time each turn cost the bot's server processes (Rasa + action server, from
/proc, mean per block): on a shared, loaded machine wall times mostly measure waiting for a
core, CPU time measures the work.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.servers import TWILIO_AUTH_TOKEN, UNLIMITED_RATE, Servers, free_port, http, wait_until  # noqa: E402

RASA_VENV = ROOT / ".venv-rasa" / "bin"
STOCK_DIR = ROOT / "var" / "turn-growth" / "stock-bot"
STOCK_TEXT = "are you a bot?"
BLOCK_STARTS = (1, 51, 101, 151, 201)
BLOCK_SIZE = 20
FAQ_PERIOD = 50
WEBHOOK = "/webhooks/whatsapp/webhook"
# An acknowledgement is timed when nothing else is in flight (InFlight.settle): no unhandled message, every reply
# at its last status, and Rasa + action server + fake Twilio together under QUIET_CPU_MS of CPU in QUIET_WINDOW s.
QUIET_WINDOW = 0.03
QUIET_CPU_MS = 1.5
SETTLE_TIMEOUT = 3.0
STATUS_DELAY = 0.01  # s between fake Twilio's status callbacks (the tests' default 0.05 only makes settling slower)
# Untimed WhatsApp messages before the first block: with 3, and still with 30 on a quiet machine (ack p50
# 3.9 ms at turns 1–20, 1.5 ms from turn 46 on, new customers alike), the first block was the run's slowest
# (the server's first few hundred requests are slower), which reads as the later blocks being faster.
WARM_UP_MESSAGES = 200
ACK_BLOCKS = 5  # blocks of the WhatsApp-only run, evenly spread from turn 1 to --turns

# The changes to the `rasa init` template: one rule calls one trivial custom action.
STOCK_ACTION = """from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionHelloWorld(Action):
    def name(self) -> Text:
        return "action_hello_world"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text="Hello World!")
        return []
"""
STOCK_ENDPOINTS = """action_endpoint:
  url: ${ACTION_SERVER_URL}
tracker_store:
  type: SQL
  dialect: sqlite
  db: ${RASA_TRACKER_DB}
"""


def stock_env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1", **extra}


def build_stock_bot(folder: Path = STOCK_DIR) -> Path:
    """The trained stock model (`rasa init --no-prompt`, then the custom-action rule), built once."""
    model = folder / "models" / "stock.tar.gz"
    if model.exists():
        return model
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    env = stock_env({})
    log = open(folder.parent / "build.log", "ab")
    # rasa init trains the template bot too; its model is replaced by the one below.
    subprocess.run(
        [str(RASA_VENV / "rasa"), "init", "--no-prompt", "--init-dir", str(folder)],
        cwd=folder,
        env=env,
        check=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rules = (folder / "data" / "rules.yml").read_text(encoding="utf-8")
    if "action: utter_iamabot" not in rules:
        raise SystemExit("the rasa init template changed: no utter_iamabot rule to point at the custom action")
    (folder / "data" / "rules.yml").write_text(rules.replace("action: utter_iamabot", "action: action_hello_world"), encoding="utf-8")
    with (folder / "domain.yml").open("a", encoding="utf-8") as domain:
        domain.write("\nactions:\n  - action_hello_world\n")
    (folder / "actions" / "actions.py").write_text(STOCK_ACTION, encoding="utf-8")
    (folder / "endpoints.yml").write_text(STOCK_ENDPOINTS, encoding="utf-8")
    for old in (folder / "models").glob("*.tar.gz"):
        old.unlink()
    subprocess.run(
        [str(RASA_VENV / "rasa"), "train", "--out", "models", "--fixed-model-name", "stock"],
        cwd=folder,
        env=env,
        check=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return model


class StockBot:
    """`rasa run` and `rasa run actions` of the stock bot, on free loopback ports."""

    def __init__(self, folder: Path, state: Path) -> None:
        self.folder = folder
        self.state = state
        self.port = free_port()
        self.action_port = free_port()
        self.env = stock_env(
            {
                "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
                "RASA_TRACKER_DB": str(state / "stock-tracker.sqlite3"),
            }
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.state / "stock.log", "ab")
        actions = subprocess.Popen(
            [str(RASA_VENV / "rasa"), "run", "actions", "--port", str(self.action_port)],
            cwd=self.folder,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(actions)
        wait_until(f"http://127.0.0.1:{self.action_port}/health", 120, actions)
        rasa = subprocess.Popen(
            [
                str(RASA_VENV / "rasa"),
                "run",
                "--model",
                "models/stock.tar.gz",
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--port",
                str(self.port),
                "--interface",
                "127.0.0.1",
            ],
            cwd=self.folder,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(rasa)
        wait_until(f"{self.url}/webhooks/rest/", 600, rasa)  # loading TensorFlow on a loaded machine

    def stop(self) -> None:
        for process in reversed(self.processes):
            Servers._stop(process)


def usage_ms(pids: Sequence[int]) -> tuple[float, float]:
    """(CPU time, time runnable but waiting for a core) used so far by every thread of these
    processes and their children, in ms, from /proc/<pid>/task/<tid>/schedstat (nanoseconds;
    /proc/<pid>/stat counts 10 ms ticks, too coarse for one turn)."""
    cpu, waited, pending, seen = 0, 0, list(pids), set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                running, waiting, _ = (task / "schedstat").read_text().split()
                cpu, waited = cpu + int(running), waited + int(waiting)
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return cpu / 1e6, waited / 1e6


def say(url: str, sender: str, text: str) -> tuple[float, list]:
    """One REST turn: (milliseconds, replies)."""
    started = time.perf_counter()
    status, replies = http("POST", f"{url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise SystemExit(f"{url} answered HTTP {status}")
    return elapsed, list(replies or [])


def answered_faqs(servers: Servers, count: int) -> list[str]:
    """Questions action_answer_from_kb answers confidently, each checked on a fresh conversation
    (an unsure answer twice in a row would hand the conversation to a person)."""
    lines = (ROOT / "bot/data/kb_eval/queries.jsonl").read_text(encoding="utf-8").splitlines()
    candidates = [json.loads(line) for line in lines if line.strip()]
    chosen: list[str] = []
    for number, candidate in enumerate(c for c in candidates if c.get("expected_id")):
        sender = f"calibrate-{number}"
        servers.say(sender, candidate["query"])
        events = servers.tracker(sender)["events"]
        actions = [e.get("name") for e in events if e.get("event") == "action"]
        answered = [e.get("value") for e in events if e.get("event") == "slot" and e.get("name") == "kb_answered"]
        if "action_answer_from_kb" in actions and answered == [True] and "action_request_human" not in actions:
            chosen.append(candidate["query"])
            if len(chosen) == count:
                return chosen
    raise SystemExit(f"only {len(chosen)} KB questions are answered confidently; need {count}")


class WhatsAppCustomer:
    """One customer on the signed webhook path; each message is acknowledged, then handled."""

    def __init__(self, servers: Servers, address: str, watch: "InFlight") -> None:
        self.servers = servers
        self.address = address
        self.validator = RequestValidator(TWILIO_AUTH_TOKEN)
        self.watch = watch

    def send(self, text: str) -> tuple[float, float]:
        """(acknowledgement ms, ms until the message was handled)."""
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": self.address,
            "To": "whatsapp:+14155238886",
            "Body": text,
            "NumMedia": "0",
            "ProfileName": "Bench",
        }
        url = self.servers.rasa_url + WEBHOOK
        body = urllib.parse.urlencode(params).encode()
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params), "Content-Type": "application/x-www-form-urlencoded"}
        started = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout=30) as response:
            response.read()
        ack = (time.perf_counter() - started) * 1000
        self.watch.wait_handled(params["MessageSid"])
        return ack, (time.perf_counter() - started) * 1000


class InFlight:
    """What the Destek processes still have to do: unhandled webhooks, replies whose status callbacks have not
    all arrived (fake Twilio posts queued → sent → delivered → read, `status_delay` apart), CPU being spent.
    An acknowledgement is timed only once all of it is done (`settle`): otherwise a callback or the previous
    message's handling competes with it for the Rasa process, which measures the timing, not the conversation."""

    def __init__(self, servers: Servers, pids: Sequence[int]) -> None:
        # One connection, autocommit: each SELECT reads the newest committed state (WAL: never blocks a writer).
        self.db = sqlite3.connect(servers.state / "destek.sqlite3", isolation_level=None, check_same_thread=False)
        self.pids = list(pids)
        self.waits: list[float] = []  # ms each settle took
        self.unsettled = 0  # settles that gave up (SETTLE_TIMEOUT)
        self.idle_cpu = 0.0  # ms of CPU the processes use in QUIET_WINDOW when nothing happens (calibrate)

    def wait_handled(self, sid: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.db.execute("SELECT handled_at FROM whatsapp_inbound WHERE message_sid = ?", (sid,)).fetchone()
            if row and row[0] is not None:
                return
            time.sleep(0.003)
        raise SystemExit(f"WhatsApp message {sid} not handled within {timeout:.0f} s")

    def pending(self) -> int:
        unhandled = self.db.execute("SELECT count(*) FROM whatsapp_inbound WHERE handled_at IS NULL").fetchone()[0]
        # A reply is done at its last status: read (rank 5), or a failure (rank 6).
        unfinished = self.db.execute("SELECT count(*) FROM whatsapp_outbound WHERE rank < 5").fetchone()[0]
        return int(unhandled) + int(unfinished)

    def calibrate(self) -> None:
        """The processes' CPU in QUIET_WINDOW with nothing in flight (median of 15 windows): their own idle ticking."""
        deadline = time.monotonic() + 30
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        windows = []
        for _ in range(15):
            before, _ = usage_ms(self.pids)
            time.sleep(QUIET_WINDOW)
            windows.append(usage_ms(self.pids)[0] - before)
        self.idle_cpu = statistics.median(windows)

    def settle(self) -> None:
        """Wait until nothing is in flight and the processes used < QUIET_CPU_MS of CPU over QUIET_WINDOW s
        (above their idle ticking)."""
        started = time.monotonic()
        while time.monotonic() - started < SETTLE_TIMEOUT:
            if self.pending():
                time.sleep(0.003)
                continue
            before, _ = usage_ms(self.pids)
            time.sleep(QUIET_WINDOW)
            after, _ = usage_ms(self.pids)
            if after - before < self.idle_cpu + QUIET_CPU_MS and not self.pending():
                self.waits.append((time.monotonic() - started) * 1000)
                return
        self.unsettled += 1
        self.waits.append((time.monotonic() - started) * 1000)


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def slope(per_turn: dict[int, list[float]], center: Callable[[list[float]], float] = statistics.median) -> float:
    """Least-squares ms per earlier turn over the median (or `center`) of each turn."""
    points = [(turn, center(values)) for turn, values in sorted(per_turn.items())]
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)


def blocks(turns: int) -> list[tuple[int, int]]:
    """The REST run's blocks (the same turns at any length: 1–20, 51–70, … up to --turns)."""
    return [(start, start + BLOCK_SIZE - 1) for start in BLOCK_STARTS if start + BLOCK_SIZE - 1 <= turns]


def ack_blocks(turns: int) -> list[tuple[int, int]]:
    """The WhatsApp-only run's blocks: ACK_BLOCKS blocks of BLOCK_SIZE turns, the first at turn 1, the last
    ending at --turns (1–20, 46–65, 91–110, 136–155, 181–200 for 200 turns)."""
    span = turns - BLOCK_SIZE
    starts = sorted({1 + round(index * span / (ACK_BLOCKS - 1)) for index in range(ACK_BLOCKS)})
    return [(start, start + BLOCK_SIZE - 1) for start in starts]


# Series of samples, each {turn: [one value per conversation]} (conversation c is index c), except
# "ack_fresh", one new WhatsApp customer's first message per conversation and turn of a block (the control).
SERIES = ("destek", "stock", "destek_cpu", "stock_cpu", "destek_wait", "stock_wait", "ack", "handled", "ack_fresh")
Samples = dict[str, dict[int, list[float]]]


def measure(turns: int, conversations: int, parts: set[str], state: Path, stock_model: Path | None) -> Samples:
    """Samples per series and turn number (1-based). `parts`: "rest" (Destek against the stock bot),
    "whatsapp" (acknowledgements of long conversations and of new customers)."""
    rest, whatsapp = "rest" in parts, "whatsapp" in parts
    servers = Servers(state)
    servers.env.update(UNLIMITED_RATE)  # the bench sends far more than a customer may
    stock = StockBot(stock_model.parent.parent, state) if rest and stock_model else None
    series: Samples = {name: {} for name in SERIES}
    timed = {turn for first, last in (blocks(turns) if rest else ack_blocks(turns)) for turn in range(first, last + 1)}
    try:
        if whatsapp:
            servers.start_fake(status_delay=STATUS_DELAY)
        servers.start_actions()
        servers.start_rasa()
        if stock:
            stock.start()
        faqs = answered_faqs(servers, FAQ_PERIOD)
        run = secrets.token_hex(3)
        for number in range(5):  # warm-up (not measured)
            say(servers.rasa_url, f"warm-{run}-{number}", faqs[number])
            if stock:
                say(stock.url, f"warm-{run}-{number}", STOCK_TEXT)
        pids = {"destek": [p.pid for p in (servers.rasa, servers.actions) if p], "stock": [p.pid for p in stock.processes] if stock else []}
        watch = InFlight(servers, [*pids["destek"], *([servers.fake.pid] if servers.fake else [])]) if whatsapp else None
        prefix = "whatsapp:+905559"
        customers = (
            [WhatsAppCustomer(servers, f"{prefix}0{conversation:05d}", watch) for conversation in range(conversations)] if watch else []
        )
        if watch:  # warm-up of the webhook path, new and returning customers (not measured)
            for number in range(WARM_UP_MESSAGES):
                WhatsAppCustomer(servers, f"{prefix}2{number % 4:05d}", watch).send(faqs[number % FAQ_PERIOD])
            watch.calibrate()
        fresh_numbers = iter(range(10**5))
        for turn in range(1, turns + 1):
            text = faqs[(turn - 1) % FAQ_PERIOD]
            for conversation in range(conversations):
                if stock:
                    sender = f"growth-{run}-{conversation}"
                    pair = [("destek", servers.rasa_url, text), ("stock", stock.url, STOCK_TEXT)]
                    if watch:
                        watch.settle()  # the last WhatsApp replies' callbacks are not this turn's CPU
                    for name, url, message in pair if (turn + conversation) % 2 else reversed(pair):
                        cpu_before, wait_before = usage_ms(pids[name])
                        elapsed, replies = say(url, sender, message)
                        cpu_after, wait_after = usage_ms(pids[name])
                        if not replies:
                            raise SystemExit(f"{name} gave no reply at turn {turn}")
                        series[name].setdefault(turn, []).append(elapsed)
                        series[name + "_cpu"].setdefault(turn, []).append(cpu_after - cpu_before)
                        series[name + "_wait"].setdefault(turn, []).append(wait_after - wait_before)
                if not watch:
                    continue
                if turn not in timed:  # the conversation only grows: no control, no settling
                    customers[conversation].send(text)
                    continue
                fresh = WhatsAppCustomer(servers, f"{prefix}1{next(fresh_numbers):05d}", watch)
                # The long conversation's customer and a new one (the control: the same path at message 1, at
                # the same moment), alternating which goes first; each timed with nothing else in flight.
                for customer in [customers[conversation], fresh][:: 1 if (turn + conversation) % 2 else -1]:
                    watch.settle()
                    ack, handled = customer.send(text)
                    if customer is fresh:
                        series["ack_fresh"].setdefault(turn, []).append(ack)
                    else:
                        series["ack"].setdefault(turn, []).append(ack)
                        series["handled"].setdefault(turn, []).append(handled)
        if rest:
            check_conversations(servers, [f"growth-{run}-{c}" for c in range(conversations)], turns)
        if watch:
            check_conversations(servers, [customer.address for customer in customers], turns, fatal=False)
            series["settle_ms"] = {0: watch.waits}
            series["unsettled"] = {0: [float(watch.unsettled)]}
            series["idle_cpu"] = {0: [watch.idle_cpu]}
    finally:
        if stock:
            stock.stop()
        servers.stop_rasa()
        servers.stop_actions()
        servers.stop_fake()
    return series


def check_conversations(servers: Servers, senders: list[str], turns: int, fatal: bool = True) -> None:
    """Every measured Destek turn was a FAQ answered by the KB (no handoff, no fallback). Not `fatal`
    (WhatsApp: the ack reads no tracker, the samples stand): a warning on stderr."""
    for sender in senders:
        events = servers.tracker(sender)["events"]
        answers = sum(1 for e in events if e.get("event") == "action" and e.get("name") == "action_answer_from_kb")
        handoffs = sum(1 for e in events if e.get("event") == "action" and e.get("name") == "action_request_human")
        if answers != turns or handoffs:
            problem = f"{sender}: {answers} KB answers in {turns} turns, {handoffs} handoffs: the measurement is not of FAQ turns"
            if fatal:
                raise SystemExit(problem)
            print(f"warning: {problem}", file=sys.stderr)


def block_samples(per_turn: dict[int, list[float]], first: int, last: int, conversation: int | None = None) -> list[float]:
    """The block's samples, of every conversation or of one."""
    return [
        value
        for turn in range(first, last + 1)
        for index, value in enumerate(per_turn.get(turn, []))
        if conversation is None or index == conversation
    ]


def ratio(destek: Sequence[float], stock: Sequence[float], share: float) -> float:
    return percentile(destek, share) / percentile(stock, share)


def p95_interval(samples: Sequence[float], base: Sequence[float], rounds: int = 400) -> tuple[float, float]:
    """5th and 95th percentiles of p95(samples) / p95(base) over bootstrap resamples of both: how far the
    ratio of two p95s of this many samples moves by chance alone."""
    chance = random.Random(18)
    ratios = sorted(
        percentile(chance.choices(samples, k=len(samples)), 0.95) / percentile(chance.choices(base, k=len(base)), 0.95)
        for _ in range(rounds)
    )
    return ratios[int(0.05 * rounds)], ratios[int(0.95 * rounds) - 1]


def _cell(samples: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(samples, 0.5), "p95": percentile(samples, 0.95), "n": len(samples)}


def summary(series: Samples, turns: int) -> dict[str, Any]:
    """Per REST block: wall and CPU percentiles, the ratios (pooled and per conversation); per WhatsApp block:
    the long conversations' and the new customers' ack percentiles and their ratios."""
    conversations = max((len(values) for values in series["destek"].values()), default=0)
    rows = []
    for first, last in blocks(turns) if series["destek"] else []:
        get = {name: block_samples(series[name], first, last) for name in SERIES}
        row: dict[str, Any] = {"turns": f"{first}–{last}", "n": len(get["destek"])}
        for name in ("destek", "stock", "destek_cpu", "stock_cpu", "destek_wait", "stock_wait"):
            row[name] = _cell(get[name])
        row["ratio"] = {"p50": ratio(get["destek"], get["stock"], 0.5), "p95": ratio(get["destek"], get["stock"], 0.95)}
        row["cpu_ratio"] = {
            "p50": ratio(get["destek_cpu"], get["stock_cpu"], 0.5),
            "mean": statistics.fmean(get["destek_cpu"]) / statistics.fmean(get["stock_cpu"]),
        }
        # Each repetition's own ratio, to show the spread a single run would have.
        row["ratio_by_conversation"] = [
            ratio(block_samples(series["destek"], first, last, c), block_samples(series["stock"], first, last, c), 0.5)
            for c in range(conversations)
        ]
        rows.append(row)
    slopes = {
        name: slope(series[name], statistics.fmean if name.endswith("_cpu") else statistics.median)
        for name in ("destek", "stock", "destek_cpu", "stock_cpu", "ack")
        if len(series[name]) > 1
    }
    return {"blocks": rows, "acks": ack_summary(series, turns), "slopes": slopes, "conversations": conversations}


def ack_summary(series: Samples, turns: int) -> list[dict[str, Any]]:
    """Per block with acknowledgements: the long conversations' ack, the new customers' (control), and
    - vs_first: block p95 / the first block's p95 (the issue's target: within ±20 %);
    - vs_control: block p95 / the control's p95 in the same block (the moment's load cancels);
    - vs_control_first: vs_control / the first block's vs_control (growth with the conversation, drift removed)."""
    measured = blocks(turns) if series["destek"] else ack_blocks(turns)
    rows: list[dict[str, Any]] = []
    samples: list[tuple[list[float], list[float]]] = []
    for first, last in measured:
        ack, fresh = block_samples(series["ack"], first, last), block_samples(series["ack_fresh"], first, last)
        if not ack:
            continue
        row: dict[str, Any] = {
            "turns": f"{first}–{last}",
            "ack": _cell(ack),
            "handled": _cell(block_samples(series["handled"], first, last)),
        }
        if fresh:
            row["ack_fresh"] = _cell(fresh)
            row["vs_control"] = row["ack"]["p95"] / row["ack_fresh"]["p95"]
        rows.append(row)
        samples.append((ack, fresh))
    for row, (ack, _) in zip(rows, samples, strict=True):
        row["vs_first"] = row["ack"]["p95"] / rows[0]["ack"]["p95"]
        row["vs_first_interval"] = p95_interval(ack, samples[0][0])
        if "vs_control" in row and "vs_control" in rows[0]:
            row["vs_control_first"] = row["vs_control"] / rows[0]["vs_control"]
            row["control_vs_first"] = row["ack_fresh"]["p95"] / rows[0]["ack_fresh"]["p95"]
    return rows


def _pair(cell: dict[str, float], unit: str = " ms", digits: int = 0) -> str:
    return f"{cell['p50']:.{digits}f} / {cell['p95']:.{digits}f}{unit}"


def table(series: Samples, turns: int) -> list[str]:
    found = summary(series, turns)
    lines: list[str] = []
    if found["blocks"]:
        lines += [
            "| turns | n | Destek FAQ p50 / p95 | stock custom action p50 / p95 | ratio p50 / p95 | p50 ratio per conversation "
            "| CPU per turn p50 Destek / stock (ratio p50, mean) | waiting for a core p50 Destek / stock |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for row in found["blocks"]:
        cells = [row["turns"], str(row["n"]), _pair(row["destek"]), _pair(row["stock"]), _pair(row["ratio"], "", 2)]
        cells.append(", ".join(f"{value:.2f}" for value in row["ratio_by_conversation"]))
        cells.append(
            f"{row['destek_cpu']['p50']:.0f} / {row['stock_cpu']['p50']:.0f} ms "
            f"({row['cpu_ratio']['p50']:.2f}, {row['cpu_ratio']['mean']:.2f})"
        )
        cells.append(f"{row['destek_wait']['p50']:.0f} / {row['stock_wait']['p50']:.0f} ms")
        lines.append("| " + " | ".join(cells) + " |")
    if found["acks"]:
        lines += [
            "",
            "| turns | long conversations' ack p50 / p95 (n) | p95 / p95 at the first block (90 % interval) "
            "| new customers' ack p50 / p95 (n) | control p95 / its first block's | long p95 / control p95 "
            "| the same / at the first block | handled p50 / p95 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in found["acks"]:
            fresh = row.get("ack_fresh")
            low, high = row["vs_first_interval"]
            cells = [
                row["turns"],
                f"{_pair(row['ack'], ' ms', 1)} ({row['ack']['n']})",
                f"{row['vs_first']:.2f} ({low:.2f}–{high:.2f})",
                f"{_pair(fresh, ' ms', 1)} ({fresh['n']})" if fresh else "–",
                f"{row['control_vs_first']:.2f}" if "control_vs_first" in row else "–",
                f"{row['vs_control']:.2f}" if "vs_control" in row else "–",
                f"{row['vs_control_first']:.2f}" if "vs_control_first" in row else "–",
                _pair(row["handled"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        waits = series.get("settle_ms", {}).get(0, [])
        if waits:
            unsettled = int(series.get("unsettled", {}).get(0, [0])[0])
            idle = series.get("idle_cpu", {}).get(0, [0.0])[0]
            lines.append("")
            lines.append(
                f"settling before each timed ack (nothing in flight, processes idle): p50 {percentile(waits, 0.5):.0f} / p95 "
                f"{percentile(waits, 0.95):.0f} ms over {len(waits)}; gave up after {SETTLE_TIMEOUT:.0f} s: {unsettled} "
                f"(idle: the processes used {idle:.2f} ms of CPU per {QUIET_WINDOW * 1000:.0f} ms window with nothing in flight)"
            )
    lines.append("")
    if found["slopes"]:
        lines.append(
            "slope of the per-turn median (least squares, ms per earlier turn; CPU: of the mean): "
            + ", ".join(f"{name} {value:+.2f}" for name, value in found["slopes"].items())
        )
    lines += verdicts(found)
    return lines


TARGET_RATIO = 1.15
ACK_BAND = 0.20


def _within(values: Sequence[float]) -> bool:
    return all(abs(value - 1) <= ACK_BAND for value in values)


def verdicts(found: dict[str, Any]) -> list[str]:
    """The issue's targets, checked on this run (issue 18)."""
    lines: list[str] = []
    rows = found["blocks"]
    if rows:
        worst = max(rows, key=lambda row: max(row["ratio"]["p50"], row["ratio"]["p95"]))
        worst_cpu = max(rows, key=lambda row: row["cpu_ratio"]["p50"])
        lines += [
            f"target wall ratio ≤ {TARGET_RATIO} at every block (p50 and p95): "
            + ("met" if max(worst["ratio"].values()) <= TARGET_RATIO else "NOT met")
            + f" (worst {worst['ratio']['p50']:.2f} / {worst['ratio']['p95']:.2f} at turns {worst['turns']})",
            "the same in CPU per turn (p50): "
            + ("met" if worst_cpu["cpu_ratio"]["p50"] <= TARGET_RATIO else "NOT met")
            + f" (worst {worst_cpu['cpu_ratio']['p50']:.2f} at turns {worst_cpu['turns']})",
        ]
    acks = found["acks"]
    if acks:
        first = acks[0]["turns"]
        spread = [row["vs_first"] for row in acks]
        lines.append(
            f"target WhatsApp ack p95 within ±{ACK_BAND:.0%} of turns {first}: "
            + ("met" if _within(spread) else "NOT met")
            + f" ({', '.join(f'{value:.2f}' for value in spread)})"
        )
        if all("vs_control_first" in row for row in acks):
            against = [row["vs_control_first"] for row in acks]
            lines.append(
                "  the same against the new customers' ack of the same block (load drift cancelled): "
                + ("within" if _within(against) else "NOT within")
                + f" ±{ACK_BAND:.0%} ({', '.join(f'{value:.2f}' for value in against)}); "
                + "the new customers' own p95 / its first block's: "
                + ", ".join(f"{row['control_vs_first']:.2f}" for row in acks)
            )
    return lines


def collect(turns: int, conversations: int, parts: set[str]) -> Samples:
    stock_model = build_stock_bot() if "rest" in parts else None
    with tempfile.TemporaryDirectory() as state:
        return measure(turns, conversations, parts, Path(state), stock_model)


def run(turns: int = 220, conversations: int = 3, whatsapp: bool = True) -> list[tuple[str, str]]:
    """Rows for bench/run_all.py: one per block of turns."""
    found = summary(collect(turns, conversations, {"rest", "whatsapp"} if whatsapp else {"rest"}), turns)
    acks = {row["turns"]: row for row in found["acks"]}
    rows = []
    for row in found["blocks"]:
        text = (
            f"Destek FAQ {_pair(row['destek'])}; stock custom action {_pair(row['stock'])}; "
            f"ratio {_pair(row['ratio'], '', 2)}; CPU per turn p50 {row['destek_cpu']['p50']:.0f} / {row['stock_cpu']['p50']:.0f} ms "
            f"({row['cpu_ratio']['p50']:.2f})"
        )
        ack = acks.get(row["turns"])
        if ack:
            text += f"; WhatsApp ack {_pair(ack['ack'], ' ms', 1)} ({ack['vs_first']:.2f} × turns 1–20 p95)"
        rows.append((f"Turn cost at turns {row['turns']} of one conversation (n={row['n']} each)", text))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        choices=("rest", "whatsapp"),
        help="rest: Destek against the stock bot only; whatsapp: the WhatsApp acknowledgements only (no stock bot, no REST turns)",
    )
    parser.add_argument(
        "--turns",
        type=int,
        help="turns of each conversation (default 220: REST blocks end at 20, 70, 120, 170, 220; "
        f"--only whatsapp: default 200, {ACK_BLOCKS} blocks of {BLOCK_SIZE} from turn 1 to the last)",
    )
    parser.add_argument(
        "--conversations",
        type=int,
        default=3,
        help="repetitions: conversations per bot (WhatsApp: long customers), interleaved turn by turn",
    )
    parser.add_argument("--no-whatsapp", action="store_true", help="the same as --only rest")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args()
    parts = {"rest"} if args.no_whatsapp or args.only == "rest" else {"whatsapp"} if args.only == "whatsapp" else {"rest", "whatsapp"}
    turns = args.turns or (200 if parts == {"whatsapp"} else 220)
    if turns < BLOCK_SIZE * (1 if "rest" in parts else ACK_BLOCKS):
        parser.error(f"--turns must be at least {BLOCK_SIZE * (1 if 'rest' in parts else ACK_BLOCKS)}")
    if args.conversations < 1:
        parser.error("--conversations must be at least 1")
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    clock = time.monotonic()
    series = collect(turns, args.conversations, parts)
    if args.json:
        args.json.write_text(json.dumps(series), encoding="utf-8")
    print(
        f"{started}–{time.strftime('%H:%M UTC', time.gmtime())} ({(time.monotonic() - clock) / 60:.1f} min), {' + '.join(sorted(parts))}, "
        f"{turns} turns × {args.conversations} conversations, load average {'/'.join(f'{v:.1f}' for v in load_before)} "
        f"(1/5/15 min) at the start, {'/'.join(f'{v:.1f}' for v in os.getloadavg())} at the end ({os.cpu_count()} cores)"
    )
    print("\n".join(table(series, turns)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
