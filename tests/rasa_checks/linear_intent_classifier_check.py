"""Checks of LinearIntentClassifier, run with the Rasa interpreter by tests/bot/test_components.py.

Exits non-zero (AssertionError) on the first failed check.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import coo_matrix
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bot.components.linear_intent_classifier import LinearIntentClassifier

COUNTS = np.array([[2, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 3], [0, 1, 0, 2]], dtype=float)
DENSE = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
INTENTS = ["greet", "greet", "bye", "bye"]


def message(index: int, intent: str = "") -> Message:
    data = {TEXT: f"text {index}", **({INTENT: intent} if intent else {})}
    result = Message(data=data)
    result.add_features(Features(coo_matrix(COUNTS[index : index + 1]), FEATURE_TYPE_SENTENCE, TEXT, "words"))
    result.add_features(Features(DENSE[index : index + 1], FEATURE_TYPE_SENTENCE, TEXT, "encoder"))
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalModelStorage(Path(folder))
        resource = Resource("linear_intent_classifier")
        context = ExecutionContext(GraphSchema({}), "test")
        config = {**LinearIntentClassifier.get_default_config(), "dense_weight": 2.0}
        trained = LinearIntentClassifier.create(config, storage, resource, context)
        trained.train(TrainingData([message(i, intent) for i, intent in enumerate(INTENTS)]))

        # The sparse block is exactly scikit-learn's sublinear TF-IDF with unit rows; the dense
        # block is unit length times dense_weight.
        matrix = trained._matrix([message(i) for i in range(4)]).toarray()
        expected_sparse = TfidfTransformer(sublinear_tf=True).fit_transform(COUNTS).toarray()
        layout = dict(trained._layout)
        assert list(layout) == ["encoder:dense", "words:sparse"], layout
        assert np.allclose(matrix[:, 2:], expected_sparse), (matrix[:, 2:], expected_sparse)
        assert np.allclose(matrix[:, :2], 2.0 * normalize(DENSE)), matrix[:, :2]

        # Reloaded from the model storage it ranks exactly as the trained one.
        loaded = LinearIntentClassifier.load(config, storage, resource, context)
        fresh = [message(i) for i in range(4)]
        trained_rankings = [m.get("intent_ranking") for m in trained.process([message(i) for i in range(4)])]
        loaded_rankings = [m.get("intent_ranking") for m in loaded.process(fresh)]
        assert trained_rankings == loaded_rankings, (trained_rankings, loaded_rankings)
        assert [r[0]["name"] for r in loaded_rankings] == INTENTS, loaded_rankings

        # ranking_length 0 reports every intent (probabilities summing to 1), 1 only the best.
        everything = LinearIntentClassifier.create({**config, "ranking_length": 0}, storage, Resource("all"), context)
        everything.train(TrainingData([message(i, intent) for i, intent in enumerate(INTENTS)]))
        full = everything.process([message(0)])[0].get("intent_ranking")
        assert sorted(r["name"] for r in full) == ["bye", "greet"] and abs(sum(r["confidence"] for r in full) - 1) < 1e-9, full
        one = LinearIntentClassifier.create({**config, "ranking_length": 1}, storage, Resource("one"), context)
        one.train(TrainingData([message(i, intent) for i, intent in enumerate(INTENTS)]))
        assert [r["name"] for r in one.process([message(0)])[0].get("intent_ranking")] == ["greet"]

        # "counts" keeps raw counts (unit rows only); an unknown weighting is refused by name.
        counts = LinearIntentClassifier.create({**config, "sparse_weighting": "counts"}, storage, Resource("counts"), context)
        counts.train(TrainingData([message(i, intent) for i, intent in enumerate(INTENTS)]))
        assert np.allclose(counts._matrix([message(0)]).toarray()[:, 2:], normalize(COUNTS[:1]))
        try:
            LinearIntentClassifier.create({**config, "sparse_weighting": "bm25"}, storage, Resource("x"), context)
        except ValueError as error:
            assert "sparse_weighting" in str(error) and "bm25" in str(error), error
        else:
            raise AssertionError("an unknown sparse_weighting was accepted")
    print("ok")


if __name__ == "__main__":
    main()
