"""Rasa policy: while a person owns the conversation, the bot never answers on its own.

Reads only the tracker (no I/O but the handoff settings file):
- slot `handoff_status` queued/assigned (set by the handoff actions): every customer message
  goes to `action_forward_to_agent` (stores it for the inbox; position while queued);
- EXTERNAL_agent_message / EXTERNAL_handoff_closed (from handoff.service through the HTTP
  API): relay the agent's text / hand the conversation back to the bot;
- `handoff_status` rating: a "1".."5" answer goes to `action_record_csat`;
- otherwise the triggers in handoff/triggers.py (anger, always-human topics, low
  confidence twice, …) predict `action_request_human`.
After one of these actions ran and returned events it predicts action_listen; a custom action
that returned nothing is left to ActionServerFallbackPolicy (action server down).
Per prediction it reads at most the newest triggers.LOOKBACK events, however long the
conversation (docs/turn-cost.md).
"""

import itertools
import re
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, confidence_scores_for
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from handoff import triggers
from handoff.settings import load_or_default

FORWARD = "action_forward_to_agent"
RELAY = "action_relay_agent_message"
HANDBACK = "action_handback"
CSAT = "action_record_csat"
START = "action_request_human"
OWN_ACTIONS = (FORWARD, RELAY, HANDBACK, CSAT, START)
WITH_AGENT = ("queued", "assigned")
RATING = re.compile(r"^\s*([1-5])\s*(/\s*5)?\s*[.!]?\s*$")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=False)
class HandoffPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 8}

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource

    @classmethod
    def load(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext, **kwargs: Any
    ) -> "HandoffPolicy":
        return cls(config, model_storage, resource, execution_context)

    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain, rule_only_data: dict[str, Any] | None = None, **kwargs: Any
    ) -> PolicyPrediction:
        action = self._next_action(tracker)
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(self._default_predictions(domain))
        return self._prediction(confidence_scores_for(action, 1.0, domain), is_no_user_prediction=True)

    def _next_action(self, tracker: DialogueStateTracker) -> str | None:
        last = tracker.events[-1] if tracker.events else None
        latest = tracker.latest_action_name
        if latest in OWN_ACTIONS:
            # No event after our action: the action server did not answer; the fallback policy speaks.
            return None if isinstance(last, ActionExecuted) else ACTION_LISTEN_NAME
        status = tracker.get_slot("handoff_status")
        if latest == ACTION_LISTEN_NAME and tracker.latest_message is not None:
            intent = (tracker.latest_message.intent or {}).get("name")
            if intent == "EXTERNAL_agent_message":
                return RELAY
            if intent == "EXTERNAL_handoff_closed":
                return HANDBACK
            if status in WITH_AGENT:
                return FORWARD
            if status == "rating" and RATING.match(tracker.latest_message.text or ""):
                return CSAT
        if latest not in (ACTION_LISTEN_NAME, triggers.KB_ACTION, triggers.FEEDBACK_ACTION) or status in WITH_AGENT:
            return None
        newest = [event.as_dict() for event in itertools.islice(reversed(tracker.events), triggers.LOOKBACK)]
        decision = triggers.decide(newest[::-1], load_or_default(), downvotes=tracker.get_slot("kb_downvotes") or 0)
        return START if decision else None
