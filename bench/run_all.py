"""`make bench`: KB search latency, REST round trip through Rasa + action server, index build
time and peak memory (sample KB and a synthetic 100,000-passage base).

Prints a Markdown table; docs/benchmarks.md's "Round trips" table is copied from it. Run on an idle
machine and compare figures from one run: this machine is shared and noisy.
"""

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import analytics_dashboard  # noqa: E402
import campaign_throughput  # noqa: E402
import handoff_latency  # noqa: E402
import proactive  # noqa: E402
import staff_tools  # noqa: E402
import turn_growth  # noqa: E402
import whatsapp_ack  # noqa: E402  (bench/ is on sys.path as the script's folder)

from kb_index.search import KnowledgeBase  # noqa: E402
from tests.helpers.servers import UNLIMITED_RATE, running_servers  # noqa: E402


def cluster_benchmark() -> Any:
    """bench/cluster.py (by path: the name `cluster` is the top-level package)."""
    spec = importlib.util.spec_from_file_location("cluster_benchmark", ROOT / "bench" / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms (n={len(ordered)})"


def queries(path: Path) -> list[str]:
    return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bench_search(index: Path, texts: list[str]) -> str:
    kb = KnowledgeBase.open(index)
    for text in texts[:20]:
        kb.search(text, k=5)
    samples = []
    for text in texts:
        started = time.perf_counter()
        kb.search(text, k=5)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def bench_build(source: Path, out: Path, *extra: str) -> str:
    """Wall time and peak resident memory of one `kb_index build` process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "kb_index", "build", "--source", str(source), "--out", str(out), "--quiet", *extra], env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"build of {source} failed ({status})")
    return f"{elapsed:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MiB"


def synthetic_base(path: Path, passages: int, per_article: int = 5, seed: int = 7) -> None:
    """Articles made of random KB vocabulary: realistic text lengths, no meaning."""
    vocabulary = sorted(
        {w.strip(".,:;!?()*\"'") for p in (ROOT / "bot/data/kb").rglob("*.md") for w in p.read_text(encoding="utf-8").split()} - {""}
    )
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for number in range(passages // per_article):
            lang = "tr" if number % 2 else "en"
            body = "\n\n".join(" ".join(rng.choices(vocabulary, k=rng.randint(25, 60))) + "." for _ in range(per_article))
            title = " ".join(rng.choices(vocabulary, k=6))
            handle.write(json.dumps({"id": f"syn-{number}", "title": title, "body": body, "lang": lang}, ensure_ascii=False) + "\n")


def bench_round_trip(texts: list[str], plain: list[str]) -> list[tuple[str, str]]:
    """REST round trips: questions inside ongoing conversations, the first message of a new
    conversation (adds the custom session start), and plain responses, all in one run."""

    def timed(sender: str, text: str) -> float:
        started = time.perf_counter()
        servers.say(sender, text)
        return (time.perf_counter() - started) * 1000

    with tempfile.TemporaryDirectory() as state, running_servers(Path(state), env=UNLIMITED_RATE) as servers:
        for number in range(10):
            servers.say(f"bench-ongoing-{number}", "merhaba")
        ongoing = [timed(f"bench-ongoing-{number % 10}", text) for number, text in enumerate(texts)]
        first = [timed(f"bench-first-{number}", text) for number, text in enumerate(texts[:100])]
        greet = [timed(f"bench-ongoing-{number % 10}", text) for number, text in enumerate(plain)]
    return [
        ("REST round trip, FAQ through action_answer_from_kb, ongoing conversation", percentiles(ongoing)),
        ("REST round trip, FAQ as the first message of a new conversation", percentiles(first)),
        ("REST round trip, plain response (greeting/thanks), ongoing conversation", percentiles(greet)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=str(ROOT / "var/kb-index"))
    parser.add_argument("--queries", default=str(ROOT / "bot/data/kb_eval/queries.jsonl"))
    parser.add_argument("--synthetic-passages", type=int, default=100_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--skip-rasa", action="store_true")
    parser.add_argument("--hnsw", action="store_true", help="also build and search the synthetic base with HNSW")
    parser.add_argument("--skip-campaigns", action="store_true", help="skip the campaign throughput run (about 4 minutes)")
    parser.add_argument("--turn-growth-turns", type=int, default=220, help="turns per conversation of the turn-growth run (0 skips it)")
    args = parser.parse_args()
    texts = queries(Path(args.queries))
    print("| benchmark | result |\n|---|---|", flush=True)

    def row(name: str, result: str) -> None:
        print(f"| {name} | {result} |", flush=True)

    row("KB search, one query, sample KB (k=5)", bench_search(Path(args.index), texts))
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        row("Index build, sample KB (88 articles)", bench_build(ROOT / "bot/data/kb", work_dir / "sample"))
        if not args.skip_synthetic:
            source = work_dir / "synthetic.jsonl"
            synthetic_base(source, args.synthetic_passages)
            label = f"{args.synthetic_passages:,} passages"
            row(f"Index build, synthetic {label}, flat", bench_build(source, work_dir / "flat"))
            row(f"KB search, synthetic {label}, flat", bench_search(work_dir / "flat", texts))
            if args.hnsw:
                row(f"Index build, synthetic {label}, hnsw", bench_build(source, work_dir / "hnsw", "--index-type", "hnsw"))
                row(f"KB search, synthetic {label}, hnsw", bench_search(work_dir / "hnsw", texts))
    if not args.skip_rasa:
        for name, result in bench_round_trip(texts[:200], ["hello", "merhaba", "thanks", "teşekkürler"] * 25):
            row(name, result)
        for name, result in whatsapp_ack.run():
            row(name, result)
        for name, result in proactive.run():
            row(name, result)
        for name, result in handoff_latency.run():
            row(name, result)
        if args.turn_growth_turns:
            for name, result in turn_growth.run(args.turn_growth_turns):
                row(name, result)
        for name, result in cluster_benchmark().run():
            row(name, result)
    if not args.skip_campaigns:
        for name, result in campaign_throughput.run():
            row(name, result)
    for name, result in analytics_dashboard.run():
        row(name, result)
    # the production profile: the support database (aggregates, handoffs, CSAT) on PostgreSQL
    for name, result in analytics_dashboard.run(postgresql=analytics_dashboard.POSTGRES_SERVER, recompute=False):
        row(name, result)
    for name, result in staff_tools.run(Path(args.index), Path(args.queries)):
        row(name, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
