"""The tracker store writes no card number, IBAN, TCKN or code (an agent's reply included), and keeps
the full text in memory for the turn that sends it; checked under the Rasa interpreter by
tests/rasa_checks/tracker_redaction_check.py on a real SQLite file."""

from tests.helpers.rasa_checks import run_rasa_check


def test_the_tracker_store_writes_texts_redacted() -> None:
    run_rasa_check("tracker_redaction_check.py")
