"""kb_index on articles with no alternate questions: calibration, ties, language routing, eval-public."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kb_index import build as build_module
from kb_index import calibrate as calibrate_module
from kb_index.build import BuildSettings, build_index
from kb_index.chunking import split_passages
from kb_index.ranking import FEATURES, fuse
from kb_index.search import KnowledgeBase
from language.detect import detect_language
from tests.conftest import PYTHON, ROOT
from tests.kb_index.test_cli_errors import kb_cli

ENGLISH = {
    "router-1": (
        "Setting up your router",
        "Unpack the router and plug the power cable into the wall socket. Connect the grey DSL cable to the port marked DSL. Wait until the power light turns steady green. The first start can take up to five minutes.",
    ),
    "router-2": (
        "Setting up your router",
        "Open a browser and go to the setup page at 192.168.1.1. Sign in with the password printed on the sticker under the router. Choose a new network name and a strong Wi-Fi password. Save the settings and reconnect your phone.",
    ),
    "invoice": (
        "Paying your monthly invoice",
        "You can pay the invoice by card in the app or by direct debit from your bank. Payments made after the due date add a late fee of two percent. A paid invoice shows a green tick in the billing page.",
    ),
    "returns": (
        "Returning a product",
        "Products can be returned within thirty days of delivery. Print the free return label from My orders and stick it on the box. Hand the parcel to any courier point. The refund reaches your card within ten business days.",
    ),
    "stores": (
        "Store opening hours",
        "Our shops open at ten in the morning and close at nine in the evening. On Sundays they open at noon. Holiday hours are shown on each store page. The flagship store in the city centre stays open until ten.",
    ),
    "password": (
        "Resetting your account password",
        "Choose forgot password on the sign-in page. We send a reset link to your e-mail address. The link works for one hour. If the e-mail does not arrive, look in the spam folder or ask for a new link.",
    ),
    "delivery": (
        "Delivery times and fees",
        "Orders placed before two in the afternoon leave the warehouse the same day. Standard delivery takes two to four days and is free above fifty euros. Express delivery arrives the next day for a fee of seven euros.",
    ),
    "warranty": (
        "Warranty and repairs",
        "Every device has a two year warranty. A faulty device is repaired or replaced free of charge. Damage from drops or water is not covered. Book a repair from the device page in your account.",
    ),
    "mongols": (
        "History of the Mongol Empire",
        "Temüjin united the Mongol tribes and was proclaimed Genghis Khan in 1206. His sons and grandsons extended the empire from China to Eastern Europe. The empire was divided into four khanates later in the century.",
    ),
}
TURKISH = {
    "fatura": (
        "Faturanızı ödeme",
        "Faturanızı uygulamadan kartla ya da bankanızdan otomatik ödeme talimatıyla ödeyebilirsiniz. Son ödeme tarihinden sonra yapılan ödemelere yüzde iki gecikme bedeli eklenir. Ödenmiş fatura sayfada yeşil işaretle görünür.",
    ),
    "iade": (
        "Ürün iadesi",
        "Ürünleri teslimattan sonraki otuz gün içinde iade edebilirsiniz. Siparişlerim sayfasından ücretsiz iade kodunu alın. Paketi herhangi bir kargo noktasına teslim edin. Ücret iadesi on iş günü içinde kartınıza yansır.",
    ),
    "magaza": (
        "Mağaza çalışma saatleri",
        "Mağazalarımız sabah onda açılır ve akşam dokuzda kapanır. Pazar günleri öğlen açılırlar. Bayram saatleri her mağazanın sayfasında yazar. Şehir merkezindeki büyük mağaza akşam ona kadar açıktır.",
    ),
    "sifre": (
        "Hesap şifrenizi sıfırlama",
        "Giriş sayfasında şifremi unuttum seçeneğine dokunun. E-posta adresinize bir sıfırlama bağlantısı göndeririz. Bağlantı bir saat geçerlidir. E-posta gelmezse istenmeyen klasörüne bakın ya da yeni bağlantı isteyin.",
    ),
    "teslimat": (
        "Teslimat süreleri ve ücretleri",
        "Öğleden sonra ikiye kadar verilen siparişler aynı gün depodan çıkar. Standart teslimat iki ila dört gün sürer ve elli avronun üzerinde ücretsizdir. Hızlı teslimat ertesi gün gelir ve yedi avro tutar.",
    ),
    "garanti": (
        "Garanti ve onarım",
        "Her cihazın iki yıl garantisi vardır. Arızalı cihaz ücretsiz onarılır ya da değiştirilir. Düşme ya da su hasarı garanti kapsamında değildir. Onarım talebini hesabınızdaki cihaz sayfasından açın.",
    ),
    "modem": (
        "Modem kurulumu",
        "Modemi kutusundan çıkarın ve güç kablosunu prize takın. Gri DSL kablosunu DSL yazan girişe bağlayın. Güç ışığı sabit yeşil yanana kadar bekleyin. İlk açılış beş dakika kadar sürebilir.",
    ),
}


def _write(path: Path, questions: bool = False) -> Path:
    lines = []
    for lang, articles in (("en", ENGLISH), ("tr", TURKISH)):
        for key, (title, body) in articles.items():
            record: dict[str, object] = {
                "id": f"{key}-{lang}",
                "title": title,
                "body": body,
                "lang": lang,
                "url": f"https://help.example/{lang}/{key}",
            }
            if questions:
                record["questions"] = [f"{title}?", f"help with {title.lower()}"]
            lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def articles_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("articles-only")
    build_index(_write(base / "kb.jsonl"), base / "index", BuildSettings(), progress=False)
    return base / "index"


def _manifest(index: Path) -> dict:
    generation = json.loads((index / "current.json").read_text())["generation"]
    return json.loads((index / generation / "manifest.json").read_text())


def _check_fitted(manifest: dict) -> None:
    assert manifest["threshold_source"] == "fitted" and manifest["false_answer_budget"] == 0.05
    for lang in ("en", "tr"):
        calibration = manifest["calibration"][lang]
        assert calibration["fitted"], calibration
        assert set(calibration["weights"]) == set(FEATURES)
        assert all(weight >= 0.0 for weight in calibration["weights"].values()), calibration["weights"]
        assert any(weight > 0.0 for weight in calibration["weights"].values())
        assert 0.0 < calibration["threshold"] < 1.0
        assert calibration["report"]["pseudo_queries"] >= 20


def test_articles_only_base_fits_its_own_calibration(articles_only: Path) -> None:
    manifest = _manifest(articles_only)
    _check_fitted(manifest)
    for lang in ("en", "tr"):
        calibration = manifest["calibration"][lang]
        # No real questions to learn how raw BM25 grows with a query's length from.
        assert calibration["weights"]["words"] == 0.0
        assert "question_queries" not in calibration["report"]
    kb = KnowledgeBase.open(articles_only)
    hits = kb.search("how long does express delivery take", k=3)
    assert hits[0].id == "delivery-en"
    assert hits[0].score >= kb.threshold


def test_base_with_alternate_questions_still_fits(tmp_path: Path) -> None:
    build_index(_write(tmp_path / "kb.jsonl", questions=True), tmp_path / "index", BuildSettings(model="none"), progress=False)
    manifest = _manifest(tmp_path / "index")
    _check_fitted(manifest)
    assert manifest["calibration"]["en"]["report"]["question_queries"] == 2 * len(ENGLISH)
    assert manifest["calibration"]["tr"]["report"]["question_queries"] == 2 * len(TURKISH)


def test_each_alternate_question_is_asked_of_an_index_without_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[list[str]] = []  # the alternate questions of each index built for calibration
    asked: list[tuple[int, list[str]]] = []  # (index number, queries searched against it)
    real_index, real_search = build_module._language_index, calibrate_module._search

    def language_index(*args: Any) -> Any:
        built.append([question for article in args[2] for question in article.questions])
        return real_index(*args)

    def search(index: Any, queries: list[Any], *args: Any) -> None:
        asked.append((len(built) - 1, [query.text for query in queries]))
        real_search(index, queries, *args)

    monkeypatch.setattr(build_module, "_language_index", language_index)
    monkeypatch.setattr(calibrate_module, "_search", search)
    build_index(_write(tmp_path / "kb.jsonl", questions=True), tmp_path / "index", BuildSettings(model="none"), progress=False)
    # Per language: its whole index (0), then one index per half of the questions (1, 2).
    assert len(built) == 6
    for whole in (0, 3):
        halves = [texts for number, texts in asked if number in (whole + 1, whole + 2)]
        assert len(halves) == 2
        for number, texts in zip((whole + 1, whole + 2), halves, strict=True):
            assert texts and not set(texts) & set(built[number]), "a question was asked of an index that holds it"
        assert sorted(halves[0] + halves[1]) == sorted(built[whole]), "every alternate question is asked exactly once"


def test_threshold_setting_overrides_the_fitted_one(tmp_path: Path) -> None:
    build_index(_write(tmp_path / "kb.jsonl"), tmp_path / "index", BuildSettings(model="none", threshold=0.4), progress=False)
    manifest = _manifest(tmp_path / "index")
    assert manifest["threshold"] == 0.4 and manifest["threshold_source"] == "set"
    assert KnowledgeBase.open(tmp_path / "index").threshold == 0.4


def test_articles_sharing_a_title_do_not_tie(articles_only: Path) -> None:
    kb = KnowledgeBase.open(articles_only)
    query = "Setting up your router"
    hits = kb.search(query, k=2, lang="en")
    assert {hit.id for hit in hits} == {"router-1-en", "router-2-en"}
    index = kb._languages["en"]
    signals, _ = index.signals(query, kb.embed_query(query))
    fused = fuse(signals, index.calibration.fusion)
    ids = [kb.articles[int(article)]["id"] for article in index.articles]
    first, second = ids.index("router-1-en"), ids.index("router-2-en")
    assert signals["chars"][first] == signals["chars"][second], "the title entry alone would tie them"
    assert fused[first] != fused[second]
    assert kb.search("router setup page password on the sticker", k=1)[0].id == "router-2-en"
    assert kb.search("router power light steady green", k=1)[0].id == "router-1-en"


def test_english_query_with_a_turkish_letter_in_a_name_searches_english(articles_only: Path) -> None:
    query = "When was Temüjin proclaimed Genghis Khan?"
    assert detect_language(query).language == "en"
    hits = KnowledgeBase.open(articles_only).search(query, k=3)
    assert hits[0].id == "mongols-en"
    assert {hit.lang for hit in hits} == {"en"}
    assert detect_language("Faturamı nasıl öderim").language == "tr"


def test_long_unsplittable_sentences_are_capped() -> None:
    passages = split_passages(" ".join(f"kelime{n}" for n in range(250)), "tr", max_words=80)
    assert [len(p.split()) for p in passages] == [80, 80, 80, 10]


def test_eval_public_on_the_committed_xquad_slice() -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [PYTHON, "-m", "kb_index", "eval-public", "--xquad", str(ROOT / "tests/data/xquad-slice"), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=1800)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"xquad-tr", "xquad-tr-half", "xquad-en", "xquad-en-half"}
    for name, row in report.items():
        assert set(row) == {"kb_index", "char TF-IDF", "BM25", "BM25 prefix-5"}
        assert row["kb_index"]["n"] == row["BM25"]["n"] > 0
        for method in row.values():
            assert 0.0 <= method["recall@1"] <= method["recall@5"] <= 1.0
        assert row["kb_index"]["recall@1"] >= 0.85, (name, row["kb_index"])
    assert report["xquad-tr-half"]["kb_index"]["n_unanswerable"] > 0
    assert report["xquad-tr"]["kb_index"]["n_unanswerable"] == 0
    table = subprocess.run([*command[:-1], "--set", "xquad-en-half"], capture_output=True, text=True, env=environment, timeout=1800)
    assert table.returncode == 0, table.stderr
    assert "BM25 prefix-5" in table.stdout and "xquad-en-half" in table.stdout and "xquad-tr " not in table.stdout


def test_eval_public_names_a_missing_folder(tmp_path: Path) -> None:
    result = kb_cli("eval-public", "--xquad", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "xquad.tr.json" in result.stderr


def test_coverage_counts_a_word_the_base_never_mentions_as_missing_evidence() -> None:
    from kb_index.words import WordIndex

    documents = [title + "\n" + body for title, body in TURKISH.values()]
    words = WordIndex.build(documents, "auto", "tr")
    iade = list(TURKISH).index("iade")
    assert words.coverage("ücretsiz iade kodunu nasıl")[iade] == pytest.approx(1.0)
    near_miss = words.coverage("ikinci el araba satıyor musunuz")
    assert near_miss.max() < 0.5
    assert not words.coverage("ve ile ama").any()  # stop words only: no evidence either way


def test_coverage_takes_a_misspelt_word_for_the_known_word_one_typo_away() -> None:
    """A customer's typo (letters swapped: "fatrua", "invocie"; doubled: "iadde"; a key's neighbour: "invpice")
    is not a word the base never mentions: coverage counts the known word one typo away. Not corrected: two
    typos, a word of under four letters, a changed first letter, a letter changed for one far on the keyboard."""
    from kb_index.words import WordIndex

    turkish = WordIndex.build([title + "\n" + body for title, body in TURKISH.values()], "auto", "tr")
    english = WordIndex.build([title + "\n" + body for title, body in ENGLISH.values()], "auto", "en")
    fatura, iade = list(TURKISH).index("fatura"), list(TURKISH).index("iade")
    invoice, router = list(ENGLISH).index("invoice"), list(ENGLISH).index("router-1")
    assert turkish.coverage("fatrua ödeme")[fatura] == pytest.approx(turkish.coverage("fatura ödeme")[fatura])
    assert turkish.coverage("iadde kodu")[iade] == pytest.approx(1.0)
    right = english.coverage("pay my invoice")[invoice]
    for typo in ("invocie", "invpice"):
        assert english.coverage(f"pay my {typo}")[invoice] == pytest.approx(right), typo
    for not_one_typo in ("inovcie", "invxice"):
        assert english.coverage(f"pay my {not_one_typo}")[invoice] < right, not_one_typo
    assert english.coverage("pya my invoice")[invoice] < right  # three letters
    assert english.coverage("mouter cable")[router] < english.coverage("router cable")[router]  # first letter
    assert turkish.coverage("ikinci el araba satıyor musunuz").max() < 0.5  # still unknown words


def test_bm25_beyond_a_questions_length_is_scaled_and_ranking_is_unchanged(articles_only: Path) -> None:
    """The raw BM25 feature is not extrapolated to long texts (an agent's answer): past QUESTION_TOKENS
    tokens it counts QUESTION_TOKENS tokens' worth; fusion z-scores it, so the ranking is the same."""
    from kb_index.scoring import QUESTION_TOKENS
    from kb_index.words import tokenizer

    kb = KnowledgeBase.open(articles_only)
    index = kb._languages["en"]
    short = "express delivery fee"
    long = "Express delivery arrives the next day for a fee of seven euros, and standard delivery takes two to four days."
    tokens = tokenizer(index.words.stemmer, "en")
    assert len(tokens(short)) < QUESTION_TOKENS < len(tokens(long))
    signals, _ = index.signals(short, kb.embed_query(short))
    assert list(signals["words"]) == list(index.words.scores(short))
    signals, _ = index.signals(long, kb.embed_query(long))
    raw = index.words.scores(long)
    scale = len(tokens(long)) / QUESTION_TOKENS
    assert signals["words"] == pytest.approx(raw / scale)
    unscaled = {**signals, "words": raw}
    assert list(np.argsort(-fuse(signals, index.calibration.fusion))) == list(np.argsort(-fuse(unscaled, index.calibration.fusion)))
