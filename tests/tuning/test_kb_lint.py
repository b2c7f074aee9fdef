"""KB lint on a fixture KB with planted problems, and on the sample KB (which must be clean)."""

import subprocess
from pathlib import Path

from tests.conftest import PYTHON, ROOT, TINY_ARTICLES, write_articles
from tuning.kb_lint import lint

PLANTED = {
    **TINY_ARTICLES,
    # a second English article that repeats the refund article's question (different case/spacing)
    "en/refund-card.md": """---
id: refund-card-en
lang: en
topic: refund-card
title: Refunds to a credit card
url: https://help.example/en/refund-card
questions:
  - how long does a   REFUND take?
---
Card refunds follow the refund policy, see [refunds](https://help.example/en/refund) and
[the old page](https://help.example/en/refund-policy). Our status page is https://status.other.example.
A [typo link](https://help example/en/x) and a [script](javascript:alert(1)) and [a file](../tr/missing.md).
""",
    # Turkish duplicate written without diacritics and a link to a missing article by relative path
    "tr/iade-kart.md": """---
id: iade-kart-tr
lang: tr
topic: refund-card
title: Karta iade
url: https://yardim.example/tr/refund-card
questions:
  - param ne zaman iade edilir
---
Ayrıntılar için [iade](refund.md) ve [eski sayfa](eski.md).
""",
}


def findings_text(folder: Path) -> list[str]:
    return [str(f) for f in lint(folder)]


def test_planted_problems_are_each_found_with_file_and_line(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", PLANTED)
    lines = findings_text(folder)
    en, tr = str(folder / "en" / "refund-card.md"), str(folder / "tr" / "iade-kart.md")
    expected_starts = [
        f"{folder / 'en' / 'refund.md'}:9: error: duplicate question 'How long does a refund take?': also in {en}:8 (refund-card-en)",
        f"{folder / 'tr' / 'refund.md'}:8: error: duplicate question 'Param ne zaman iade edilir?': also in {tr}:8 (iade-kart-tr)",
        f"{en}:11: error: broken link: no article has this URL: https://help.example/en/refund-policy",
        f"{en}:12: error: malformed URL: https://help example/en/x",
        f"{en}:12: error: unsupported link scheme 'javascript': javascript:alert(1)",
        f"{en}:12: error: broken link: no such article file: ../tr/missing.md",
        f"{tr}:10: error: broken link: no such article file: eski.md",
        f"{en}:11: note: 1 external link(s) not checked: they cannot be fetched offline (https://status.other.example)",
    ]
    for start in expected_starts:
        assert any(line.startswith(start) for line in lines), f"missing: {start}\n" + "\n".join(lines)
    # working links (an existing article URL, an existing relative file) are not reported
    assert not any("https://help.example/en/refund " in line or line.endswith(": refund.md") for line in lines)
    assert len([line for line in lines if ": error: " in line]) == 7


def test_missing_counterpart_is_found(tmp_path: Path) -> None:
    articles = {name: text for name, text in TINY_ARTICLES.items() if name != "tr/wifi.md"}
    folder = write_articles(tmp_path / "kb", articles)
    assert findings_text(folder) == [
        f"{folder / 'en' / 'wifi.md'}:4: error: topic 'wifi' has no tr article (no counterpart of wifi-en with topic: wifi) [missing-counterpart:wifi]"
    ]


def test_allow_list_silences_a_finding_and_the_cli_exit_code_follows(tmp_path: Path) -> None:
    articles = {name: text for name, text in TINY_ARTICLES.items() if name != "tr/wifi.md"}
    folder = write_articles(tmp_path / "kb", articles)
    failing = subprocess.run(
        [PYTHON, "-m", "tuning", "lint-kb", "--source", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert failing.returncode == 1 and "missing-counterpart:wifi" in failing.stdout
    (folder / "lint-allow.txt").write_text("# English-only for now\nmissing-counterpart:wifi\n", encoding="utf-8")
    passing = subprocess.run(
        [PYTHON, "-m", "tuning", "lint-kb", "--source", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert passing.returncode == 0 and passing.stdout == ""


def test_a_broken_article_is_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", {**TINY_ARTICLES, "en/bad.md": "no front matter\n"})
    result = subprocess.run(
        [PYTHON, "-m", "tuning", "lint-kb", "--source", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {folder / 'en' / 'bad.md'}: line 1: missing front matter (the file must start with '---')"


def test_the_sample_kb_has_no_errors() -> None:
    findings = lint(ROOT / "bot" / "data" / "kb")
    assert [str(f) for f in findings if f.level == "error"] == []
    assert any("external link(s) not checked" in str(f) for f in findings)


def test_two_articles_with_one_topic_in_one_language_are_ambiguous(tmp_path: Path) -> None:
    second = (
        TINY_ARTICLES["en/wifi.md"]
        .replace("id: wifi-en", "id: wifi2-en")
        .replace("/en/wifi", "/en/wifi2")
        .replace("I forgot my wireless password", "How do I set a new Wi-Fi name?")
        .replace("title: How do I change my Wi-Fi password?", "title: Wi-Fi name")
    )
    folder = write_articles(tmp_path / "kb", {**TINY_ARTICLES, "en/wifi2.md": second})
    assert findings_text(folder) == [
        f"{folder / 'en' / 'wifi.md'}:4: error: topic 'wifi' has more than one en article (wifi-en, wifi2-en): counterparts are ambiguous [ambiguous-topic:wifi:en]",
        f"{folder / 'en' / 'wifi2.md'}:4: error: topic 'wifi' has more than one en article (wifi2-en, wifi-en): counterparts are ambiguous [ambiguous-topic:wifi:en]",
    ]
