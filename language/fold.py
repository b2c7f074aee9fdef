"""Text folding shared by lexical matching and language detection.

Customers often type Turkish without diacritics ("siparisim nerde"), so lexical matching
compares folded text: Turkish-aware lower-casing, then ç→c, ğ→g, ı→i, ö→o, ş→s, ü→u.
"""

import re
import unicodedata

_TURKISH_UPPER = str.maketrans({"I": "ı", "İ": "i"})
_FOLD = str.maketrans({"ç": "c", "ğ": "g", "ı": "i", "ö": "o", "ş": "s", "ü": "u", "â": "a", "î": "i", "û": "u"})
_SPACES = re.compile(r"\s+")


def turkish_lower(text: str) -> str:
    """Lower-case with Turkish dotted/dotless i rules (str.lower maps I to i)."""
    return text.translate(_TURKISH_UPPER).lower()


def fold(text: str) -> str:
    """Lower-case, strip diacritics and collapse white space."""
    lowered = turkish_lower(text).translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()
