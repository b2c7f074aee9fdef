"""The WhatsApp acknowledgement's work does not depend on how many messages the customer sent before
(issue 18, docs/turn-cost.md): counted, not timed, by tests/rasa_checks/whatsapp_ack_check.py under the
Rasa interpreter (the channel is a Rasa input channel). At a customer's 2,001st message (2,000 earlier ones
in the inbound log, 4,000 reply statuses in the outbound log) the acknowledgement runs the same SQL, the same
number of SQLite VM instructions and as many Python calls as at their 2nd, and as for a new customer's 1st;
the channel's own handling of the message (window, held texts, choices) too."""

import pytest

from tests.helpers.rasa_checks import run_rasa_check


@pytest.mark.sqlite_only("counts SQLite's VM instructions, on a file of its own")
def test_the_ack_does_the_same_work_after_2000_earlier_messages() -> None:
    output = run_rasa_check("whatsapp_ack_check.py")
    assert "message 2001: ack: 2 statements" in output
