"""kb_index.embedders: e5's vectors do not depend on the batch or the thread count, so a search
may embed one query on one thread while the build embeds batches on every core."""

import numpy as np

from kb_index.embedders import E5SmallEmbedder

TEXTS = ["faturamı ödeyemiyorum", "kargom nerede", "how do I return an order", "şifremi unuttum ne yapmalıyım", "internet yavaş"]


def test_e5_vectors_are_the_same_alone_in_a_batch_and_on_any_thread_count() -> None:
    embedder = E5SmallEmbedder("multilingual-e5-small-q4", threads=2)
    assert embedder._set_threads is not None  # the bundled OpenMP runtime was found
    batch = embedder.encode(TEXTS, queries=True)
    alone = np.vstack([embedder.encode([text], queries=True) for text in TEXTS])
    assert np.array_equal(batch, alone)
    embedder._threads = 1
    assert np.array_equal(embedder.encode(TEXTS, queries=True, batch_size=2), batch)
    passages = embedder.encode(TEXTS, queries=False, batch_size=256)
    embedder._threads = 2
    assert np.array_equal(embedder.encode(TEXTS, queries=False, batch_size=1), passages)
