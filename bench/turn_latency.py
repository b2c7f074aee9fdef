"""REST round trips and WhatsApp acknowledgements alone: the rows of `make bench` that a model change moves.

    PYTHONPATH=. .venv/bin/python bench/turn_latency.py

Serves bot/models/destek.tar.gz like `make bench` does; to compare two models, copy each in
turn to that path and run this back to back (docs/benchmarks.md, "The fine-tuned encoder's cost on a turn").
"""

import sys
from pathlib import Path

import run_all  # bench/ is on sys.path as the script's folder
import whatsapp_ack

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    texts = run_all.queries(ROOT / "bot/data/kb_eval/queries.jsonl")
    rows = run_all.bench_round_trip(texts[:200], ["hello", "merhaba", "thanks", "teşekkürler"] * 25) + whatsapp_ack.run()
    for name, result in rows:
        print(f"| {name} | {result} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
