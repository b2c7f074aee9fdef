"""Rasa NLU component: a `language` entity (tr/en) on every message whose language is clear.

The entity spans the whole message and fills the `language` slot (see domain.yml), so the
reply language follows the customer turn by turn; unclear messages ("ok", "👍") keep the
previous language. Payloads such as `/answer_helpful` carry no language.
"""

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from language.detect import detect_language

ENTITY = "language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_confidence": 0.3}

    def __init__(self, config: dict[str, Any]) -> None:
        self._min_confidence = float(config["min_confidence"])

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "LanguageDetector":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue
            detection = detect_language(text)
            if detection.language is None or detection.confidence < self._min_confidence:
                continue
            entity = {
                "entity": ENTITY,
                "value": detection.language,
                "start": 0,
                "end": len(text),
                "confidence_entity": detection.confidence,
            }
            entities = self.add_extractor_name([entity])
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages
