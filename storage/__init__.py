"""Shared plumbing for every process that keeps state: the support database (SQLite file, DESTEK_DB) and its connection rules."""
