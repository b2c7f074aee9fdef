"""Turkish/English text: folding (Turkish-aware lower-casing without diacritics) and language detection.

Pure Python: the Rasa server (Python 3.10) loads it through bot/components as well as the action server."""
