"""Rasa policy: answer politely when the action server could not run a custom action.

When the action server is down, Rasa 3.6 logs the error, records the action with no
events and carries on, so the customer hears nothing. Every Destek custom action returns
at least one event (a SlotSet), so a custom action followed by no event at all means the
call failed: this policy then predicts `utter_service_unavailable`, then `action_listen`.
"""

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

APOLOGY = "utter_service_unavailable"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=False)
class ActionServerFallbackPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7}

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource

    @classmethod
    def load(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext, **kwargs: Any
    ) -> "ActionServerFallbackPolicy":
        return cls(config, model_storage, resource, execution_context)

    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain, rule_only_data: dict[str, Any] | None = None, **kwargs: Any
    ) -> PolicyPrediction:
        last = tracker.events[-1] if tracker.events else None
        if isinstance(last, ActionExecuted) and last.action_name in domain.user_actions and not last.action_name.startswith("utter_"):
            return self._prediction(confidence_scores_for(APOLOGY, 1.0, domain))
        if tracker.latest_action_name == APOLOGY:
            return self._prediction(confidence_scores_for(ACTION_LISTEN_NAME, 1.0, domain))
        return self._prediction(self._default_predictions(domain))
