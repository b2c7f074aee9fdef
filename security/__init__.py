"""Secrets and exposure policy shared by every Destek process (docs/security.md)."""
