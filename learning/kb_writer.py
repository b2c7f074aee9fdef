"""Write accepted suggestions into the KB's Markdown files, safely.

Same guarantees as the review page's NLU writer (tuning/nlu_writer.py): an exclusive lock, the
edit checked before it replaces anything, an atomic replace, every other byte of the file kept.
The check is the KB's own: the whole source, with the edit applied in a temporary copy, must
load with kb_index's validation (what `kb_index build` runs) and add no KB-lint error (duplicate
question, broken link); a new article's missing counterpart in the other language is allowed and
reported (docs/learning.md).
"""

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from kb_index.articles import Article, load_articles
from kb_index.errors import KbError
from language.detect import SUPPORTED_LANGUAGES
from language.fold import fold
from storage.files import atomic_write, lock_path
from tuning.kb_lint import lint, question_key

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 8000
MAX_QUESTION_CHARS = 300
_LOCK_TIMEOUT_S = 10
_QUESTIONS_LINE = re.compile(r"^questions:\s*(#.*)?$")
_ITEM = re.compile(r"^(?P<indent>\s*)- ")


class KbWriteError(ValueError):
    """A change the writer refuses; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class Draft:
    language: str
    title: str
    body: str
    questions: tuple[str, ...]


def add_questions(source: Path, article_id: str, questions: list[str]) -> tuple[Path, list[str]]:
    """Add the customer wordings an article lacks as alternate questions; returns its file and what was added."""
    with FileLock(lock_path(source, "kb"), timeout=_LOCK_TIMEOUT_S):
        articles = _articles(source)
        article = next((a for a in articles if a.id == article_id), None)
        if article is None:
            raise KbWriteError(f"field 'article_id': no article {article_id!r} in {source}")
        path = Path(article.source)
        known = {question_key(q) for q in (article.title, *article.questions)}
        new = []
        for question in questions:
            text = _clean(question, "question", MAX_QUESTION_CHARS)
            if question_key(text) and question_key(text) not in known:
                known.add(question_key(text))
                new.append(text)
        if not new:
            raise KbWriteError(f"article {article_id!r} already has these questions; nothing was written")
        text = _with_questions(path.read_text(encoding="utf-8"), new)
        _check_and_write(source, path, text)
        return path, new


def add_article(source: Path, draft: Draft) -> tuple[Path, str]:
    """A new article file `<source>/<lang>/<slug>.md`; returns its path and id."""
    if draft.language not in SUPPORTED_LANGUAGES:
        raise KbWriteError(f"field 'language': {draft.language!r} is not one of {', '.join(SUPPORTED_LANGUAGES)}")
    title = _clean(draft.title, "title", MAX_TITLE_CHARS)
    body = _clean(draft.body, "body", MAX_BODY_CHARS, multiline=True)
    questions = list(dict.fromkeys(_clean(q, "question", MAX_QUESTION_CHARS) for q in draft.questions if q.strip()))
    slug = _slug(title)
    article_id = f"{slug}-{draft.language}"
    with FileLock(lock_path(source, "kb"), timeout=_LOCK_TIMEOUT_S):
        articles = _articles(source)
        if any(a.id == article_id for a in articles):
            raise KbWriteError(f"field 'title': an article with id {article_id!r} exists already; change the title")
        folder = source / draft.language if (source / draft.language).is_dir() else source
        path = folder / f"{slug}.md"
        if path.exists():
            raise KbWriteError(f"field 'title': {path} exists already; change the title")
        front = [
            "---",
            f"id: {article_id}",
            f"lang: {draft.language}",
            f"topic: {slug}",
            f"title: {json.dumps(title, ensure_ascii=False)}",
            "questions:",
            *(f"  - {json.dumps(q, ensure_ascii=False)}" for q in questions if question_key(q) != question_key(title)),
            "tags: [from-agents]",
            "---",
        ]
        text = "\n".join(front) + "\n" + body + "\n"
        _check_and_write(source, path, text, new_topic=slug)
        return path, article_id


def _articles(source: Path) -> list[Article]:
    if not source.is_dir():
        raise KbWriteError(f"{source}: the KB source must be a folder of Markdown articles to be edited here")
    try:
        return load_articles(source)
    except KbError as error:
        raise KbWriteError(f"the KB does not load as it is ({error}); fix it first") from None


def _clean(text: str, field: str, limit: int, multiline: bool = False) -> str:
    if "\x00" in text or any(ord(c) < 32 and c not in ("\n", "\t", "\r") for c in text):
        raise KbWriteError(f"field '{field}': control characters are not allowed")
    cleaned = text.replace("\r\n", "\n").strip() if multiline else " ".join(text.split())
    if not cleaned:
        raise KbWriteError(f"field '{field}': empty")
    if len(cleaned) > limit:
        raise KbWriteError(f"field '{field}': {len(cleaned)} characters, at most {limit}")
    if multiline and cleaned.startswith("---"):
        raise KbWriteError(f"field '{field}': must not start with '---'")
    return cleaned


def _slug(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", fold(title)).split()
    slug = "-".join(words[:8])[:80].strip("-")
    if not slug:
        raise KbWriteError("field 'title': needs letters or digits")
    return slug


def _with_questions(text: str, new: list[str]) -> str:
    """The file with `new` appended to the front matter's `questions:` list (created when missing)."""
    lines = text.splitlines(keepends=True)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if not lines or lines[0].strip() != "---" or end is None:
        raise KbWriteError("the article has no front matter")
    items = [f"{json.dumps(q, ensure_ascii=False)}" for q in new]
    start = next((i for i in range(1, end) if _QUESTIONS_LINE.match(lines[i].rstrip("\n"))), None)
    if start is None:
        if any(lines[i].startswith("questions:") for i in range(1, end)):
            raise KbWriteError("the article's questions are not a block list ('questions:' then '- …' lines); edit it by hand")
        block = ["questions:\n", *(f"  - {item}\n" for item in items)]
        return "".join(lines[:end] + block + lines[end:])
    last, indent = start, "  "
    for i in range(start + 1, end):
        match = _ITEM.match(lines[i])
        if match is None:
            if lines[i].strip() and not lines[i].startswith((" ", "\t")):
                break
            continue
        last, indent = i, match.group("indent")
    newline = "" if lines[last].endswith("\n") else "\n"
    added = [f"{indent}- {item}\n" for item in items]
    return "".join(lines[: last + 1]) + newline + "".join(added) + "".join(lines[last + 1 :])


def _check_and_write(source: Path, path: Path, text: str, new_topic: str = "") -> None:
    """Apply the edit to a temporary copy of the KB, validate and lint it there, then replace the real file."""
    with tempfile.TemporaryDirectory(prefix="destek-kb-edit-") as folder:
        copy = Path(folder) / "kb"
        shutil.copytree(source, copy)
        before = {f.allow_key or f.message for f in lint(copy) if f.level == "error"}
        target = copy / path.relative_to(source)
        target.write_text(text, encoding="utf-8")
        try:
            load_articles(copy)
        except KbError as error:
            raise KbWriteError(
                f"the edit would not pass KB validation ({str(error).replace(str(copy), str(source))}); nothing was written"
            ) from None
        after = [f for f in lint(copy) if f.level == "error" and (f.allow_key or f.message) not in before]
        after = [f for f in after if not (new_topic and f.allow_key == f"missing-counterpart:{new_topic}")]
        if after:
            message = after[0].message.replace(str(copy), str(source))
            raise KbWriteError(f"the edit would add a KB lint error ({message}); nothing was written")
    atomic_write(path, text)
