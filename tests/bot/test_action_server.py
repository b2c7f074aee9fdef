"""bot/action_server.py: the query embedder runs on one BLAS thread unless the operator chose (docs/turn-cost.md)."""

import os

import pytest

from bot.action_server import use_one_embedding_thread
from kb_index.embedders import DEFAULT_MODEL, UseMultilingualEmbedder, load_embedder


def test_one_thread_is_the_default_and_a_chosen_number_is_kept() -> None:
    environ: dict[str, str] = {}
    use_one_embedding_thread(environ)
    assert environ == {"DESTEK_EMBED_THREADS": "1"}
    chosen = {"DESTEK_EMBED_THREADS": "3"}
    use_one_embedding_thread(chosen)
    assert chosen == {"DESTEK_EMBED_THREADS": "3"}


def test_the_knowledge_base_embedder_reads_that_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTEK_EMBED_THREADS", raising=False)
    use_one_embedding_thread(os.environ)
    embedder = load_embedder(DEFAULT_MODEL)
    assert isinstance(embedder, UseMultilingualEmbedder)
    assert embedder._model.threads == 1
