"""Replay recorded conversations through the current model and index, offline (docs/learning.md)."""
