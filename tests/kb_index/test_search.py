"""kb_index.search: `search_embedded` scores the lexical signals on a worker thread while the query is
embedded; its hits and vector are exactly those of embedding first and searching with the vector, for
every labelled sample question, in either language routing, and from many threads at once."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from kb_index.search import Hit, KnowledgeBase


@pytest.fixture(scope="module")
def kb(sample_kb: KnowledgeBase) -> KnowledgeBase:
    return sample_kb


@pytest.fixture(scope="module")
def texts(sample_queries: list[dict[str, Any]]) -> list[str]:
    return [query["query"] for query in sample_queries]


def one_after_the_other(kb: KnowledgeBase, text: str, lang: str | None = None, k: int = 5) -> tuple[list[Hit], np.ndarray | None]:
    vector = kb.embed_query(text)
    return kb.search(text, k=k, lang=lang, query_vector=vector), vector


def test_the_overlapped_search_equals_embedding_then_searching(kb: KnowledgeBase, texts: list[str]) -> None:
    assert len(texts) > 300
    for text in texts:
        hits, vector = kb.search_embedded(text, k=5)
        expected_hits, expected_vector = one_after_the_other(kb, text)
        assert hits == expected_hits, text
        assert vector is not None and expected_vector is not None and np.array_equal(vector, expected_vector), text
        assert kb.search(text, k=5) == expected_hits, text


def test_a_given_language_and_an_unsure_one_are_searched_the_same_way(kb: KnowledgeBase) -> None:
    for text, lang in (("iade", "tr"), ("iade", "en"), ("ok", None), ("Temüjin kimdir", None), ("?", None)):
        assert kb.search_embedded(text, k=3, lang=lang)[0] == one_after_the_other(kb, text, lang, k=3)[0], (text, lang)


def test_many_threads_searching_at_once_get_each_their_own_answer(kb: KnowledgeBase, texts: list[str]) -> None:
    expected = [one_after_the_other(kb, text)[0] for text in texts[:60]]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda text: kb.search_embedded(text, k=5)[0], texts[:60] * 3))
    assert found == expected * 3
