"""Redact card numbers, IBANs, Turkish ID numbers (TCKN) and one-time codes from text.

Candidates come from regular expressions and are kept only when their checksum holds
(Luhn for cards, ISO 13616 mod-97 for IBANs, the TCKN digit rules), so order numbers and
phone numbers survive. `redact(text)` is what stores call before writing a transcript;
`redact_for_display(text)` also masks every long digit run and IBAN-shaped token, for screens
shown outside the conversation (dashboard, review page); `redaction_pipeline()` gives a blank spaCy pipeline whose `doc.ents` are the same findings,
for analytics code that wants tokens. No model, no download.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

CARD, IBAN, TCKN, OTP = "CARD", "IBAN", "TCKN", "OTP"
PLACEHOLDERS = {CARD: "[CARD]", IBAN: "[IBAN]", TCKN: "[TCKN]", OTP: "[CODE]"}
IBAN_LENGTHS = {"TR": 26, "DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "BE": 16, "AT": 20, "CH": 21}

# Maximal runs that may hold a card number / an IBAN; the valid part is searched inside.
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9])\d[\d -]*\d")
_IBAN_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}[A-Za-z0-9 ]*[A-Za-z0-9]")
_TCKN = re.compile(r"(?<![\w])[1-9]\d{10}(?![\w])")
_CODE_WORDS = r"(?:kod(?:u|unuz|um|unu)?|code|otp|pin|şifre(?:si|niz)?|sifre(?:si|niz)?|password|passcode)"
_OTP_AFTER = re.compile(rf"(?i)\b{_CODE_WORDS}\b\s*(?:is|:|=|-)?\s*(\d{{4,8}})(?![\w])")
_OTP_BEFORE = re.compile(rf"(?i)(?<![\w])(\d{{4,8}})\s+(?:(?:doğrulama|dogrulama|onay|tek kullanımlık|sms)\s+)?{_CODE_WORDS}\b")
DISPLAY_MASK = "[•••]"
_IBAN_SHAPED = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_LONG_DIGIT_RUN = re.compile(r"(?<!\w)\d(?:[ .\-]?\d){5,}(?!\w)")


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    iban = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def tckn_valid(number: str) -> bool:
    if not re.fullmatch(r"[1-9]\d{10}", number):
        return False
    d = [int(ch) for ch in number]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d[9] == tenth and d[10] == sum(d[:10]) % 10


def find(text: str) -> list[Finding]:
    """Every valid card number, IBAN, TCKN and one-time code, without overlaps, in order."""
    found: list[Finding] = []
    for match in _IBAN_RUN.finditer(text):
        ends = [m.end() for m in re.finditer(r"[A-Za-z0-9]+", match.group(0))]
        for end in reversed(ends):
            if iban_valid(match.group(0)[:end]):
                found.append(Finding(IBAN, match.start(), match.start() + end))
                break
    for match in _DIGIT_RUN.finditer(text):
        found += _cards_in(match.group(0), match.start())
    for match in _TCKN.finditer(text):
        if tckn_valid(match.group(0)):
            found.append(Finding(TCKN, match.start(), match.end()))
    for pattern in (_OTP_AFTER, _OTP_BEFORE):
        for match in pattern.finditer(text):
            found.append(Finding(OTP, match.start(1), match.end(1)))
    return _without_overlaps(found)


def _cards_in(run: str, offset: int) -> list[Finding]:
    """The longest Luhn-valid 13–19 digit sequences made of whole digit groups of a run."""
    groups = list(re.finditer(r"\d+", run))
    found: list[Finding] = []
    first = 0
    while first < len(groups):
        for last in range(len(groups) - 1, first - 1, -1):
            digits = "".join(g.group(0) for g in groups[first : last + 1])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                found.append(Finding(CARD, offset + groups[first].start(), offset + groups[last].end()))
                first = last
                break
        first += 1
    return found


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if not kept or finding.start >= kept[-1].end:
            kept.append(finding)
    return kept


def redact(text: str) -> str:
    """The text with each finding replaced by a placeholder such as [CARD]."""
    if not text:
        return text
    pieces, last = [], 0
    for finding in find(text):
        pieces += [text[last : finding.start], PLACEHOLDERS[finding.kind]]
        last = finding.end
    return "".join(pieces) + text[last:]


def mask_long_numbers(text: str) -> str:
    """Every run of 6 or more digits (spaces, dots, dashes between them) and every IBAN-shaped
    token replaced by [•••]: what a checksum misses, at the price of hiding order numbers."""
    return _LONG_DIGIT_RUN.sub(DISPLAY_MASK, _IBAN_SHAPED.sub(DISPLAY_MASK, text))


def redact_for_display(text: str) -> str:
    """redact(), then mask_long_numbers(): for customer text shown outside its conversation."""
    return mask_long_numbers(redact(text))


def redact_value(value: Any) -> Any:
    """redact() applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    return value


@lru_cache(maxsize=1)
def redaction_pipeline() -> Any:
    """A blank multilingual spaCy pipeline whose doc.ents are the findings (labels CARD, IBAN, TCKN, OTP)."""
    import spacy
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.util import filter_spans

    if not Language.has_factory("destek_redactor"):

        @Language.component("destek_redactor")
        def destek_redactor(doc: Doc) -> Doc:
            spans = [doc.char_span(f.start, f.end, label=f.kind, alignment_mode="expand") for f in find(doc.text)]
            doc.ents = filter_spans([span for span in spans if span is not None])
            return doc

    nlp = spacy.blank("xx")
    nlp.add_pipe("destek_redactor")
    return nlp
