"""Bad input to `python -m kb_index`: one line naming the problem, non-zero exit, nothing written."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT


def kb_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([PYTHON, "-m", "kb_index", *args], capture_output=True, text=True, env=environment, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def break_article(source: Path, name: str, old: str, new: str) -> None:
    path = source / name
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("title: When will I get my refund?\n", "", ["refund.md", "field 'title'"]),
        ("lang: en", "lang: de", ["refund.md", "field 'lang'", "'de'"]),
        ("id: refund-en", "id: track-en", ["field 'id'", "'track-en' is already used by", "track.md"]),
        ("id: refund-en", "id: refund en!", ["field 'id'"]),
        ("questions:\n", "questions: [unclosed\n", ["refund.md", "front matter is not valid YAML"]),
        ("url: https://help.example/en/refund", "url: ftp://x", ["field 'url'"]),
    ],
)
def test_broken_article_is_named_and_nothing_is_written(tiny_source: Path, tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    break_article(tiny_source, "en/refund.md", old, new)
    out = tmp_path / "index"
    assert_one_line_error(kb_cli("build", "--source", str(tiny_source), "--out", str(out)), *expected)
    assert not out.exists()


def test_missing_front_matter(tiny_source: Path, tmp_path: Path) -> None:
    (tiny_source / "en" / "plain.md").write_text("Just text, no front matter.\n", encoding="utf-8")
    assert_one_line_error(kb_cli("build", "--source", str(tiny_source), "--out", str(tmp_path / "i")), "plain.md", "front matter")


def test_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    source = tmp_path / "kb.jsonl"
    good = {"id": "a", "title": "A", "body": "Text.", "lang": "en"}
    source.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "lang": "fr"}) + "\n", encoding="utf-8")
    assert_one_line_error(kb_cli("build", "--source", str(source), "--out", str(tmp_path / "i")), "kb.jsonl:2", "field 'lang'")
    source.write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    assert_one_line_error(kb_cli("build", "--source", str(source), "--out", str(tmp_path / "i")), "kb.jsonl:2", "not valid JSON")
    source.write_text(json.dumps({**good, "body": ""}) + "\n", encoding="utf-8")
    assert_one_line_error(kb_cli("build", "--source", str(source), "--out", str(tmp_path / "i")), "kb.jsonl:1", "field 'body'")


def test_broken_rebuild_keeps_the_old_index(tiny_index: Path, tiny_source: Path, tmp_path: Path) -> None:
    import shutil

    index = tmp_path / "index"
    shutil.copytree(tiny_index, index)
    before = sorted(p.name for p in index.rglob("*"))
    break_article(tiny_source, "tr/wifi.md", "lang: tr", "lang: xx")
    assert_one_line_error(kb_cli("build", "--source", str(tiny_source), "--out", str(index)), "wifi.md", "field 'lang'")
    assert sorted(p.name for p in index.rglob("*")) == before
    result = kb_cli("search", "--index", str(index), "--json", "forgot my wireless password")
    assert json.loads(result.stdout)[0]["id"] == "wifi-en"


def test_refuses_to_write_into_a_foreign_folder(tiny_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert_one_line_error(kb_cli("build", "--source", str(tiny_source), "--out", str(out)), "holds no kb_index index")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_unknown_source_and_index(tmp_path: Path) -> None:
    assert_one_line_error(kb_cli("build", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "i")), "no such file or folder")
    assert_one_line_error(kb_cli("search", "--index", str(tmp_path / "nope"), "hello"), "no such index folder")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(kb_cli("search", "--index", str(tmp_path / "empty"), "hello"), "not a kb_index index")


def test_empty_query(tiny_index: Path) -> None:
    assert_one_line_error(kb_cli("search", "--index", str(tiny_index), "   "), "empty query")


def test_model_mismatch_is_refused(tiny_index: Path) -> None:
    result = kb_cli("search", "--index", str(tiny_index), "hello", env={"DESTEK_EMBEDDING_MODEL": "all-MiniLM-L6-v2"})
    assert_one_line_error(result, "built with model 'multilingual-e5-small-q4'", "'all-MiniLM-L6-v2'", "rebuild")


def test_bad_queries_file(tiny_index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "where is my package", "expected_id": "track-en"}\n{"query": ""}\n', encoding="utf-8")
    assert_one_line_error(kb_cli("eval", "--index", str(tiny_index), "--queries", str(queries)), "q.jsonl:2", "field 'query'")
