"""CPU and wall time of embedding one query, by embedding model and thread count (docs/turn-cost.md, change 4).

The action server and the support app's copilot embed one short query at a time; DESTEK_QUERY_EMBED_THREADS
(default 1) is the thread count they load the KB's embedder with. Each (model, threads) pair runs in a
process of its own (an OpenMP runtime fixes its thread count when it loads), embeds 5 queries to warm
up, then the first --queries queries of bot/data/kb_eval one at a time: median and p95 of CPU
(time.process_time of the whole process, every thread) and wall per query.

    PYTHONPATH=. .venv/bin/python bench/query_embed_threads.py [--queries 60] [--models multilingual-e5-small-q4 use-multilingual-v3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "bot" / "data" / "kb_eval" / "queries.jsonl"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def child(model: str, threads: int, count: int) -> None:
    """In the child process: embed the queries, print one JSON line."""
    sys.path.insert(0, str(ROOT))
    from kb_index.embedders import load_embedder

    texts = [json.loads(line)["query"] for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()][:count]
    embedder = load_embedder(model, threads=threads)
    assert embedder is not None
    for text in texts[:5]:
        embedder.encode([text], queries=True)
    cpu, wall = [], []
    for text in texts:
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        embedder.encode([text], queries=True)
        cpu.append((time.process_time() - cpu_before) * 1000)
        wall.append((time.perf_counter() - wall_before) * 1000)
    print(json.dumps({"cpu": cpu, "wall": wall}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--models", nargs="+", default=["multilingual-e5-small-q4", "use-multilingual-v3"])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.queries)
        return 0
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {'/'.join(f'{v:.1f}' for v in os.getloadavg())}")
    print("| model | threads | CPU per query p50 / p95 | wall p50 / p95 |\n|---|---|---|---|")
    for model in args.models:
        for threads in (1, 2):
            done = subprocess.run(
                [sys.executable, __file__, "--queries", str(args.queries), "--child", model, str(threads)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            found = json.loads(done.stdout.strip().splitlines()[-1])
            cpu, wall = found["cpu"], found["wall"]
            print(
                f"| {model} | {threads} | {statistics.median(cpu):.1f} / {percentile(cpu, 0.95):.1f} ms "
                f"| {statistics.median(wall):.1f} / {percentile(wall, 0.95):.1f} ms |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
