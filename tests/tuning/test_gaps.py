"""Gap report: paraphrases grouped together (TR and EN), unrelated questions apart; article usage; CLI CSV."""

import csv
import subprocess
from pathlib import Path

import pytest

from feedback.records import Records
from tests.conftest import PYTHON, ROOT, write_articles
from tests.helpers.databases import support_database
from tuning.gaps import GapQuestion, article_usage, collect_questions, default_encoder, group_questions
from tuning.review_store import NEEDS_ARTICLE, ReviewStore

EN_GIFT = ["do you offer gift wrapping", "can you gift wrap my order", "is gift wrapping available?", "can I get my present wrapped"]
EN_CRYPTO = ["can I pay with bitcoin", "do you accept crypto payments", "is cryptocurrency accepted as payment"]
EN_PETS = ["do you sell dog food", "is there pet food in your shop"]
EN_ALONE = ["what is your CEO's name", "my modem is on fire"]
TR_GIFT = ["hediye paketi yapıyor musunuz", "siparişimi hediye paketi yapabilir misiniz", "hediye paketleme var mı"]
TR_CRYPTO = ["kripto para kabul ediyor musunuz", "kripto ile ödeme var mı", "kripto parayla ödeme yapabilir miyim"]
TR_ALONE = ["genel müdürünüz kim", "mağazada otopark var mı"]


@pytest.fixture(scope="module")
def encode():
    return default_encoder("use-multilingual-v3")


def question(text: str, language: str, source: str = "unanswered", sender: str = "s1") -> GapQuestion:
    return GapQuestion(text, language, source, sender, 0.0)


def test_paraphrases_are_grouped_and_unrelated_questions_kept_apart(encode) -> None:
    fixture = [question(t, "en") for t in EN_GIFT + EN_CRYPTO + EN_PETS + EN_ALONE] + [
        question(t, "tr") for t in TR_GIFT + TR_CRYPTO + TR_ALONE
    ]
    groups = group_questions(fixture, encode)
    found = sorted(sorted(q.text for q in g.questions) for g in groups)
    expected = sorted(sorted(texts) for texts in [EN_GIFT, EN_CRYPTO, EN_PETS, TR_GIFT, TR_CRYPTO] + [[t] for t in EN_ALONE + TR_ALONE])
    assert found == expected
    assert {g.language for g in groups if "hediye paketi yapıyor musunuz" in g.examples} == {"tr"}
    biggest = groups[0]
    assert (
        biggest.size == 4 and biggest.language == "en" and biggest.suggested_title in {t[:1].upper() + t[1:].rstrip("?") for t in EN_GIFT}
    )


def test_the_same_question_counts_each_time_and_the_languages_never_mix(encode) -> None:
    fixture = [question("do you offer gift wrapping", "en", sender=f"c{i}") for i in range(3)] + [
        question("hediye paketi yapıyor musunuz", "tr")
    ]
    groups = group_questions(fixture, encode)
    assert [(g.language, g.size, g.customers, g.examples) for g in groups] == [
        ("en", 3, 3, ["do you offer gift wrapping"]),
        ("tr", 1, 1, ["hediye paketi yapıyor musunuz"]),
    ]


def test_questions_come_from_all_four_sources_and_articles_are_ranked(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    records = Records(database)
    records.add_unanswered("web:a", "do you offer gift wrapping", "en", None, 0.1)
    records.add_answer_served("web:b", "when will I get my money back", "en", "cancel-order-en", 0.64)
    records.add_feedback("web:b", "when will I get my money back", "cancel-order-en", 0.64, helpful=False)
    records.add_handoff_request("web:b", "en", "customer_asked", "when will I get my money back")
    records.add_answer_served("web:c", "how do I cancel", "en", "cancel-order-en", 0.9)
    records.add_feedback("web:c", "how do I cancel", "cancel-order-en", 0.9, helpful=False)
    records.add_answer_served("web:d", "iade kodu", "tr", "return-product-tr", 0.8)
    records.add_feedback("web:d", "iade kodu", "return-product-tr", 0.8, helpful=True)
    ReviewStore(database).record(NEEDS_ARTICLE, "whatsapp:+905551110001", 5.0, "hediye paketi var mı", "tr", "agent1")
    sources = sorted((q.source, q.language, q.text) for q in collect_questions(database))
    assert sources == [
        ("handed_off", "en", "when will I get my money back"),
        ("needs_article", "tr", "hediye paketi var mı"),
        ("rated_down", "en", "how do I cancel"),
        ("rated_down", "en", "when will I get my money back"),
        ("unanswered", "en", "do you offer gift wrapping"),
    ]
    uses = article_usage(database, {"cancel-order-en": "How do I cancel an order?"})
    assert [(u.article_id, u.title, u.served, u.helpful, u.not_helpful, u.handoffs_after, u.flagged_for_rewrite) for u in uses] == [
        ("cancel-order-en", "How do I cancel an order?", 2, 0, 2, 1, True),
        ("return-product-tr", "return-product-tr", 1, 1, 0, 0, False),
    ]


def test_cli_writes_the_csv(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    records = Records(database)
    for sender, text in enumerate([*EN_GIFT, '=HYPERLINK("http://evil")']):
        records.add_unanswered(f"web:{sender}", text, "en", None, 0.1)
    kb = write_articles(tmp_path / "kb")
    out, articles = tmp_path / "gaps.csv", tmp_path / "articles.csv"
    result = subprocess.run(
        [PYTHON, "-m", "tuning", "gaps", "--out", str(out), "--db", str(database), "--kb", str(kb), "--articles-out", str(articles)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["language"], r["size"], r["unanswered"]) for r in rows] == [("en", "4", "4"), ("en", "1", "1")]
    assert rows[1]["examples"].startswith("'=HYPERLINK")  # no formula injection in spreadsheets
    missing = subprocess.run(
        [PYTHON, "-m", "tuning", "gaps", "--out", str(out), "--db", str(tmp_path / "none.sqlite3")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        missing.returncode == 2
        and missing.stderr.strip() == f"error: {tmp_path / 'none.sqlite3'}: no such database (set DESTEK_DB or --db)"
    )


def test_a_question_in_no_detectable_language_gets_its_own_group() -> None:
    from tuning.gaps import UNKNOWN_LANGUAGE, _language

    assert _language(None, "iphone 15") == UNKNOWN_LANGUAGE  # no cue either way: grouped apart, groups still sort
    assert _language("en", "iphone 15") == "en"
