"""Add a customer message as a training example of an intent, in place, keeping the file as it was.

The NLU files (`bot/data/nlu/<lang>.yml`, or any `*.yml` under `bot/data/nlu/<lang>/`) are
edited by people in git, so the writer inserts one line into the intent's `examples: |` block
and leaves every other byte (order, comments, blank lines) untouched. Writes hold an exclusive
file lock and replace the file atomically, so two staff members adding examples at once both
land and a crash never leaves half a file.
"""

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from filelock import FileLock

from storage.files import atomic_write, lock_path

LANGUAGES = ("tr", "en")
MAX_EXAMPLE_CHARS = 300
_INTENT_LINE = re.compile(r"^- intent:\s*(?P<name>[^\s#]+)\s*(#.*)?$")
_EXAMPLES_LINE = re.compile(r"^(?P<indent>\s+)examples:\s*\|[-+]?\s*(#.*)?$")
_ITEM_LINE = re.compile(r"^(?P<indent>\s*)- (?P<text>.*)$")
_ENTITY_MARKUP = re.compile(r"\[[^\]]+\]\s*[({]")
_LOCK_TIMEOUT_S = 10


class NluWriteError(ValueError):
    """A request the writer refuses; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class IntentBlock:
    path: Path
    intent: str
    examples_line: int  # 0-based index of the `examples: |` line
    last_item_line: int  # 0-based index of the block's last `- ` line
    item_indent: str
    examples: tuple[str, ...]


def normalised(text: str) -> str:
    """Case, accents of the same letter and spacing do not make an example new."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def language_files(nlu_dir: Path, language: str) -> list[Path]:
    """The NLU files of one language: `<lang>.yml` and everything under `<lang>/`."""
    if language not in LANGUAGES:
        raise NluWriteError(f"language {language!r} is not supported ({', '.join(LANGUAGES)})")
    files = [nlu_dir / f"{language}.yml", nlu_dir / f"{language}.yaml"]
    files += sorted((nlu_dir / language).rglob("*.y*ml")) if (nlu_dir / language).is_dir() else []
    return [path for path in files if path.is_file()]


def intent_blocks(path: Path, lines: list[str] | None = None) -> Iterator[IntentBlock]:
    """Each `- intent:` entry of a file that has an `examples: |` block."""
    lines = lines if lines is not None else path.read_text(encoding="utf-8").splitlines()
    intent, position = None, 0
    while position < len(lines):
        match = _INTENT_LINE.match(lines[position])
        if match:
            intent = match.group("name")
        elif lines[position].startswith("- "):  # another kind of entry (synonym, regex, lookup)
            intent = None
        examples = _EXAMPLES_LINE.match(lines[position]) if intent else None
        if examples:
            key_indent = len(examples.group("indent"))
            last, indent, items = None, "", []
            cursor = position + 1
            while cursor < len(lines):
                line = lines[cursor]
                if line.strip() and len(line) - len(line.lstrip()) <= key_indent:
                    break
                item = _ITEM_LINE.match(line)
                if item:
                    last, indent = cursor, item.group("indent")
                    items.append(item.group("text").strip())
                cursor += 1
            if last is not None and intent:
                yield IntentBlock(path, intent, position, last, indent, tuple(items))
            intent, position = None, cursor
            continue
        position += 1


def known_intents(nlu_dir: Path, language: str) -> list[str]:
    return sorted({block.intent for path in language_files(nlu_dir, language) for block in intent_blocks(path)})


def add_example(nlu_dir: Path, language: str, intent: str, text: str) -> Path:
    """Append `text` to `intent`'s examples in the `language` files; returns the file written."""
    example = _clean(text)
    files = language_files(nlu_dir, language)
    if not files:
        raise NluWriteError(f"no NLU file for language {language!r} under {nlu_dir}")
    target = _block_file(files, intent, language)
    with FileLock(lock_path(target, "nlu"), timeout=_LOCK_TIMEOUT_S):
        _refuse_duplicate(nlu_dir, example)
        lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
        block = next((b for b in intent_blocks(target, [line.rstrip("\r\n") for line in lines]) if b.intent == intent), None)
        if block is None:  # the file changed between the lookup and the lock
            raise NluWriteError(f"intent {intent!r} is no longer in {target}; reload and try again")
        newline = "\r\n" if lines[block.last_item_line].endswith("\r\n") else "\n"
        if not lines[block.last_item_line].endswith(("\n", "\r")):
            lines[block.last_item_line] += newline
        lines.insert(block.last_item_line + 1, f"{block.item_indent}- {example}{newline}")
        new_text = "".join(lines)
        _check_written(target, new_text, intent, example)
        atomic_write(target, new_text)
    return target


def _clean(text: str) -> str:
    example = " ".join(text.split())
    if not example:
        raise NluWriteError("the example is empty")
    if len(example) > MAX_EXAMPLE_CHARS:
        raise NluWriteError(f"the example is {len(example)} characters long; at most {MAX_EXAMPLE_CHARS} are allowed")
    if _ENTITY_MARKUP.search(example):
        raise NluWriteError("the example contains '[...](...)' or '[...]{...}', which Rasa reads as entity markup; edit the file by hand")
    return example


def _block_file(files: list[Path], intent: str, language: str) -> Path:
    for path in files:
        if any(block.intent == intent for block in intent_blocks(path)):
            return path
    available = sorted({block.intent for path in files for block in intent_blocks(path)})
    raise NluWriteError(f"unknown intent {intent!r} for language {language!r}; known intents: {', '.join(available)}")


def _refuse_duplicate(nlu_dir: Path, example: str) -> None:
    """Rasa rejects one example under two intents, and a repeat adds nothing: check every language."""
    wanted = normalised(example)
    for language in LANGUAGES:
        for path in language_files(nlu_dir, language):
            for block in intent_blocks(path):
                if any(normalised(existing) == wanted for existing in block.examples):
                    raise NluWriteError(f"{example!r} is already an example of intent {block.intent!r} in {path.name}")


def _check_written(path: Path, text: str, intent: str, example: str) -> None:
    """Parse the new content before it replaces the file: a bug here must not break training data."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NluWriteError(f"{path.name}: the edit would make invalid YAML ({exc.__class__.__name__}); nothing was written") from None
    entries = [entry for entry in (data or {}).get("nlu", []) if isinstance(entry, dict) and entry.get("intent") == intent]
    items = [
        line.strip()[2:].strip()
        for entry in entries
        for line in str(entry.get("examples", "")).splitlines()
        if line.strip().startswith("- ")
    ]
    if example not in items:
        raise NluWriteError(f"{path.name}: the example did not land in intent {intent!r}; nothing was written")
