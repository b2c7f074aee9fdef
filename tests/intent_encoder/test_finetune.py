"""intent_encoder.finetune's command line: bad input is refused with one line naming it, nothing written;
a run says how far it is on stderr (epoch, step, elapsed, time left) at a sensible rate.

The fine-tuning itself is exercised through the Rasa component (tests/rasa_checks/fine_tuned_intent_classifier_check.py).
"""

from pathlib import Path

import pytest

from intent_encoder.finetune import Progress, main


def write_examples(tmp_path: Path, lines: list) -> Path:
    examples = tmp_path / "examples.jsonl"
    examples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return examples


@pytest.mark.parametrize(
    ("lines", "extra", "message"),
    [
        (['{"text": "hi", "intent": "greet"}', "not json"], [], "examples.jsonl:2: expected a JSON object with 'text' and 'intent'"),
        (['{"text": "hi", "intent": "greet"}', '{"text": "hello"}'], [], "examples.jsonl:2: expected"),
        (['{"text": "hi", "intent": "greet"}', '{"text": "hello", "intent": "greet"}'], [], "needs examples of at least two intents"),
        (
            ['{"text": "hi", "intent": "greet"}', '{"text": "bye", "intent": "goodbye"}'],
            ["--model", "/no/such/model"],
            "model '/no/such/model': not a known name",
        ),
        (
            ['{"text": "hi", "intent": "greet"}', '{"text": "bye", "intent": "goodbye"}'],
            ["--epochs", "0"],
            "--epochs, --batch-size, --threads and --max-length must be at least 1",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, lines: list, extra: list, message: str
) -> None:
    examples = write_examples(tmp_path, lines)
    out = tmp_path / "out"
    assert main(["--examples", str(examples), "--out", str(out), *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("error: ") and message in error, error
    assert not out.exists()


def test_missing_examples_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--examples", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert "absent.jsonl" in error and len(error.splitlines()) == 1, error


def test_a_real_fine_tune_replaces_the_output_folder_whole(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from intent_encoder.exported import STORED_FILES, ExportedIntentModel

    texts = {"greet": ["hello", "hi there", "good morning"], "refund": ["refund my order", "I want my money back", "give me a refund"]}
    examples = write_examples(tmp_path, [f'{{"text": "{t}", "intent": "{i}"}}' for i, group in texts.items() for t in group])
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run", encoding="utf-8")
    assert main(["--examples", str(examples), "--out", str(out), "--epochs", "1", "--batch-size", "4"]) == 0
    captured = capsys.readouterr()
    assert '"intents": 2' in captured.out
    progress = [line for line in captured.err.splitlines() if line.startswith(Progress.PREFIX)]
    assert "6 examples, 2 intents, 1 epochs, 2 steps" in progress[0], captured.err
    assert any("epoch 1/1, step 2/2 (100 %)" in line and "left" in line for line in progress), captured.err
    assert "exporting to ONNX" in progress[-2] and "done" in progress[-1], captured.err
    assert sorted(p.name for p in out.iterdir()) == sorted(STORED_FILES)
    assert not (tmp_path / "out.partial").exists()
    model = ExportedIntentModel(out)
    assert model.labels == ["greet", "refund"]
    rows = model.probabilities(["hello", "a much longer message about a refund for my order"])
    assert rows.shape == (2, 2) and abs(rows.sum(axis=1) - 1).max() < 1e-5, rows


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_come_at_most_every_interval_with_time_left() -> None:
    import io

    clock, out = FakeClock(), io.StringIO()
    progress = Progress(epochs=4, steps=200, every=15, clock=clock, stream=out)
    progress.start(examples=1600, intents=12)
    for step in range(1, 201):  # 0.5 s a step: 100 s in all
        clock.now += 0.5
        progress.step(epoch=(step - 1) // 50 + 1, step=step)
    progress.finish("done")
    lines = out.getvalue().splitlines()
    assert all(line.startswith("intent encoder fine-tune: ") for line in lines), lines
    assert "1600 examples, 12 intents, 4 epochs, 200 steps" in lines[0] and "several minutes" in lines[0]
    steps = lines[1:-1]
    # one line per 15 s of a 100 s run (6), plus the last step: not one per batch
    assert 6 <= len(steps) <= 8, steps
    assert steps[0] == "intent encoder fine-tune: epoch 1/4, step 30/200 (15 %), 15s elapsed, about 1m25s left"
    assert steps[-1] == "intent encoder fine-tune: epoch 4/4, step 200/200 (100 %), 1m40s elapsed, about 0s left"
    assert lines[-1] == "intent encoder fine-tune: done (1m40s in all)"
