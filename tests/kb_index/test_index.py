"""kb_index: chunking, atomic builds, model checks, ranking and the CLI output contract."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kb_index import build as build_module
from kb_index.build import BuildSettings, build_index
from kb_index.chunking import split_passages
from kb_index.errors import KbError
from kb_index.search import KnowledgeBase
from language.detect import detect_language
from tests.conftest import PYTHON, ROOT
from tests.kb_index.test_cli_errors import kb_cli


def test_long_paragraphs_are_cut_between_sentences() -> None:
    sentence = "Bu cümle tam olarak on kelimeden oluşan bir örnek cümledir."
    body = " ".join([sentence] * 12) + "\n\nKısa ikinci paragraf."
    passages = split_passages(body, "tr", max_words=40)
    assert passages[-1] == "Kısa ikinci paragraf."
    assert len(passages) == 4
    assert all(p.endswith("cümledir.") and len(p.split()) <= 40 for p in passages[:-1])


def test_long_lists_are_cut_between_items_and_keep_their_lines() -> None:
    items = [f"- Madde {number}: bu satır tam on kelimelik bir liste öğesidir." for number in range(1, 13)]
    passages = split_passages("Başlık:\n" + "\n".join(items), "tr", max_words=40)
    assert len(passages) > 1
    assert passages[0].startswith("Başlık:\n- Madde 1:")
    assert all("\n" in p for p in passages)
    assert "\n".join(passages).count("- Madde") == 12


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("siparisim nerde kaldi", "tr"),
        ("Faturamı ödeyemiyorum", "tr"),
        ("internetim yok", "tr"),
        ("where is my package", "en"),
        ("I cant log in", "en"),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text).language == language


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kargom nerde kaldi", "track-tr"),
        ("wifi sifremi unuttum", "wifi-tr"),
        ("param ne zaman yatar", "refund-tr"),
        ("where is my parcle", "track-en"),
        ("how long until my money comes back", "refund-en"),
    ],
)
def test_ranking_on_the_tiny_base(tiny_index: Path, query: str, expected: str) -> None:
    hits = KnowledgeBase.open(tiny_index).search(query, k=3)
    assert hits[0].id == expected
    assert hits[0].lang == expected[-2:]
    assert all(0.0 <= hit.score <= 1.0 for hit in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_language_can_be_forced(tiny_index: Path) -> None:
    hits = KnowledgeBase.open(tiny_index).search("wifi", k=3, lang="tr")
    assert {hit.lang for hit in hits} == {"tr"}


def test_snippet_is_the_closest_passage(tiny_index: Path) -> None:
    hit = KnowledgeBase.open(tiny_index).search("what does the Preparing state mean", k=1)[0]
    assert hit.id == "track-en"
    assert hit.snippet.startswith("An order stays in the Preparing state")


def test_search_json_contract(tiny_index: Path) -> None:
    result = kb_cli("search", "--index", str(tiny_index), "--k", "2", "--json", "Kargom nerede?")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 2
    assert set(hits[0]) == {"id", "title", "score", "snippet", "url", "lang"}
    assert hits[0]["id"] == "track-tr" and hits[0]["url"] == "https://yardim.example/tr/track"


def test_eval_json_contract(tiny_index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    lines = [
        {"query": "kargom nerde", "expected_id": "track-tr", "lang": "tr"},
        {"query": "forgot the wireless password", "expected_id": "wifi-en", "lang": "en"},
        {"query": "who won the football match yesterday", "expected_id": None, "lang": "en"},  # 0.33 here, clear of 0.5
    ]
    queries.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = kb_cli("eval", "--index", str(tiny_index), "--queries", str(queries), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 2 and report["recall@1"] == 1.0 and report["recall@5"] == 1.0 and report["mrr"] == 1.0
    assert report["n_unanswerable"] == 1 and report["false_answer_rate"] == 0.0
    assert set(report["by_lang"]) == {"tr", "en"}


def test_model_mismatch_in_code(tiny_index: Path) -> None:
    with pytest.raises(KbError, match="built with model 'multilingual-e5-small-q4'"):
        KnowledgeBase.open(tiny_index, model="none")


def test_lexical_only_index_works(tiny_source: Path, tmp_path: Path) -> None:
    build_index(tiny_source, tmp_path / "i", BuildSettings(model="none"), progress=False)
    assert KnowledgeBase.open(tmp_path / "i").search("kargom nerede", k=1)[0].id == "track-tr"


def test_hnsw_index_finds_the_same_article(tiny_source: Path, tmp_path: Path) -> None:
    build_index(tiny_source, tmp_path / "i", BuildSettings(index_type="hnsw"), progress=False)
    assert KnowledgeBase.open(tmp_path / "i").search("wifi sifremi unuttum", k=1)[0].id == "wifi-tr"


def test_failed_build_leaves_the_old_index_live(tiny_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    build_index(tiny_source, index, BuildSettings(model="none"), progress=False)
    pointer = (index / "current.json").read_text()

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(build_module, "_write_json", crash)
    (tiny_source / "en" / "wifi.md").unlink()
    with pytest.raises(OSError):
        build_index(tiny_source, index, BuildSettings(model="none"), progress=False)
    assert (index / "current.json").read_text() == pointer
    assert len(list(index.glob("gen-*"))) == 1
    assert KnowledgeBase.open(index).search("wireless password", k=1)[0].id == "wifi-en"


def test_killed_build_leaves_the_old_index_live(tiny_source: Path, tmp_path: Path) -> None:
    """SIGKILL in the middle of a large build: the previous generation stays live."""
    index = tmp_path / "index"
    build_index(tiny_source, index, BuildSettings(model="none"), progress=False)
    pointer = (index / "current.json").read_text()
    big = tmp_path / "big.jsonl"
    with big.open("w", encoding="utf-8") as handle:
        for number in range(20000):
            handle.write(
                json.dumps(
                    {
                        "id": f"a{number}",
                        "title": f"Article {number}",
                        "body": f"Body text number {number}. " * 20,
                        "lang": "en",
                        "questions": [f"question {number}?"] * 3,
                    }
                )
                + "\n"
            )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [PYTHON, "-m", "kb_index", "build", "--source", str(big), "--out", str(index), "--model", "none", "--quiet"], env=env
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(index.glob("gen-*"))) < 2 and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the build finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert (index / "current.json").read_text() == pointer
    assert KnowledgeBase.open(index).search("kargom nerede", k=1)[0].id == "track-tr"
    build_index(tiny_source, index, BuildSettings(model="none"), progress=False)
    assert len(list(index.glob("gen-*"))) == 1, "the next build cleans up the killed one's leftovers"


def test_rebuild_embeds_only_what_changed(tiny_source: Path, tmp_path: Path) -> None:
    first = build_index(tiny_source, tmp_path / "index", BuildSettings(), progress=False)
    assert first.embedded > 0
    again = build_index(tiny_source, tmp_path / "index", BuildSettings(), progress=False)
    assert again.embedded == 0
    refund = tiny_source / "tr" / "refund.md"
    refund.write_text(refund.read_text(encoding="utf-8").replace("3 ile 10 iş günü", "en geç 7 iş günü"), encoding="utf-8")
    changed = build_index(tiny_source, tmp_path / "index", BuildSettings(), progress=False)
    # The changed passage and the pseudo-queries drawn from it; none of the other articles.
    assert 0 < changed.embedded <= 1 + 6
    hits = KnowledgeBase.open(tmp_path / "index").search("iade en geç kaç iş gününde yatar", k=1)
    assert hits[0].id == "refund-tr"
