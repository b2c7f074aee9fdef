"""Split articles into searchable entries: the title, each alternate question, and passages.

Passages follow paragraph boundaries; a long paragraph is cut at sentence boundaries
found by spaCy's rule-based sentencizer (there is no trained Turkish pipeline), and a
sentence longer than a passage (a run-on text, a table flattened into one line) is cut
into pieces of at most `max_words` words.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from kb_index.articles import Article

EntryKind = Literal["title", "question", "passage"]

_MARKUP = re.compile(r"\*\*|__|`|^#+\s*", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


@dataclass(frozen=True)
class Entry:
    """One searchable text of an article; `passage` indexes the article's passages (-1: none)."""

    article: int
    kind: EntryKind
    text: str
    passage: int = -1


def clean_markdown(text: str) -> str:
    """Plain text for embedding and display: links keep their label, emphasis marks go."""
    return _MARKUP.sub("", _LINK.sub(r"\1", text)).strip()


def split_passages(body: str, lang: str, max_words: int = 80) -> list[str]:
    """Paragraphs of `body`; those longer than `max_words` are cut between lines (lists keep
    their line breaks) or, for running text, between sentences."""
    passages: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        text = clean_markdown(paragraph)
        if not text:
            continue
        if len(text.split()) <= max_words:
            passages.append(text)
            continue
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            passages.extend(_group(_capped(lines, max_words), max_words, "\n"))
        else:
            passages.extend(_group(_capped(sentences(text, lang), max_words), max_words, " "))
    return passages


def article_entries(index: int, article: Article, passages: list[str]) -> list[Entry]:
    """The entries that represent one article in the index."""
    entries = [Entry(index, "title", article.title)]
    entries += [Entry(index, "question", question) for question in article.questions]
    entries += [Entry(index, "passage", text, number) for number, text in enumerate(passages)]
    return entries


def article_document(article: Article, passages: list[str]) -> str:
    """The article as one text for word BM25: title, alternate questions and passages."""
    return "\n".join([article.title, *article.questions, *passages])


def sentences(text: str, lang: str) -> list[str]:
    """The sentences of a plain text, by spaCy's rule-based sentencizer."""
    doc = _sentencizer(lang)(text)
    return [sentence.text.strip() for sentence in doc.sents if sentence.text.strip()]


def _capped(units: list[str], max_words: int) -> list[str]:
    """Units (sentences or lines) of more than `max_words` words cut into pieces of at most that."""
    pieces: list[str] = []
    for unit in units:
        words = unit.split()
        if len(words) <= max_words:
            pieces.append(unit)
            continue
        pieces.extend(" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words))
    return pieces


def _group(units: list[str], max_words: int, separator: str) -> list[str]:
    """Consecutive units (lines or sentences) joined into passages of at most `max_words`."""
    groups: list[str] = []
    current: list[str] = []
    for unit in units:
        if current and len(" ".join([*current, unit]).split()) > max_words:
            groups.append(separator.join(current))
            current = []
        current.append(unit)
    if current:
        groups.append(separator.join(current))
    return groups


@lru_cache(maxsize=4)
def _sentencizer(lang: str) -> Any:
    import spacy

    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp
