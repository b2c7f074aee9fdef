"""How angry or frustrated one customer message sounds, from the TR/EN lexicon in the
handoff settings (rule-based, no model; Python 3.10-compatible for the Rasa policy)."""

import re

from handoff.settings import HandoffSettings, load, matches

_SHOUT = re.compile(r"[!?]{2,}")


def anger_score(text: str, settings: HandoffSettings | None = None) -> float:
    """0 (calm) .. 1 (furious): lexicon matches plus shouting ("!!!", capitals), capped at 1."""
    settings = settings or load()
    weights = settings.mood_weights
    score = weights["strong"] * len(matches(settings.strong_terms, text))
    score += weights["mild"] * len(matches(settings.mild_terms, text))
    letters = [ch for ch in text if ch.isalpha()]
    if _SHOUT.search(text) or (len(letters) >= 8 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7):
        score += weights["shouting"]
    return round(min(1.0, score), 2)
