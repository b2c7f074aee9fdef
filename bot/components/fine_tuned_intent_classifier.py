"""Rasa NLU component: a fine-tuned sentence encoder that votes on the intent of English messages.

At training time it fine-tunes an encoder (default all-MiniLM-L6-v2, English only) on the
examples in its language, in the application environment that has torch
(`intent_encoder.finetune`), and stores the exported ONNX model in the Rasa model. At parse
time it runs that model with onnxruntime and averages its probabilities with the ranking of
the classifier before it (LinearIntentClassifier, which must report every intent:
`ranking_length: 0`). Messages detected as another language keep the earlier ranking.
On BANKING77 the average beat either part alone (docs/nlu.md).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from intent_encoder.exported import STORED_FILES, ExportedIntentModel
from language.detect import detect_language

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FineTunedIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # weight: this model's share of the averaged probabilities. min_steps raises the epoch
        # count on small training sets (a few hundred examples need more passes than 3).
        # trainer_python: the interpreter with torch that runs intent_encoder.finetune.
        # language: "any" lets a multilingual model vote on every message.
        return {
            "model": "all-MiniLM-L6-v2",
            "language": "en",
            "min_language_confidence": 0.3,
            "weight": 0.5,
            "epochs": 3,
            "min_steps": 0,
            "batch_size": 32,
            "threads": 2,
            "max_length": 64,
            "random_state": 13,
            "trainer_python": ".venv/bin/python",
            "timeout_minutes": 180,
            "ranking_length": 10,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not 0.0 < float(config["weight"]) <= 1.0:
            raise ValueError(f"{cls.__name__}: weight must be in (0, 1], got {config['weight']!r}")
        for key in ("epochs", "batch_size", "threads", "max_length", "ranking_length"):
            if int(config[key]) < 1:
                raise ValueError(f"{cls.__name__}: {key} must be at least 1, got {config[key]!r}")

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, model: ExportedIntentModel | None = None
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self.validate_config(self._config)
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "FineTunedIntentClassifier":
        return cls(config, model_storage, resource)

    def _votes_on(self, text: str) -> bool:
        """False for payloads and for messages clearly in another language (`language: any`: none)."""
        if not text or text.startswith("/"):
            return False
        if self._config["language"] == "any":
            return True
        detection = detect_language(text)
        other = detection.language not in (None, self._config["language"])
        return not (other and detection.confidence >= float(self._config["min_language_confidence"]))

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            (e.get(TEXT), e.get(INTENT)) for e in training_data.intent_examples if e.get(INTENT) and self._votes_on(e.get(TEXT) or "")
        ]
        if len({intent for _, intent in examples}) < 2:
            return self._resource
        with tempfile.TemporaryDirectory(prefix="destek-finetune-") as work:
            examples_file = Path(work) / "examples.jsonl"
            examples_file.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in examples), encoding="utf-8")
            out = Path(work) / "model"
            self._run_trainer(examples_file, out)
            with self._model_storage.write_to(self._resource) as model_dir:
                for name in STORED_FILES:
                    (model_dir / name).write_bytes((out / name).read_bytes())
            self._model = ExportedIntentModel(out)
        return self._resource

    def _run_trainer(self, examples_file: Path, out: Path) -> None:
        python = Path(self._config["trainer_python"])
        if not python.is_absolute():
            python = PROJECT_ROOT / python
        if not python.exists():
            raise RuntimeError(f"{type(self).__name__}: trainer_python {python} not found (make setup builds it)")
        c = self._config
        command = [
            str(python), "-m", "intent_encoder.finetune", "--examples", str(examples_file), "--out", str(out),
            "--model", str(c["model"]), "--epochs", str(c["epochs"]), "--min-steps", str(c["min_steps"]),
            "--batch-size", str(c["batch_size"]), "--threads", str(c["threads"]), "--seed", str(c["random_state"]),
            "--max-length", str(c["max_length"]),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        # stderr (the fine-tune's progress lines) is passed on as it comes, so `make train` shows
        # how far it is; its last line names the problem when the run fails.
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=_pass_on, args=(process.stderr, lines), daemon=True)
        reader.start()
        try:
            returncode = process.wait(timeout=60 * float(c["timeout_minutes"]))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"{type(self).__name__}: fine-tuning took longer than {c['timeout_minutes']} minutes") from None
        finally:
            reader.join(timeout=5)
        if returncode != 0:
            last = ([line for line in lines if line.strip()] or ["no output"])[-1].strip()
            raise RuntimeError(f"{type(self).__name__}: fine-tuning failed: {last}")

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        voting = [m for m in messages if self._votes_on(m.get(TEXT) or "")]
        if not voting:
            return messages
        rows = self._model.probabilities([m.get(TEXT) for m in voting])
        for message, row in zip(voting, rows, strict=True):
            ranking = self._combined(message.get("intent_ranking") or [], row)
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def _combined(self, earlier: list[dict[str, Any]], row: np.ndarray) -> list[dict[str, Any]]:
        """Weighted average with the earlier ranking (or this model alone when there is none)."""
        weight = float(self._config["weight"]) if earlier else 1.0
        scores: dict[str, float] = {item["name"]: (1.0 - weight) * float(item["confidence"]) for item in earlier}
        assert self._model is not None  # process() returns early without one
        for name, probability in zip(self._model.labels, row, strict=True):
            scores[name] = scores.get(name, 0.0) + weight * float(probability)
        best: list[tuple[str, float]] = sorted(scores.items(), key=lambda item: -item[1])[: int(self._config["ranking_length"])]
        return [{"name": name, "confidence": confidence} for name, confidence in best]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "FineTunedIntentClassifier":
        try:
            with model_storage.read_from(resource) as model_dir:
                model = ExportedIntentModel(model_dir)
        except ValueError:
            # No stored resource: trained without examples of two intents in its language.
            return cls.create(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, model)


def _pass_on(stream: IO[str], lines: list[str]) -> None:
    """Copy the fine-tune's stderr to ours line by line, keeping the last lines for an error message."""
    for line in stream:
        sys.stderr.write(line)
        sys.stderr.flush()
        lines.append(line)
        del lines[:-20]
