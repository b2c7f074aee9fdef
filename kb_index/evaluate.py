"""Retrieval quality on a labelled query set: recall@1, recall@5, MRR and false answers."""

import json
from pathlib import Path
from typing import Any

from kb_index.embedcache import EmbeddingCache
from kb_index.errors import KbError
from kb_index.search import KnowledgeBase


def load_queries(path: Path) -> list[dict[str, Any]]:
    """Lines of {"query", "expected_id" (null: no answer in the KB), "lang"?}."""
    if not path.is_file():
        raise KbError(f"{path}: no such queries file")
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KbError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("query"), str) or not record["query"].strip():
            raise KbError(f"{path}:{number}: field 'query' is missing or empty")
        if "expected_id" not in record:
            raise KbError(f"{path}:{number}: field 'expected_id' is missing (use null for no answer)")
        queries.append(record)
    if not queries:
        raise KbError(f"{path}: no queries")
    return queries


def evaluate(kb: KnowledgeBase, queries: list[dict[str, Any]], threshold: float | None = None, cache: Path | None = None) -> dict[str, Any]:
    """Metrics overall and per language; the threshold decides what counts as an answer.

    cache: a folder to keep the queries' embeddings in between runs (embedded in one batch: the same
    vectors as one by one, tests/kb_index/test_embedders.py and test_e5_onnx.py)."""
    threshold = kb.threshold if threshold is None else threshold
    vectors: list[Any] = [None] * len(queries)
    if cache is not None and kb.embedder is not None:
        store = EmbeddingCache(cache, kb.embedder, prune=False)
        vectors = list(store.encode([q["query"].strip() for q in queries], queries=True))
        store.save()
    groups: dict[str, list[dict[str, Any]]] = {}
    for query, vector in zip(queries, vectors, strict=True):
        hits = kb.search(query["query"], k=5, query_vector=vector)
        ranks = [i for i, hit in enumerate(hits, start=1) if hit.id == query["expected_id"]]
        outcome = {
            "answerable": query["expected_id"] is not None,
            "rank": ranks[0] if ranks else None,
            "answered": bool(hits) and hits[0].score >= threshold,
        }
        for key in ("all", query.get("lang") or (hits[0].lang if hits else "all")):
            groups.setdefault(key, []).append(outcome)
    report = _metrics(groups.pop("all"))
    report["threshold"] = threshold
    report["model"] = kb.manifest["model"]
    report["by_lang"] = {lang: _metrics(outcomes) for lang, outcomes in sorted(groups.items())}
    return report


def _metrics(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [o for o in outcomes if o["answerable"]]
    unanswerable = [o for o in outcomes if not o["answerable"]]
    n = len(answerable)

    def share(count: int, total: int) -> float:
        return round(count / total, 4) if total else 0.0

    return {
        "n": n,
        "recall@1": share(sum(o["rank"] == 1 for o in answerable), n),
        "recall@5": share(sum(o["rank"] is not None for o in answerable), n),
        "mrr": round(sum(1.0 / o["rank"] for o in answerable if o["rank"]) / n, 4) if n else 0.0,
        "answered_correctly": share(sum(o["rank"] == 1 and o["answered"] for o in answerable), n),
        "n_unanswerable": len(unanswerable),
        "false_answer_rate": share(sum(o["answered"] for o in unanswerable), len(unanswerable)),
    }


def format_report(report: dict[str, Any]) -> str:
    """A small table for people."""
    lines = [
        f"model {report['model']}, answer threshold {report['threshold']}",
        f"{'':6} {'n':>4} {'R@1':>6} {'R@5':>6} {'MRR':>6} {'answered':>9} {'n_none':>6} {'false':>6}",
    ]
    rows = [("all", report), *report["by_lang"].items()]
    for name, m in rows:
        lines.append(
            f"{name:6} {m['n']:>4} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} {m['mrr']:>6.3f} {m['answered_correctly']:>9.3f} {m['n_unanswerable']:>6} {m['false_answer_rate']:>6.3f}"
        )
    lines.append("answered = right article at rank 1 and above the threshold; false = unanswerable queries answered anyway")
    return "\n".join(lines)
