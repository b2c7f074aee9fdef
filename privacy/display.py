"""Redact customer text before analytics shows it (card numbers, IBANs, TCKNs, codes).

`redact` applies the project's redactor (privacy.redaction: checksum-validated cards, IBANs,
TCKNs and one-time codes), then a conservative mask of its own for what a checksum misses in
screens shown outside the conversation: every run of 6 or more digits (spaces, dots and dashes
allowed between them) and every IBAN-shaped token. Over-masking an order number is the accepted price.
"""

import re

from privacy.redaction import redact as redact_sensitive

MASK = "[•••]"
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"(?<!\w)\d(?:[ .\-]?\d){5,}(?!\w)")


def local_redact(text: str) -> str:
    return _DIGIT_RUN.sub(MASK, _IBAN.sub(MASK, text))


def redact(text: str) -> str:
    return local_redact(redact_sensitive(text))
