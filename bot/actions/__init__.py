"""Destek's custom actions, one module per skill. rasa-sdk registers every Action subclass here."""
