"""The assistant. Two processes load parts of it, in two Python environments:

- the Rasa server (`.venv-rasa`, Python 3.10) loads components/ (config.yml names them) with the channels in
  connectors/ (credentials.yml), and what those import: language, kb_index's embedders, intent_encoder,
  handoff's settings and triggers, customer_store, storage;
- the action server (`.venv`, Python 3.11, `python -m bot.action_server`) loads actions/ and the domain
  packages they call (kb_index, feedback, handoff, incidents, checkout, campaigns, customer_store, privacy).

tests/architecture/test_imports.py keeps each side from importing the other's packages.
data/ holds the training data and the KB articles; models/ the trained model (built, not committed).
"""
