"""Custom Rasa graph components. Imported by the Rasa server (Python 3.10 environment)."""
