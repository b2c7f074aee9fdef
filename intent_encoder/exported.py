"""The exported intent encoder: the files a fine-tune writes, and running them with onnxruntime.

The trainer (`intent_encoder.finetune`, .venv) checks its export with `ExportedIntentModel`, and
the Rasa component (`bot.components.fine_tuned_intent_classifier`, .venv-rasa) classifies with
it. It needs numpy, onnxruntime and tokenizers only, so the Rasa environment needs no torch.
"""

import json
from pathlib import Path

import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
STORED_FILES = (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE)


def load_tokenizer(path: Path, max_length: int):
    """The encoder's tokenizer, truncating to `max_length` tokens and padding batches."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    return tokenizer


def encode(tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask, one padded row per text (int64, as the ONNX graph takes)."""
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return ids, mask


class ExportedIntentModel:
    """A directory written by the trainer: texts in, one probability row per text out.

    One thread: the Rasa server parses one message at a time on shared cores.
    """

    def __init__(self, model_dir: Path) -> None:
        import onnxruntime

        meta = json.loads((model_dir / LABELS_FILE).read_text(encoding="utf-8"))
        self.labels: list[str] = list(meta["labels"])
        self._tokenizer = load_tokenizer(model_dir / TOKENIZER_FILE, int(meta["max_length"]))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            (model_dir / MODEL_FILE).read_bytes(), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, texts: list[str]) -> np.ndarray:
        ids, mask = encode(self._tokenizer, texts)
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
