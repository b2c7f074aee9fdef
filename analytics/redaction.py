"""Redact customer text before analytics shows it (card numbers, IBANs, TCKNs, codes).

`redact` applies `privacy.redaction.redact(text) -> str` (the handoff feature's redactor) when that
module exists, then always a conservative mask of its own: every run of 6 or more digits (spaces,
dots and dashes allowed between them: card numbers, TCKNs, phone numbers, one-time codes) and
every IBAN-shaped token. Over-masking an order number is the accepted price.
"""

import importlib
import re
from typing import Callable

MASK = "[•••]"
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"(?<!\w)\d(?:[ .\-]?\d){5,}(?!\w)")


def local_redact(text: str) -> str:
    return _DIGIT_RUN.sub(MASK, _IBAN.sub(MASK, text))


def redactor() -> Callable[[str], str]:
    """The project's redactor if it is installed (privacy.redaction.redact), else local_redact."""
    try:
        module = importlib.import_module("privacy.redaction")
    except ImportError:
        return local_redact
    found = getattr(module, "redact", None)
    return found if callable(found) else local_redact


def redact(text: str) -> str:
    return local_redact(redactor()(text))
