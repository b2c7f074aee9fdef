"""Campaign texts: one per language, with {name} / {first_name} filled in per recipient."""

import string
from collections.abc import Mapping

from validation.fields import check_text

VARIABLES = ("name", "first_name")
LANGUAGES = ("tr", "en")
MAX_LENGTH = 1500  # Twilio's limit is 1600 per message; leave room for the longest name


def check_texts(texts: Mapping[str, str]) -> dict[str, str]:
    """Keep the non-empty texts; raises ValueError naming the field (message_tr, message_en)."""
    cleaned = {lang: (texts.get(lang) or "").strip() for lang in LANGUAGES}
    cleaned = {lang: text for lang, text in cleaned.items() if text}
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"field message_{unknown[0]}: language {unknown[0]!r} is not one of {', '.join(LANGUAGES)}")
    if not cleaned:
        raise ValueError("field message: a text in at least one language (tr, en) is required")
    for lang, text in cleaned.items():
        if len(text) > MAX_LENGTH:
            raise ValueError(f"field message_{lang}: {len(text)} characters, at most {MAX_LENGTH}")
        check_text(text, f"message_{lang}", MAX_LENGTH, multiline=True)
        try:
            names = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
        except ValueError as error:
            raise ValueError(f"field message_{lang}: {error} (write {{{{ and }}}} for literal braces)") from None
        for name in names:
            if name not in VARIABLES:
                raise ValueError(
                    f"field message_{lang}: unknown variable {{{name}}} (known: {', '.join('{' + v + '}' for v in VARIABLES)})"
                )
    return cleaned


def render(texts: Mapping[str, str], language: str | None, name: str | None) -> str:
    """The text in the recipient's language (else the first one there is), variables filled."""
    lang = language if language is not None and language in texts else next(iter(texts))
    full = (name or "").strip()
    first = full.split(" ")[0] if full else ""
    return texts[lang].format(name=full, first_name=first).strip()
