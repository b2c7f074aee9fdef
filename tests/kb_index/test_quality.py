"""The sample knowledge base meets the retrieval targets on the labelled queries (issue #2).

Uses the index `make index` built from bot/data/kb with the default settings.
"""

from typing import Any

import pytest

from kb_index.evaluate import evaluate
from kb_index.search import KnowledgeBase
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def report(sample_kb: KnowledgeBase, sample_queries: list[dict[str, Any]]) -> dict:
    return evaluate(sample_kb, sample_queries)


def test_query_set_shape(sample_queries: list[dict[str, Any]]) -> None:
    queries = sample_queries
    by_lang = {lang: [q for q in queries if q["lang"] == lang] for lang in ("tr", "en")}
    assert len(queries) >= 300
    assert abs(len(by_lang["tr"]) - len(by_lang["en"])) <= 10
    for items in by_lang.values():
        share = sum(q["expected_id"] is None for q in items) / len(items)
        assert 0.12 <= share <= 0.18


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_recall_at_1_target(report: dict, lang: str) -> None:
    assert report["by_lang"][lang]["recall@1"] >= 0.90


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_false_answer_target(report: dict, lang: str) -> None:
    assert report["by_lang"][lang]["false_answer_rate"] <= 0.10


# Questions no article of a shop's help centre answers. (The six-article test base cannot show this:
# with three articles a language its pseudo-queries hold almost no unrelated ones, and "bana bir şiir
# yaz" scores 0.86 there; docs/known-limitations.md.)
UNRELATED = [
    "do you sell used cars",
    "can I adopt a cat from you",
    "who won the football match yesterday",
    "bana bir şiir yaz",
    "kedim hasta veterinere gitmeli miyim",
    "dün akşamki maçı kim kazandı",
]


def test_unrelated_questions_score_below_the_threshold_and_a_related_one_above(sample_kb: KnowledgeBase) -> None:
    kb = sample_kb
    assert {text: kb.search(text, k=1)[0].score for text in UNRELATED if kb.search(text, k=1)[0].score >= kb.threshold} == {}
    assert kb.search("where is my package", k=1)[0].score >= kb.threshold


def test_articles_come_in_pairs() -> None:
    topics: dict[str, set[str]] = {}
    for path in (ROOT / "bot" / "data" / "kb").rglob("*.md"):
        topics.setdefault(path.stem, set()).add(path.parent.name)
    assert len(topics) >= 40
    assert all(langs == {"tr", "en"} for langs in topics.values()), {
        topic: langs for topic, langs in topics.items() if langs != {"tr", "en"}
    }
