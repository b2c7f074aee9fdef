"""Checks of FineTunedIntentClassifier, run with the Rasa interpreter by tests/bot/test_components.py.

Really fine-tunes all-MiniLM-L6-v2 (through .venv's torch) on a few dozen examples, then
checks what the exported model does inside Rasa. Exits non-zero on the first failed check.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bot.components.fine_tuned_intent_classifier import FineTunedIntentClassifier

ENGLISH = {
    "greet": ["hello", "hi there", "good morning", "hey", "hello, anyone there?", "hi!", "good evening", "hey there"],
    "order_status": [
        "where is my order",
        "has my parcel shipped yet",
        "track my package",
        "when will my order arrive",
        "my delivery is late",
        "order status please",
        "where is my shipment",
        "is my order on the way",
    ],
    "refund": [
        "I want my money back",
        "refund my purchase",
        "how do I get a refund",
        "return this and refund me",
        "can I get reimbursed",
        "money back please",
        "refund for a broken item",
        "I was charged twice, refund it",
    ],
}
TURKISH = {"turkish_only": ["merhaba siparişim nerede kaldı acaba", "iade etmek istiyorum lütfen paramı geri verin"]}
CONFIG = {"epochs": 1, "min_steps": 40, "batch_size": 8}


def training_data(groups: dict) -> TrainingData:
    return TrainingData([Message(data={TEXT: text, INTENT: intent}) for intent, texts in groups.items() for text in texts])


def message(text: str, earlier: list | None = None) -> Message:
    result = Message(data={TEXT: text})
    if earlier is not None:
        result.set("intent_ranking", earlier)
        result.set(INTENT, earlier[0])
    return result


def expect_error(error_type: type, words: list, build) -> None:
    try:
        build()
    except error_type as error:
        assert all(word in str(error) for word in words), error
    else:
        raise AssertionError(f"expected {error_type.__name__} naming {words}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalModelStorage(Path(folder))
        resource = Resource("fine_tuned_intent_classifier")
        context = ExecutionContext(GraphSchema({}), "test")
        config = {**FineTunedIntentClassifier.get_default_config(), **CONFIG}
        trained = FineTunedIntentClassifier.create(config, storage, resource, context)
        trained.train(training_data({**ENGLISH, **TURKISH}))

        # Only examples in its language are learnt: the Turkish-only intent is not a label.
        model = trained._model
        assert model is not None and model.labels == sorted(ENGLISH), model.labels
        texts = [text for group in ENGLISH.values() for text in group]
        gold = [intent for intent, group in ENGLISH.items() for _ in group]
        alone = [trained.process([message(text)])[0].get(INTENT)["name"] for text in texts]
        assert np.mean([a == g for a, g in zip(alone, gold, strict=True)]) >= 0.9, list(zip(texts, alone, strict=True))

        # With an earlier ranking: the equal-weight average, every intent kept, best first.
        earlier = [
            {"name": "order_status", "confidence": 0.7},
            {"name": "greet", "confidence": 0.2},
            {"name": "turkish_only", "confidence": 0.1},
        ]
        text = "hello, where is my parcel?"
        probabilities = dict(zip(model.labels, model.probabilities([text])[0].tolist(), strict=True))
        ranking = trained.process([message(text, earlier)])[0].get("intent_ranking")
        expected = {item["name"]: 0.5 * item["confidence"] for item in earlier}
        for name, probability in probabilities.items():
            expected[name] = expected.get(name, 0.0) + 0.5 * probability
        assert {r["name"]: round(r["confidence"], 6) for r in ranking} == {k: round(v, 6) for k, v in expected.items()}, ranking
        assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True), ranking
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-5, ranking

        # Turkish messages and payloads keep the earlier ranking untouched.
        for untouched in ("merhaba, siparişim nerede kaldı acaba?", "/greet"):
            kept = trained.process([message(untouched, earlier)])[0]
            assert kept.get("intent_ranking") == earlier and kept.get(INTENT) == earlier[0], (untouched, kept.get("intent_ranking"))

        # `language: any` (a multilingual model) votes on Turkish messages too.
        anywhere = FineTunedIntentClassifier({**config, "language": "any"}, storage, resource, model)
        changed = anywhere.process([message("merhaba, siparişim nerede kaldı acaba?", earlier)])[0].get("intent_ranking")
        assert changed != earlier and "turkish_only" in {r["name"] for r in changed}, changed

        # Reloaded from the model storage it gives the same rankings.
        loaded = FineTunedIntentClassifier.load(config, storage, resource, context)
        for sample in ("track my package", "good morning", "I want a refund"):
            a = trained.process([message(sample, earlier)])[0].get("intent_ranking")
            b = loaded.process([message(sample, earlier)])[0].get("intent_ranking")
            assert [r["name"] for r in a] == [r["name"] for r in b], (a, b)
            assert np.allclose([r["confidence"] for r in a], [r["confidence"] for r in b], atol=1e-6), (a, b)

        # Fewer than two intents in its language: nothing trained, messages pass through.
        empty = FineTunedIntentClassifier.create(config, storage, Resource("empty"), context)
        empty.train(training_data({"greet": ENGLISH["greet"], **TURKISH}))
        reloaded_empty = FineTunedIntentClassifier.load(config, storage, Resource("empty"), context)
        assert reloaded_empty.process([message("hello", earlier)])[0].get("intent_ranking") == earlier

        # Errors name the setting.
        missing = FineTunedIntentClassifier.create({**config, "trainer_python": "/nonexistent/python"}, storage, Resource("m"), context)
        expect_error(RuntimeError, ["trainer_python", "/nonexistent/python"], lambda: missing.train(training_data(ENGLISH)))
        bad_model = FineTunedIntentClassifier.create({**config, "model": "/nonexistent-model"}, storage, Resource("b"), context)
        expect_error(RuntimeError, ["fine-tuning failed", "/nonexistent-model"], lambda: bad_model.train(training_data(ENGLISH)))
        expect_error(
            ValueError, ["weight"], lambda: FineTunedIntentClassifier.create({**config, "weight": 0}, storage, Resource("w"), context)
        )
        expect_error(
            ValueError, ["epochs"], lambda: FineTunedIntentClassifier.create({**config, "epochs": 0}, storage, Resource("e"), context)
        )
    print("ok")


if __name__ == "__main__":
    main()
