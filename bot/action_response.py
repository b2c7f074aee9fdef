"""Validate the action server's responses with a validator built once (Rasa server side).

Rasa 3.6 checks every custom action's response with `jsonschema.validate(response, schema)`,
which first checks the (constant) response schema itself against the JSON Schema meta-schema,
then builds a validator, then validates. The schema check was about a fifth of the Rasa server's
busy samples in a FAQ turn (py-spy, 2026-12-07, docs/turn-cost.md), for the same answer every
time. Here the schema is checked once, when installed, and every response is validated by the
same validator class, with the same error and message as Rasa's own.

Installed by bot.tracker_store.CachedSQLTrackerStore, the one Destek class the Rasa server
builds from its endpoint settings (as bot/action_payload.py is).
"""

from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

METHOD = "_validate_action_result"


class ResponseValidator:
    """Stands in for RemoteAction._validate_action_result (a plain callable: not bound to the action)."""

    def __init__(self) -> None:
        schema = RemoteAction.action_response_format_spec()
        validator_class = validators.validator_for(schema)
        validator_class.check_schema(schema)
        self.validator = validator_class(schema)

    def __call__(self, result: dict[str, Any]) -> bool:
        error = best_match(self.validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True


def install() -> None:
    """Use one ResponseValidator for every custom action of this Rasa process (idempotent)."""
    if not isinstance(RemoteAction.__dict__.get(METHOD), ResponseValidator):
        setattr(RemoteAction, METHOD, ResponseValidator())
