"""Load and validate knowledge-base articles from a Markdown folder or a JSONL file.

Every problem raises KbError naming the file (and line) and the field, before anything
is written anywhere.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb_index.errors import KbError
from language.detect import SUPPORTED_LANGUAGES

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_REQUIRED = ("id", "title", "body", "lang")
_KNOWN = {"id", "title", "body", "lang", "url", "topic", "questions", "tags"}


@dataclass(frozen=True)
class Article:
    """One knowledge-base article in one language."""

    id: str
    title: str
    body: str
    lang: str
    url: str = ""
    topic: str = ""
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source: str = field(default="", compare=False)


def load_articles(source: Path) -> list[Article]:
    """All articles under `source` (a folder of .md files or a .jsonl file), validated."""
    if not source.exists():
        raise KbError(f"{source}: no such file or folder")
    if source.is_dir():
        records = list(_markdown_records(source))
        if not records:
            raise KbError(f"{source}: no Markdown (.md) articles found")
    else:
        records = list(_jsonl_records(source))
        if not records:
            raise KbError(f"{source}: no articles found (empty file)")
    articles = [_validated(where, record) for where, record in records]
    _check_unique_ids(articles)
    return articles


def _markdown_records(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(folder.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        yield str(path), _parse_markdown(path)


def _parse_markdown(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KbError(f"{path}: not valid UTF-8 text") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise KbError(f"{path}: line 1: missing front matter (the file must start with '---')")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise KbError(f"{path}: front matter is not closed by a '---' line") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 2}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise KbError(f"{path}: {line}front matter is not valid YAML ({problem})") from None
    if not isinstance(meta, dict):
        raise KbError(f"{path}: front matter must be a mapping of fields")
    if "body" in meta:
        raise KbError(f"{path}: field 'body': the body goes below the front matter, not in it")
    meta["body"] = "\n".join(lines[end + 1 :]).strip()
    return meta


def _jsonl_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise KbError(f"{path}: not valid UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KbError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise KbError(f"{where}: each line must be a JSON object")
        yield where, record


def _validated(where: str, record: dict[str, Any]) -> Article:
    for name in _REQUIRED:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise KbError(f"{where}: field '{name}' is missing or empty")
        if not isinstance(value, str):
            raise KbError(f"{where}: field '{name}' must be text")
    unknown = sorted(set(record) - _KNOWN)
    if unknown:
        raise KbError(f"{where}: field '{unknown[0]}' is not a known article field")
    article_id = record["id"].strip()
    if not _ID.match(article_id):
        raise KbError(f"{where}: field 'id': {article_id!r} may use only letters, digits, '.', '_' and '-'")
    lang = record["lang"].strip()
    if lang not in SUPPORTED_LANGUAGES:
        raise KbError(f"{where}: field 'lang': {lang!r} is not a supported language ({', '.join(SUPPORTED_LANGUAGES)})")
    url = _optional_text(where, record, "url")
    if url and not url.startswith(("https://", "http://", "/")):
        raise KbError(f"{where}: field 'url': {url!r} is not an http(s) URL or a site path")
    return Article(
        id=article_id,
        title=record["title"].strip(),
        body=record["body"].strip(),
        lang=lang,
        url=url,
        topic=_optional_text(where, record, "topic") or article_id,
        questions=_text_list(where, record, "questions"),
        tags=_text_list(where, record, "tags"),
        source=where,
    )


def _optional_text(where: str, record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise KbError(f"{where}: field '{name}' must be text")
    return value.strip()


def _text_list(where: str, record: dict[str, Any], name: str) -> tuple[str, ...]:
    value = record.get(name)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise KbError(f"{where}: field '{name}' must be a list of texts")
    for position, item in enumerate(value, start=1):
        if not isinstance(item, str) or not item.strip():
            raise KbError(f"{where}: field '{name}': item {position} must be non-empty text")
    return tuple(item.strip() for item in value)


def _check_unique_ids(articles: list[Article]) -> None:
    seen: dict[str, str] = {}
    for article in articles:
        if article.id in seen:
            raise KbError(f"{article.source}: field 'id': {article.id!r} is already used by {seen[article.id]}")
        seen[article.id] = article.source
