"""The action server's knowledge base embeds queries on one thread, passed to the loader
(DESTEK_QUERY_EMBED_THREADS), not written into the environment (docs/turn-cost.md)."""

import os
from pathlib import Path
from typing import Any

import pytest

from bot.actions import services
from kb_index import embedders, search
from settings.model import get_settings
from tests.bot.test_actions import configured  # noqa: F401  (a fixture)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every load_embedder call of the knowledge base (name, threads), passed on to the real loader."""
    calls: list[dict[str, Any]] = []

    def recorded(name: str, threads: int | None = None, query_threads: int | None = None) -> embedders.Embedder | None:
        calls.append({"name": name, "threads": (threads, query_threads)})
        return embedders.load_embedder(name, threads=threads, query_threads=query_threads)

    monkeypatch.setattr(search, "load_embedder", recorded)
    return calls


def test_the_knowledge_base_embedder_is_loaded_with_one_thread_without_touching_the_environment(
    configured: Path,  # noqa: F811
    loads: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESTEK_EMBED_THREADS", "2")  # the batch default (index builds): not for one query
    monkeypatch.delenv("DESTEK_QUERY_EMBED_THREADS", raising=False)
    before = dict(os.environ)
    kb = services.knowledge_base()
    assert [call["threads"] for call in loads] == [(1, 1)]
    assert isinstance(kb.embedder, embedders.E5SmallEmbedder)  # the sample index's model
    assert (kb.embedder.threads, kb.embedder.query_threads) == (1, 1)  # the model built with it
    assert dict(os.environ) == before  # neither Destek nor the embedding library left a variable behind


def test_an_operator_choice_of_query_threads_is_passed_on(
    configured: Path,  # noqa: F811
    loads: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESTEK_QUERY_EMBED_THREADS", "3")
    get_settings.cache_clear()
    services.settings.cache_clear()
    services.knowledge_base.cache_clear()
    kb = services.knowledge_base()
    assert [call["threads"] for call in loads] == [(3, 3)]
    assert isinstance(kb.embedder, embedders.E5SmallEmbedder) and kb.embedder.query_threads == 3


def test_each_embedder_is_built_with_the_count_it_is_given() -> None:
    use = embedders.load_embedder("use-multilingual-v3", threads=1)
    assert isinstance(use, embedders.UseMultilingualEmbedder) and use._model.threads == 1
