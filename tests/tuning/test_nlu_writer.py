"""The NLU example writer: one line into the right block, comments and order kept, refusals change nothing."""

import shutil
import threading
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tuning.nlu_writer import NluWriteError, add_example, intent_blocks, known_intents

COMMENTED = """version: "3.1"
# Greetings first: the team keeps them on top.
nlu:
- intent: greet  # say hello
  examples: |
    - hello
    - hi there
  # end of greetings

- synonym: kargo
  examples: |
    - kargom

- intent: faq
  examples: |
    - where is my order?
    # a comment line people put inside blocks
    - how much is shipping
- intent: thank
  examples: |
    - thanks
"""


@pytest.fixture
def nlu_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "nlu"
    folder.mkdir()
    (folder / "en.yml").write_text(COMMENTED, encoding="utf-8")
    (folder / "tr.yml").write_text('version: "3.1"\nnlu:\n- intent: faq\n  examples: |\n    - kargom nerede\n', encoding="utf-8")
    return folder


def test_example_goes_into_the_intents_block_and_nothing_else_changes(nlu_dir: Path) -> None:
    written = add_example(nlu_dir, "en", "faq", "  do you   ship to  cyprus ")
    assert written == nlu_dir / "en.yml"
    expected = COMMENTED.replace("    - how much is shipping\n", "    - how much is shipping\n    - do you ship to cyprus\n")
    assert written.read_text(encoding="utf-8") == expected
    data = yaml.safe_load(expected)
    faq = next(entry for entry in data["nlu"] if entry.get("intent") == "faq")
    assert "- do you ship to cyprus" in faq["examples"]
    assert (nlu_dir / "tr.yml").read_text(encoding="utf-8").count("- ") == 2  # the other language is untouched


def test_turkish_goes_to_the_turkish_file(nlu_dir: Path) -> None:
    assert add_example(nlu_dir, "tr", "faq", "İade param nerede") == nlu_dir / "tr.yml"
    assert (nlu_dir / "tr.yml").read_text(encoding="utf-8").endswith("    - kargom nerede\n    - İade param nerede\n")


def test_a_file_without_final_newline_still_gets_a_clean_line(nlu_dir: Path) -> None:
    (nlu_dir / "tr.yml").write_text('version: "3.1"\nnlu:\n- intent: faq\n  examples: |\n    - kargom nerede', encoding="utf-8")
    add_example(nlu_dir, "tr", "faq", "faturam yüksek")
    assert (nlu_dir / "tr.yml").read_text(encoding="utf-8").endswith("    - kargom nerede\n    - faturam yüksek\n")


@pytest.mark.parametrize(
    "language, intent, text, message",
    [
        ("en", "refund_please", "give me my money", "unknown intent 'refund_please' for language 'en'; known intents: faq, greet, thank"),
        ("en", "greet", "Hello", "'Hello' is already an example of intent 'greet' in en.yml"),
        ("en", "faq", "KARGOM   nerede", "'KARGOM nerede' is already an example of intent 'faq' in tr.yml"),
        ("en", "faq", "   ", "the example is empty"),
        ("en", "faq", "call [ayse](name) now", "entity markup"),
        ("de", "faq", "wo ist mein paket", "language 'de' is not supported"),
    ],
)
def test_refusals_name_the_problem_and_change_nothing(nlu_dir: Path, language: str, intent: str, text: str, message: str) -> None:
    before = {path.name: path.read_bytes() for path in nlu_dir.iterdir()}
    with pytest.raises(NluWriteError, match=message.replace("[", r"\[").replace("(", r"\(")):
        add_example(nlu_dir, language, intent, text)
    assert {path.name: path.read_bytes() for path in nlu_dir.iterdir()} == before


def test_synonym_blocks_are_not_taken_for_intents(nlu_dir: Path) -> None:
    assert known_intents(nlu_dir, "en") == ["faq", "greet", "thank"]
    assert [b.examples for b in intent_blocks(nlu_dir / "en.yml") if b.intent == "greet"] == [("hello", "hi there")]


def test_concurrent_writers_all_land(nlu_dir: Path) -> None:
    errors: list[Exception] = []

    def write(number: int) -> None:
        try:
            add_example(nlu_dir, "en", "faq" if number % 2 else "thank", f"parallel question number {number}")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    text = (nlu_dir / "en.yml").read_text(encoding="utf-8")
    assert all(f"- parallel question number {n}\n" in text for n in range(16))
    blocks = {b.intent: b.examples for b in intent_blocks(nlu_dir / "en.yml")}
    assert sum(e.startswith("parallel") for e in blocks["faq"]) == 8
    assert sum(e.startswith("parallel") for e in blocks["thank"]) == 8
    assert "# a comment line people put inside blocks" in text and "# end of greetings" in text
    assert not [p for p in nlu_dir.iterdir() if p.name.endswith(".tmp")]


def test_the_project_files_are_understood(tmp_path: Path) -> None:
    copy = shutil.copytree(ROOT / "bot" / "data" / "nlu", tmp_path / "nlu")
    for language in ("tr", "en"):
        assert {"faq", "greet", "request_human", "out_of_scope"} <= set(known_intents(copy, language))
