"""kb_index.embedders: e5's vectors do not depend on the batch or the thread count, so a search
may embed one query on one thread while the build embeds batches on every core; one query runs on
the embedder's `query_threads` (DESTEK_QUERY_EMBED_THREADS), a batch on its `threads`."""

import numpy as np
import pytest

from kb_index import embedders
from kb_index.embedders import E5SmallEmbedder

TEXTS = ["faturamı ödeyemiyorum", "kargom nerede", "how do I return an order", "şifremi unuttum ne yapmalıyım", "internet yavaş"]


def test_e5_vectors_are_the_same_alone_in_a_batch_and_on_any_thread_count() -> None:
    embedder = E5SmallEmbedder("multilingual-e5-small-q4", threads=2, query_threads=1)
    assert embedder._set_threads is not None  # the bundled OpenMP runtime was found
    batch = embedder.encode(TEXTS, queries=True)
    alone = np.vstack([embedder.encode([text], queries=True) for text in TEXTS])
    assert np.array_equal(batch, alone)
    embedder.query_threads = 2
    assert np.array_equal(np.vstack([embedder.encode([text], queries=True) for text in TEXTS]), batch)
    embedder.threads = 1
    assert np.array_equal(embedder.encode(TEXTS, queries=True, batch_size=2), batch)
    passages = embedder.encode(TEXTS, queries=False, batch_size=256)
    embedder.threads = 2
    assert np.array_equal(embedder.encode(TEXTS, queries=False, batch_size=1), passages)


def test_one_query_runs_on_query_threads_and_a_batch_on_threads() -> None:
    embedder = E5SmallEmbedder("multilingual-e5-small-q4", threads=2, query_threads=1)
    real, counts = embedder._set_threads, []
    assert real is not None

    def recorded(count: int) -> None:
        counts.append(count)
        real(count)

    embedder._set_threads = recorded
    embedder.encode(TEXTS[:1], queries=True)
    embedder.encode(TEXTS, queries=False)
    embedder.query_threads = 2
    embedder.encode(TEXTS[:1], queries=True)
    assert counts == [1, 2, 2]


def test_the_query_thread_count_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTEK_QUERY_EMBED_THREADS", "2")
    monkeypatch.setenv("DESTEK_EMBED_THREADS", "3")
    embedder = embedders.load_embedder("multilingual-e5-small-q4")
    assert isinstance(embedder, E5SmallEmbedder) and (embedder.threads, embedder.query_threads) == (3, 2)
    assert isinstance(embedders.load_embedder("multilingual-e5-small-q4", threads=1, query_threads=4), E5SmallEmbedder)
