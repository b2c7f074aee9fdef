"""Rasa NLU component: a logistic-regression intent classifier over sentence features.

Takes every sentence-level feature of the message text (sparse count vectors, dense sentence
embeddings), weights sparse counts as sublinear TF-IDF (idf learnt from the training examples),
scales each featurizer's block to unit length, and fits one multinomial logistic regression.
Compared with DIET it trains in seconds instead of minutes, and its confidences are class
probabilities, so the FallbackClassifier threshold keeps a plain meaning.
"""

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

MODEL_FILE = "linear_intent_classifier.skops"
LAYOUT_FILE = "layout.json"
IDF_FILE = "idf.npz"


def _blocks(message: Message) -> dict[str, csr_matrix]:
    """The message's sentence features for TEXT, one raw row per featurizer."""
    blocks = {}
    for features in message.features:
        if features.attribute != TEXT or features.type != FEATURE_TYPE_SENTENCE:
            continue
        key = f"{features.origin}:{'sparse' if features.is_sparse() else 'dense'}"
        blocks[key] = csr_matrix(features.features, dtype=np.float64).reshape(1, -1)
    return blocks


def _stack(per_message: list[dict[str, csr_matrix]], key: str, width: int) -> csr_matrix:
    """One featurizer's rows for all messages; a missing or mis-sized block is zeros."""
    rows = []
    for blocks in per_message:
        block = blocks.get(key)
        rows.append(block if block is not None and block.shape[1] == width else csr_matrix((1, width)))
    return vstack(rows, format="csr")


def _sublinear(counts: csr_matrix) -> csr_matrix:
    """1 + log(count) for every non-zero count (a word said twice is not twice the evidence)."""
    weighted = counts.copy()
    weighted.data = 1.0 + np.log(weighted.data)
    return weighted


def _smooth_idf(counts: csr_matrix) -> np.ndarray:
    """scikit-learn's smoothed idf: ln((1 + n) / (1 + df)) + 1."""
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1.0 + counts.shape[0]) / (1.0 + document_frequency)) + 1.0


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # C: inverse regularisation strength; dense_weight multiplies dense blocks (unit length
        # like the sparse ones) so sentence embeddings can count more than n-gram counts.
        # sparse_weighting: "tfidf" (sublinear tf, smoothed idf) or "counts". ranking_length 0
        # reports every intent (what a classifier averaging with this one needs).
        return {
            "C": 10.0,
            "dense_weight": 1.0,
            "sparse_weighting": "tfidf",
            "max_iter": 300,
            "ranking_length": 10,
            "random_state": 13,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config.get("sparse_weighting", "tfidf") not in ("tfidf", "counts"):
            raise ValueError(f"{cls.__name__}: sparse_weighting must be 'tfidf' or 'counts', got {config['sparse_weighting']!r}")

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: LogisticRegression | None = None,
        layout: list[tuple[str, int]] | None = None,
        idf: dict[str, np.ndarray] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self.validate_config(self._config)
        self._model_storage = model_storage
        self._resource = resource
        self._classifier = classifier
        self._layout = layout or []
        self._idf = idf or {}

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    def _matrix(self, messages: list[Message]) -> csr_matrix:
        """One row per message: every block weighted, unit length, in training order."""
        per_message = [_blocks(message) for message in messages]
        parts = []
        for key, width in self._layout:
            block = _stack(per_message, key, width)
            if key in self._idf:
                block = _sublinear(block).multiply(self._idf[key].reshape(1, -1))
            block = normalize(csr_matrix(block))
            if key.endswith(":dense"):
                block = block * float(self._config["dense_weight"])
            parts.append(block)
        return hstack(parts, format="csr")

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        widths: dict[str, int] = {}
        for example in examples:
            for key, block in _blocks(example).items():
                widths.setdefault(key, block.shape[1])
        self._layout = sorted(widths.items())
        self._idf = {}
        if self._config["sparse_weighting"] == "tfidf":
            per_example = [_blocks(example) for example in examples]
            self._idf = {key: _smooth_idf(_stack(per_example, key, width)) for key, width in self._layout if key.endswith(":sparse")}
        self._classifier = LogisticRegression(
            C=float(self._config["C"]), max_iter=int(self._config["max_iter"]), random_state=int(self._config["random_state"])
        )
        # One BLAS thread: these matrices are small, and extra threads only contend on a busy machine.
        with threadpool_limits(limits=1):
            self._classifier.fit(self._matrix(examples), [e.get(INTENT) for e in examples])
        self._persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self._classifier is None:
            return messages
        # No thread limit here: one message is too small for BLAS threads, and setting the
        # limit costs more (~6 ms, threadpoolctl scans the loaded libraries) than the prediction.
        probabilities = self._classifier.predict_proba(self._matrix(messages))
        names = self._classifier.classes_
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(-row)
            if int(self._config["ranking_length"]) > 0:
                order = order[: int(self._config["ranking_length"])]
            ranking = [{"name": str(names[i]), "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _persist(self) -> None:
        import json

        import skops.io as sio

        with self._model_storage.write_to(self._resource) as model_dir:
            sio.dump(self._classifier, model_dir / MODEL_FILE)
            (model_dir / LAYOUT_FILE).write_text(json.dumps(self._layout), encoding="utf-8")
            # Keys index the layout, so the file needs no pickled objects.
            arrays: dict[str, Any] = {str(i): self._idf[key] for i, (key, _) in enumerate(self._layout) if key in self._idf}
            np.savez(model_dir / IDF_FILE, **arrays)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LinearIntentClassifier":
        import json

        import skops.io as sio

        try:
            with model_storage.read_from(resource) as model_dir:
                path = model_dir / MODEL_FILE
                untrusted = sio.get_untrusted_types(file=path)
                if any(not t.startswith(("sklearn.", "numpy.")) for t in untrusted):
                    raise RuntimeError(f"{path}: refusing to load unexpected types {untrusted}")
                classifier = sio.load(path, trusted=untrusted)
                layout = [tuple(item) for item in json.loads((model_dir / LAYOUT_FILE).read_text(encoding="utf-8"))]
                with np.load(model_dir / IDF_FILE, allow_pickle=False) as stored:
                    idf = {layout[int(i)][0]: stored[i] for i in stored.files}
        except ValueError:
            # No stored resource: the classifier was trained without intent examples.
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, classifier, layout, idf)
