"""Word-level BM25 over whole articles (title, alternate questions and body as one document).

`bm25s` scores; tokens are words of the folded text cut by a stemmer setting:
- `auto` (default): `prefix5` for Turkish, `snowball` for English, the better of the two in
  each language on both XQuAD and the sample KB (docs/retrieval-eval.md);
- `snowball`: Snowball's Turkish or English stemmer (PyStemmer) on the lower-cased text,
  then folded, so "siparişlerim" and "siparislerim" meet "sipariş";
- `prefix5`: the first five letters of each folded word, a crude but strong Turkish stemmer;
- `none`: whole folded words.
Whole-article documents mean that articles sharing a title still differ by their bodies.
"""

import json
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from string import ascii_lowercase
from typing import Any

import numpy as np

from kb_index.errors import KbError
from language.fold import fold, turkish_lower

STEMMERS = ("auto", "snowball", "prefix5", "none")
_AUTO = {"tr": "prefix5", "en": "snowball"}
K1 = 1.5
B = 0.75
_WORD = re.compile(r"[^\W_]+")
_SNOWBALL_NAMES = {"tr": "turkish", "en": "english"}
# Coverage looks for a known word one edit away from an unknown one of at least this many letters
# (shorter words are one edit away from too many others).
SPELLING_MIN_LETTERS = 4
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Letters next to each other on a QWERTY keyboard (Turkish Q too, once folded), same row or the row above/below.
_KEY_NEIGHBOURS = {
    key: "".join(
        other
        for other_row, other_keys in enumerate(_KEY_ROWS)
        for other_column, other in enumerate(other_keys)
        if other != key and abs(other_row - row) <= 1 and abs(other_column - column) <= 1
    )
    for row, keys in enumerate(_KEY_ROWS)
    for column, key in enumerate(keys)
}


def tokenizer(stemmer: str, lang: str) -> Callable[[str], list[str]]:
    """The function that turns a text into BM25 tokens for `stemmer` and `lang`."""
    if stemmer == "auto":
        stemmer = _AUTO.get(lang, "snowball")
    if stemmer == "none":
        return lambda text: _WORD.findall(fold(text))
    if stemmer == "prefix5":
        return lambda text: [word[:5] for word in _WORD.findall(fold(text))]
    if stemmer == "snowball":
        stem = _snowball(lang)
        return lambda text: [fold(word) for word in stem(_WORD.findall(turkish_lower(text)))]
    raise KbError(f"stemmer {stemmer!r} is not one of {', '.join(STEMMERS)}")


