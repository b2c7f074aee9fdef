"""The customer store shared by channels, actions and the support app (see store.py)."""
