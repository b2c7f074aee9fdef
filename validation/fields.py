"""Checks for what comes into the support app from outside: text, numbers and times.

Every check raises InputError (a ValueError) with one line naming the field, so a caller can
answer 400 with it and store nothing. Standard library only: the stores call them too.
support_app.input_guard applies the checks every request needs before any route sees it; the
field-specific ones (lengths, ranges) are called where each field is read.
"""

import math
import re
from datetime import datetime, timezone
from typing import Any

# C0 controls (NUL, ESC, …), DEL and C1 controls; tab, line feed and carriage return are
# allowed in multi-line text only.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Times the pages can show in any time zone: anything outside is a typo or an attack.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp()


class InputError(ValueError):
    """Bad input; the message is one line naming the field."""


def control_character(text: str, multiline: bool = True) -> str | None:
    """A description of the first control character in `text` (e.g. "NUL at character 5"), or None."""
    match = (_CONTROL if multiline else CONTROL_OR_NEWLINE).search(text)
    if match is None:
        return None
    code = ord(match.group(0))
    name = "NUL" if code == 0 else f"control character U+{code:04X}"
    return f"{name} at character {match.start() + 1}"


def check_text(value: Any, field: str, max_chars: int, *, multiline: bool = False, required: bool = False) -> str:
    """`value` stripped, if it is text without control characters and at most `max_chars` long."""
    if not isinstance(value, str):
        raise InputError(f"field '{field}': give text")
    problem = control_character(value, multiline)
    if problem:
        raise InputError(f"field '{field}': {problem} is not allowed")
    text = value.strip()
    if required and not text:
        raise InputError(f"field '{field}': empty")
    if len(text) > max_chars:
        raise InputError(f"field '{field}': at most {max_chars} characters, not {len(text)}")
    return text


def finite_number(value: Any, field: str) -> float:
    """A real, finite number (not a bool, NaN or ±∞)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"field '{field}': give a number")
    try:
        number = float(value)
    except OverflowError:  # an int too big for a float
        raise InputError(f"field '{field}': {value} is out of range") from None
    if not math.isfinite(number):
        raise InputError(f"field '{field}': {value} is not a finite number")
    return number


def check_timestamp(value: Any, field: str) -> float:
    """Unix seconds between 2000-01-01 and 2100-01-01 (UTC)."""
    number = finite_number(value, field)
    if not EARLIEST <= number < LATEST:
        raise InputError(f"field '{field}': {value} is not a time between 2000-01-01 and 2100-01-01")
    return number


MAX_LOGIN_CHARS = 100
MAX_PASSWORD_CHARS = 1024


def check_credentials(login: str, password: str) -> str:
    """The login, folded; raises InputError for an over-long login or password (before any hashing)."""
    name = check_text(login, "login", MAX_LOGIN_CHARS).lower()
    if len(password) > MAX_PASSWORD_CHARS:
        raise InputError(f"field 'password': at most {MAX_PASSWORD_CHARS} characters")
    return name