@lru_cache(maxsize=4)
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words of the language, lower-cased (none for a language spaCy does not know).

    Read from spaCy's `lang/<lang>/stop_words.py` (a plain list with no imports) without
    importing spaCy, which takes seconds (it imports thinc and torch) for a list of words."""
    import importlib
    import importlib.util

    spec = importlib.util.find_spec("spacy")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders if re.fullmatch(r"[a-z]{2,3}", lang) else []:
        path = Path(folder) / "lang" / lang / "stop_words.py"
        if path.is_file():
            namespace: dict[str, Any] = {"__name__": f"spacy.lang.{lang}.stop_words", "__file__": str(path)}
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
            return frozenset(turkish_lower(word) for word in namespace["STOP_WORDS"])
    try:
        module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
    except ImportError:
        return frozenset()
    return frozenset(turkish_lower(word) for word in module.STOP_WORDS)


@lru_cache(maxsize=4)
def _snowball(lang: str) -> Callable[[list[str]], list[str]]:
    import Stemmer

    return Stemmer.Stemmer(_SNOWBALL_NAMES[lang]).stemWords


class WordIndex:
    """BM25 scores of a query against every article of one language."""

    def __init__(self, model: Any, stemmer: str, lang: str, count: int, stop: frozenset[str]) -> None:
        self._model = model
        self._tokenize = tokenizer(stemmer, lang)
        self._vocabulary: dict[str, int] = model.vocab_dict
        self.stemmer = stemmer
        self.lang = lang
        self.count = count
        self.stop = stop  # stored with the index: search never imports spaCy

    @classmethod
    def build(cls, documents: Sequence[str], stemmer: str, lang: str) -> "WordIndex":
        import bm25s

        tokenize = tokenizer(stemmer, lang)
        model = bm25s.BM25(k1=K1, b=B)
        model.index([tokenize(text) or [""] for text in documents], show_progress=False)
        return cls(model, stemmer, lang, len(documents), stop_words(lang))

    def coverage(self, query: str) -> np.ndarray:
        """Share of the query's evidence found in each article: the IDF mass of its distinct
        tokens (stop words left out) that the article contains, over the IDF mass of all of
        them. A word no article has counts as the rarest, so a question about something the
        base never mentions ("ikinci el araba") covers little of any article, however well
        its other words match; unless it is one typo away from a word the base has ("fatrua"):
        then it counts as that word (docs/retrieval-eval.md: measured with and without)."""
        words = [word for word in _WORD.findall(turkish_lower(query)) if word not in self.stop]
        tokens = set(self._tokenize(" ".join(words)))
        covered = np.zeros(self.count, dtype=np.float32)
        if not tokens:
            return covered
        indptr = self._model.scores["indptr"]
        indices = self._model.scores["indices"]
        total = 0.0
        for token in sorted(tokens):  # a fixed order: the float sum is the same in every process
            column = self._vocabulary.get(token)
            if column is None:
                column = self._nearest_known(token, indptr)
            if column is not None and column + 1 < len(indptr):
                first, last = int(indptr[column]), int(indptr[column + 1])
            else:
                first = last = 0
            idf = math.log(1.0 + (self.count - (last - first) + 0.5) / ((last - first) + 0.5))
            total += idf
            covered[indices[first:last]] += idf
        return covered / total

    def _nearest_known(self, token: str, indptr: np.ndarray) -> int | None:
        """The column of the base's token one typo (`_one_edit`) away from a token no article has ("fibr"
        for "fiber", "sipra" for "sipar"), the one in most articles if several are (ties: the first in
        alphabetical order); None when none is or the token is shorter than SPELLING_MIN_LETTERS."""
        if len(token) < SPELLING_MIN_LETTERS:
            return None
        best, frequency, found = "", 0, None
        for candidate in _one_edit(token):
            column = self._vocabulary.get(candidate)
            if column is not None and column + 1 < len(indptr):
                count = int(indptr[column + 1] - indptr[column])
                if count > frequency or (count == frequency and candidate < best):
                    best, frequency, found = candidate, count, column
        return found

    def scores(self, query: str, length_cap: int | None = None) -> np.ndarray:
        """BM25 of the query against every article: bm25s's eager scores summed over the
        posting lists of the query's tokens (a token twice in the query counts twice), as
        `bm25s.BM25.get_scores` sums them, but with one vectorised add per token instead of
        `np.add.at` (an article appears once in a token's list, so the sums are the same).

        length_cap: a text of more tokens than this gets its scores scaled to that many tokens' worth."""
        words = self._tokenize(query)
        scores = self._summed([self._vocabulary[t] for t in words if t in self._vocabulary])
        if length_cap is not None and len(words) > length_cap:
            scores = scores / (len(words) / length_cap)
        return scores

    def _summed(self, tokens: list[int]) -> np.ndarray:
        if not tokens:
            return np.zeros(self.count, dtype=np.float32)
        data = self._model.scores["data"]
        indptr = self._model.scores["indptr"]
        indices = self._model.scores["indices"]
        if max(tokens) + 1 >= len(indptr) or self._model.nonoccurrence_array is not None:
            return np.asarray(self._model.get_scores(tokens), dtype=np.float32)
        scores = np.zeros(self._model.scores["num_docs"], dtype=self._model.dtype)
        for token in tokens:
            first, last = int(indptr[token]), int(indptr[token + 1])
            scores[indices[first:last]] += data[first:last]
        return np.asarray(scores, dtype=np.float32)

    def save(self, folder: Path, stem: str) -> None:
        target = folder / stem
        self._model.save(str(target), show_progress=False)
        (target / "settings.json").write_text(
            json.dumps(
                {"stemmer": self.stemmer, "lang": self.lang, "count": self.count, "stop_words": sorted(self.stop)}, ensure_ascii=False
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, folder: Path, stem: str) -> "WordIndex":
        import bm25s

        target = folder / stem
        settings = json.loads((target / "settings.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(target), show_progress=False)
        return cls(model, settings["stemmer"], settings["lang"], settings["count"], frozenset(settings["stop_words"]))


def _one_edit(word: str) -> set[str]:
    """Every string one typo away, the first letter kept (typos there are rare, and changing it
    mostly gives another real word: "kind" and "find"): a letter left out, doubled or added, two
    neighbours swapped, or a letter changed for one next to it on the keyboard."""
    head, tail = word[:1], word[1:]
    splits = [(tail[:i], tail[i:]) for i in range(len(tail) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    changes = [a + c + b[1:] for a, b in splits if b for c in _KEY_NEIGHBOURS.get(b[0], "")]
    inserts = [a + c + b for a, b in splits for c in ascii_lowercase]
    return {head + edited for edited in deletes + swaps + changes + inserts} - {word}
