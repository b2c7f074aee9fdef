"""Before/after figure for feedback demotion on the labelled queries (`python -m tuning eval-demotion`).

The queries are split in two by position (even: customers who rate, odd: held out). Each
rating customer's question is searched; an answer above the threshold is rated 👍 when it is
the expected article and 👎 otherwise (including questions the KB cannot answer). The held-out
questions are then evaluated without and with the demotion those votes cause.
"""

import tempfile
from pathlib import Path
from typing import Any

from feedback.ranking import DemotionSettings, FeedbackMemory
from kb_index.search import KnowledgeBase


def evaluate_demotion(
    kb: KnowledgeBase, queries: list[dict[str, Any]], settings: DemotionSettings, threshold: float | None = None
) -> dict[str, Any]:
    threshold = kb.threshold if threshold is None else threshold
    raters, held_out = queries[0::2], queries[1::2]
    with tempfile.TemporaryDirectory(prefix="destek-demotion-") as folder:
        memory = FeedbackMemory(Path(folder) / "votes.sqlite3", kb.manifest["model"], settings)
        votes = 0
        for query in raters:
            hits = kb.search(query["query"], k=1, lang=query.get("lang"))
            vector = kb.embed_query(query["query"])
            if hits and hits[0].score >= threshold and vector is not None:
                memory.add(hits[0].id, hits[0].lang, vector, helpful=hits[0].id == query["expected_id"])
                votes += 1
        before, after = [], []
        for query in held_out:
            hits = kb.search(query["query"], k=5, lang=query.get("lang"))
            before.append(_outcome(query, hits, threshold))
            after.append(_outcome(query, memory.rerank(hits, kb.embed_query(query["query"])), threshold))
    used = {**settings.__dict__, "similarity": memory.similarity}  # the model's measured cut-off unless set
    return {"votes": votes, "held_out": len(held_out), "before": _summary(before), "after": _summary(after), "settings": used}


def _outcome(query: dict[str, Any], hits: list[Any], threshold: float) -> dict[str, Any]:
    top = hits[0] if hits else None
    return {
        "lang": query.get("lang") or (top.lang if top else "?"),
        "answerable": query["expected_id"] is not None,
        "top1": top is not None and top.id == query["expected_id"],
        "answered": top is not None and top.score >= threshold,
    }


def _summary(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    result = {}
    for lang in [*sorted({o["lang"] for o in outcomes}), "all"]:
        group = [o for o in outcomes if lang in ("all", o["lang"])]
        answerable = [o for o in group if o["answerable"]]
        unanswerable = [o for o in group if not o["answerable"]]
        wrong = [o for o in group if o["answered"] and not o["top1"]]
        result[lang] = {
            "recall@1": round(sum(o["top1"] for o in answerable) / max(1, len(answerable)), 4),
            "answered_correctly": round(sum(o["top1"] and o["answered"] for o in answerable) / max(1, len(answerable)), 4),
            "false_answers_unanswerable": round(sum(o["answered"] for o in unanswerable) / max(1, len(unanswerable)), 4),
            "wrong_answers": len(wrong),
            "n": len(group),
        }
    return result


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['votes']} simulated votes from the even queries; {report['held_out']} held-out queries; settings {report['settings']}",
        "| lang | recall@1 before → after | answered correctly before → after | false answers (unanswerable) before → after | wrong answers given before → after |",
        "|---|---|---|---|---|",
    ]
    for lang, before in report["before"].items():
        after = report["after"][lang]
        lines.append(
            f"| {lang} | {before['recall@1']:.3f} → {after['recall@1']:.3f} | {before['answered_correctly']:.3f} → {after['answered_correctly']:.3f} "
            f"| {before['false_answers_unanswerable']:.3f} → {after['false_answers_unanswerable']:.3f} | {before['wrong_answers']} → {after['wrong_answers']} |"
        )
    return "\n".join(lines)
