"""Destek's settings: every environment variable declared once, with its type, default and meaning
(docs/configuration.md is generated from the declarations: `python -m settings docs`).

- `settings.model` (pydantic-settings, Python 3.11): the declarations, grouped by area, and
  `get_settings()`, read once per process at start and validated (a bad value stops the process with
  one line naming the variable). The action server, the support app, the campaign scheduler and the
  tools use it.
- `settings.rasa_side` (standard library): the few values the Rasa server (Python 3.10, pydantic 1,
  where pydantic-settings does not install) reads, with the same names, types and defaults;
  tests/settings checks it against `settings.model`.

Nothing is imported here: the Rasa process imports `settings.rasa_side` alone.
"""
