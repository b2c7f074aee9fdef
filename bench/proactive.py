"""Round trips of the proactive paths through the real Rasa server and action server (REST):
the outage notice (a customer in an incident's region), the usual KB answer behind the outage
check (a customer outside it), and the checkout offer (one signal per new web conversation).

    .venv/bin/python bench/proactive.py [--n 100]
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from customer_store.store import CustomerStore  # noqa: E402
from incidents.store import IncidentStore  # noqa: E402
from tests.helpers.servers import UNLIMITED_RATE, running_servers  # noqa: E402

IN_REGION, OUT_OF_REGION = "whatsapp:+905551110001", "whatsapp:+905551110003"  # Ayşe (Kadıköy), Mehmet (Ankara)
CABLE = [{"product_id": "ethernet-cable", "name": "Cat6", "quantity": 1, "price_kurus": 14950}]


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms (n={len(ordered)})"


def run(n: int = 100) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as state_dir:
        state = Path(state_dir)
        customers = CustomerStore(state / "destek.sqlite3")
        customers.seed_demo_customers()
        IncidentStore(state / "destek.sqlite3").open("internet", ["Istanbul-Kadikoy"], time.time() + 7200, "Arıza var.", "A fault.")
        for number in range(n):
            customers.save_cart(f"anon-bench-{number}", CABLE, 14950)
        with running_servers(state, fake_twilio=True, env=UNLIMITED_RATE) as servers:

            def timed(sender: str, text: str, expect: Callable[[str], bool]) -> float:
                started = time.perf_counter()
                replies = servers.say(sender, text)
                elapsed = (time.perf_counter() - started) * 1000
                assert expect(" ".join(str(reply.get("text", "")) for reply in replies)), replies
                return elapsed

            for sender in (IN_REGION, OUT_OF_REGION):
                servers.say(sender, "merhaba")
            notice = [timed(IN_REGION, "internetim yok", lambda text: "Arıza var." in text) for _ in range(n)]
            answer = [timed(OUT_OF_REGION, "internetim yok", lambda text: "Kaynak:" in text) for _ in range(n)]
            offer = [
                timed(
                    f"web:anon-bench-{number}",
                    '/EXTERNAL_checkout_stalled{"checkout_signal": "idle"}',
                    lambda text: "Ücretsiz kargoya" in text,
                )
                for number in range(n)
            ]
    return [
        (
            "WhatsApp round trip (signed webhook to reply at the fake Twilio), outage notice (customer in the incident's region)",
            percentiles(notice),
        ),
        ("WhatsApp round trip, KB answer behind the outage check (customer outside the region)", percentiles(answer)),
        ("web chat round trip (socket, new connection), checkout offer (first message of a new web conversation)", percentiles(offer)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    print("| benchmark | result |\n|---|---|")
    for name, result in run(args.n):
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
