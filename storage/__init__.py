"""Shared plumbing for every process that keeps state: the support database's connection rules and base store
(sqlite.py), and every default file path with the variable that overrides it (paths.py)."""
