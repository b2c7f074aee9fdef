"""Plain-text shaping for WhatsApp: splitting long replies, numbered options for buttons, and
the opt-out / opt-in keywords with their confirmations."""

import re
from typing import Any

from language.fold import fold

MAX_BODY = 1600  # Twilio's limit for one message body

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")

# keyword (as language.fold folds it: Turkish lower case, no diacritics) -> (opted_out, language of the keyword)
KEYWORDS = {
    "stop": (True, "en"),
    "unsubscribe": (True, "en"),
    "dur": (True, "tr"),
    "iptal": (True, "tr"),
    "start": (False, "en"),
    "basla": (False, "tr"),
}
CONFIRMATIONS = {
    (True, "tr"): "WhatsApp bildirimlerinden çıkarıldınız; size artık kampanya veya bilgilendirme mesajı göndermeyeceğiz. "
    "Yeniden almak için BAŞLA yazın. Sorularınızı yine de buradan sorabilirsiniz.",
    (True, "en"): "You have been unsubscribed; we will not send you promotions or notices on WhatsApp any more. "
    "Reply START to subscribe again. You can still ask us questions here.",
    (False, "tr"): "WhatsApp bildirimlerine yeniden abone oldunuz. Çıkmak için istediğiniz zaman DUR yazabilirsiniz.",
    (False, "en"): "You are subscribed to WhatsApp notices again. Reply STOP at any time to unsubscribe.",
}


def opt_keyword(text: str) -> tuple[bool, str] | None:
    """(opted_out, keyword language) when the whole message is an opt-out or opt-in keyword, in any case,
    with or without Turkish letters (BAŞLA, basla, İPTAL, IPTAL), and a trailing "." or "!"."""
    return KEYWORDS.get(fold(text).strip(".!"))


def split_message(text: str, limit: int = MAX_BODY) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, else sentences, else words."""
    pieces: list[str] = []
    for paragraph in (p.strip() for p in text.strip().split("\n\n")):
        if paragraph:
            pieces.extend(_cut(paragraph, limit))
    return _pack(pieces, limit, "\n\n")


def _cut(paragraph: str, limit: int) -> list[str]:
    if len(paragraph) <= limit:
        return [paragraph]
    sentences = _SENTENCE_END.split(paragraph)
    if len(sentences) > 1:
        return _pack([part for sentence in sentences for part in _cut(sentence, limit)], limit, " ")
    words = paragraph.split(" ")
    if len(words) > 1:
        return _pack([part for word in words for part in _cut(word, limit)], limit, " ")
    return [paragraph[start : start + limit] for start in range(0, len(paragraph), limit)]


def _pack(parts: list[str], limit: int, joiner: str) -> list[str]:
    packed: list[str] = []
    for part in parts:
        if packed and len(packed[-1]) + len(joiner) + len(part) <= limit:
            packed[-1] += joiner + part
        else:
            packed.append(part)
    return packed


def numbered_options(text: str, buttons: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The text followed by "1. title" lines, and the payloads in the same order."""
    lines = [f"{number}. {button.get('title', '')}" for number, button in enumerate(buttons, start=1)]
    payloads = [str(button.get("payload") or button.get("title", "")) for button in buttons]
    return (text.rstrip() + "\n\n" + "\n".join(lines)).strip(), payloads


def chosen_payload(text: str, payloads: list[str]) -> str | None:
    """The payload of option N when the message is just the number N of a shown option."""
    match = _CHOICE.match(text or "")
    if not match:
        return None
    number = int(match.group(1))
    return payloads[number - 1] if 1 <= number <= len(payloads) else None
