"""The sample knowledge base's index and labelled questions, shared by the kb_index tests that need them."""

from typing import Any

import pytest

from kb_index.evaluate import load_queries
from kb_index.search import KnowledgeBase
from tests.conftest import ROOT

SAMPLE_INDEX = ROOT / "var" / "kb-index"
SAMPLE_QUERIES = ROOT / "bot" / "data" / "kb_eval" / "queries.jsonl"


@pytest.fixture(scope="module")
def sample_kb() -> KnowledgeBase:
    """The index `make index` built from bot/data/kb with the default settings."""
    if not (SAMPLE_INDEX / "current.json").exists():
        pytest.skip("no sample index: run `make index` (make test does)")
    return KnowledgeBase.open(SAMPLE_INDEX)


@pytest.fixture(scope="module")
def sample_queries() -> list[dict[str, Any]]:
    return load_queries(SAMPLE_QUERIES)
