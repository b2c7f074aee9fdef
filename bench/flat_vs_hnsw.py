"""Search latency of one built index, exact (flat) and approximate (HNSW), from the same embeddings.

Usage: .venv/bin/python bench/flat_vs_hnsw.py INDEX_DIR [--queries FILE]
Copies INDEX_DIR, rebuilds each language's FAISS index as HNSW from the stored vectors
(no re-embedding), and prints HNSW insertion time, p50/p95 search latency for both, and
how often both return the same top article.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb_index.search import KnowledgeBase  # noqa: E402


def latencies(kb: KnowledgeBase, texts: list[str]) -> tuple[str, list[str]]:
    for text in texts[:20]:
        kb.search(text, k=5)
    samples, tops = [], []
    for text in texts:
        started = time.perf_counter()
        tops.append(kb.search(text, k=5)[0].id)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return f"p50 {statistics.median(samples):.1f} ms, p95 {samples[int(0.95 * len(samples)) - 1]:.1f} ms", tops


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("--queries", default=str(ROOT / "bot/data/kb_eval/queries.jsonl"))
    args = parser.parse_args()
    texts = [json.loads(line)["query"] for line in Path(args.queries).read_text(encoding="utf-8").splitlines() if line.strip()]
    flat_report, flat_tops = latencies(KnowledgeBase.open(Path(args.index)), texts)
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "index"
        shutil.copytree(args.index, copy)
        generation = copy / json.loads((copy / "current.json").read_text())["generation"]
        manifest = json.loads((generation / "manifest.json").read_text())
        started = time.perf_counter()
        for lang in manifest["languages"]:
            flat = faiss.read_index(str(generation / f"{lang}.faiss"))
            hnsw = faiss.IndexHNSWFlat(flat.d, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 80
            hnsw.add(flat.reconstruct_n(0, flat.ntotal))
            faiss.write_index(hnsw, str(generation / f"{lang}.faiss"))
        insert_s = time.perf_counter() - started
        manifest["index_type"] = "hnsw"
        (generation / "manifest.json").write_text(json.dumps(manifest))
        hnsw_report, hnsw_tops = latencies(KnowledgeBase.open(copy), texts)
    same = sum(a == b for a, b in zip(flat_tops, hnsw_tops, strict=True)) / len(texts)
    print(f"entries: {manifest['languages']}")
    print(f"flat search: {flat_report}")
    print(f"hnsw search: {hnsw_report}; HNSW insertion {insert_s:.1f} s; same top article as flat for {same:.1%} of {len(texts)} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
