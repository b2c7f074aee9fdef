"""KB search latency on one index: the query embedding and the rest of `KnowledgeBase.search`
(lexical, word BM25, FAISS, fusion, calibration, snippet) timed apart, p50/p95 in ms.

    .venv/bin/python bench/kb_search_latency.py [--index var/kb-index] [--queries bot/data/kb_eval/queries.jsonl]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb_index.search import KnowledgeBase  # noqa: E402


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):6.1f} ms  p95 {ordered[int(0.95 * (len(ordered) - 1))]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=str(ROOT / "var/kb-index"))
    parser.add_argument("--queries", default=str(ROOT / "bot/data/kb_eval/queries.jsonl"))
    args = parser.parse_args()
    texts = [json.loads(line)["query"] for line in Path(args.queries).read_text(encoding="utf-8").splitlines() if line.strip()]
    kb = KnowledgeBase.open(Path(args.index))
    for text in texts[:20]:
        kb.search(text, k=5)
    embed, rest, total = [], [], []
    for text in texts:
        started = time.perf_counter()
        vector = kb.embed_query(text)
        middle = time.perf_counter()
        kb.search(text, k=5, query_vector=vector)
        ended = time.perf_counter()
        embed.append(1000 * (middle - started))
        rest.append(1000 * (ended - middle))
        total.append(1000 * (ended - started))
    print(
        f"index {args.index}, model {kb.manifest['model']}, {len(texts)} queries, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"query embedding        {percentiles(embed)}")
    print(f"search given a vector  {percentiles(rest)}")
    print(f"whole search           {percentiles(total)}")


if __name__ == "__main__":
    main()
