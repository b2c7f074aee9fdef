"""Costs the staff tools add: on the answer path (demotion lookup, answers_served row) and
on the review side (gap report grouping). `python bench/staff_tools.py`; also in `make bench`.

Prints Markdown table rows like bench/run_all.py.
"""

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedback.ranking import FeedbackMemory  # noqa: E402
from feedback.records import Records  # noqa: E402
from kb_index.search import KnowledgeBase  # noqa: E402
from tuning.gaps import GapQuestion, default_encoder, group_questions  # noqa: E402


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms (n={len(ordered)})"


def run(
    index: Path = ROOT / "var" / "kb-index", queries: Path = ROOT / "bot" / "data" / "kb_eval" / "queries.jsonl"
) -> list[tuple[str, str]]:
    import json

    texts = [json.loads(line)["query"] for line in queries.read_text(encoding="utf-8").splitlines() if line.strip()][:200]
    kb = KnowledgeBase.open(index)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "destek.sqlite3"
        memory = FeedbackMemory(database, kb.manifest["model"])
        rng = random.Random(5)
        ids = [article["id"] for article in kb.articles]
        vectors = [kb.embed_query(text) for text in texts]
        for _ in range(2000):  # 2,000 votes spread over the articles
            memory.add(rng.choice(ids), "en", vectors[rng.randrange(len(vectors))], helpful=rng.random() < 0.6)
        timings = []
        for text, vector in zip(texts, vectors, strict=True):
            hits = kb.search(text, k=5, query_vector=vector)
            started = time.perf_counter()
            memory.rerank(hits, vector)
            timings.append((time.perf_counter() - started) * 1000)
        rows.append(("Feedback demotion per question (votes lookup + re-rank, 2,000 votes stored)", percentiles(timings)))
        records = Records(database)
        timings = []
        for number, text in enumerate(texts):
            started = time.perf_counter()
            records.add_answer_served(f"bench-{number}", text, "en", ids[number % len(ids)], 0.9)
            timings.append((time.perf_counter() - started) * 1000)
        rows.append(("answers_served insert per answer (SQLite WAL, commit)", percentiles(timings)))
    encode = default_encoder()
    questions = [
        GapQuestion(text, "tr" if number % 2 else "en", "unanswered", f"s{number}", 0.0) for number, text in enumerate((texts * 3)[:500])
    ]
    started = time.perf_counter()
    groups = group_questions(questions, encode)
    rows.append(("Gap report grouping, 500 questions (embed + cluster)", f"{time.perf_counter() - started:.2f} s, {len(groups)} groups"))
    return rows


if __name__ == "__main__":
    print("| benchmark | result |\n|---|---|")
    for name, result in run():
        print(f"| {name} | {result} |", flush=True)
