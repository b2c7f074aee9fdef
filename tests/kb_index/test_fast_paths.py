"""The search's shortcuts give exactly the numbers of the straightforward computations they
replace (scikit-learn's TF-IDF transform, bm25s's scores, a full sort, per-article maxima)."""

import numpy as np
import pytest

from kb_index.lexical import LexicalIndex
from kb_index.ranking import article_maxima
from kb_index.scoring import LanguageIndex, _best
from kb_index.words import WordIndex
from language.fold import fold

DOCUMENTS = [
    "Faturamı nasıl öderim? Ödeme adımları ve otomatik ödeme talimatı.",
    "Siparişim nerede, kargo takibi nasıl yapılır",
    "İade ve değişim: ürünü 14 gün içinde iade edebilirsiniz.",
    "How do I reset my password? Use the forgotten password link.",
    "Delivery times and shipping fees for orders",
    "Modem ışıkları yanıp sönüyor, internet bağlantısı yok",
]
QUERIES = [
    "faturami odeyemiyorum",
    "Faturamı ödeyemiyorum",
    "kargom kargom nerede",
    "password password reset",
    "ğğğ",
    "x",
    "",
    "   İADE   ıııı ",
    "zzzz qqqq",
    "Ödeme İADE internet bağlantısı modem modem",
]


def test_lexical_query_vector_is_scikit_learns_transform() -> None:
    index = LexicalIndex.build(DOCUMENTS)
    for query in QUERIES + DOCUMENTS:
        expected = index._vectorizer.transform([fold(query)]).tocsr()
        columns, weights = index.query_vector(query)
        assert np.array_equal(columns, expected.indices)
        assert weights.dtype == expected.data.dtype and np.array_equal(weights, expected.data)
        slow = index.similarities(index._vectorizer.transform([fold(query)]))
        fast = index.scores(query)
        assert fast.dtype == slow.dtype and np.array_equal(fast, slow)


@pytest.mark.parametrize("stemmer", ["prefix5", "snowball", "none"])
def test_word_scores_are_bm25s_scores(stemmer: str) -> None:
    index = WordIndex.build(DOCUMENTS, stemmer, "tr")
    for query in QUERIES + DOCUMENTS:
        tokens = [index._vocabulary[t] for t in index._tokenize(query) if t in index._vocabulary]
        expected = np.asarray(index._model.get_scores(tokens), dtype=np.float32) if tokens else np.zeros(len(DOCUMENTS), np.float32)
        assert np.array_equal(index.scores(query), expected)


def test_best_is_the_stable_full_sort() -> None:
    rng = np.random.default_rng(3)
    for size in (1, 5, 64, 65, 300, 5000):
        for values in (rng.standard_normal(size), rng.integers(0, 4, size).astype(np.float64), np.zeros(size)):
            fused = values.astype(np.float32)
            for k in (1, 5, 10, size):
                assert np.array_equal(_best(fused, k), np.argsort(-fused, kind="stable")[:k])
    with_nan = rng.standard_normal(200).astype(np.float32)
    with_nan[[3, 50]] = np.nan
    assert np.array_equal(_best(with_nan, 5), np.argsort(-with_nan, kind="stable")[:5])


def test_dense_per_article_is_the_maximum_over_its_entries() -> None:
    rng = np.random.default_rng(5)
    entry_articles = np.repeat(np.arange(40), rng.integers(1, 7, 40))
    rows = [[int(article), "passage", 0] for article in entry_articles]
    index = LanguageIndex(rows, None, None, None, None)  # type: ignore[arg-type]
    ids = rng.choice(len(rows), 30, replace=False)
    scores = rng.random(30).astype(np.float32)
    floor = float(scores.min())
    per_entry = index._dense_per_entry(ids, scores, floor)
    assert np.array_equal(index._dense_per_article(ids, scores, floor), article_maxima(per_entry, index.starts))
