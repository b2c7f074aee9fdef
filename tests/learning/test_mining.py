"""Answers mined from resolved handoffs (issue #17 part 2): keeping, grouping, suggesting, writing.

A synthetic month of closed handoffs (tests/learning/fixture.py) goes through the real
HandoffStore, HandoffService.close and SQLite; suggestions use the repository's KB and index;
accepted suggestions are written into a temporary copy of the KB and rebuilt with kb_index.
"""

import copy
import shutil
import subprocess
from pathlib import Path

import pytest

from customer_store.store import CustomerStore
from handoff.rasa_client import RasaClient
from handoff.service import HandoffService
from handoff.store import HandoffStore
from kb_index.articles import load_articles
from kb_index.errors import KbError
from kb_index.search import KnowledgeBase
from learning.kb_writer import Draft, KbWriteError, add_article, add_questions
from learning.mining import ALTERNATE, ARTICLE, group_answers, grouping_distance, kb_encoder, mine
from learning.store import AgentAnswerStore
from privacy.retention import purge_support_db
from storage.database import Database
from tests.conftest import ROOT
from tests.helpers.databases import support_database
from tests.helpers.servers import free_port
from tests.learning.fixture import GIFT_EN, RESET_EN, synthetic_month, topics


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, dict[str, list[int]]]:
    database = support_database(tmp_path_factory.mktemp("learning"))
    return database, synthetic_month(database)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.open(ROOT / "var" / "kb-index")


def test_closing_a_handoff_keeps_question_and_answer_redacted(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    store = HandoffStore(database)
    service = HandoffService(store, RasaClient(url=f"http://127.0.0.1:{free_port()}", token="x"), CustomerStore(database))
    handoff = store.create("web:card", "web", "customer_asked", 1, language="en")
    store.claim(handoff["id"], "agent1")
    store.add_message(handoff["id"], "customer", "", "my card 4111 1111 1111 1111 was charged twice, why?")
    sent = store.add_message(
        handoff["id"], "agent", "agent1", "We refunded the second charge to TR33 0006 1005 1978 6457 8413 26.", status="pending"
    )
    store.set_message_status(sent, "sent")
    failed = store.add_message(handoff["id"], "agent", "agent1", "this one never reached the customer", status="pending")
    store.set_message_status(failed, "failed", "rasa down")
    closed = service.close(handoff["id"], "agent1")
    assert closed["status"] == "closed" and closed["notified"] is False  # Rasa unreachable: closing still works

    [kept] = AgentAnswerStore(database).answers()
    assert kept.handoff_id == handoff["id"] and kept.language == "en" and kept.agent == "agent1"
    assert kept.questions == ("my card [CARD] was charged twice, why?",)
    assert kept.answer == "We refunded the second charge to [IBAN]."

    assert purge_support_db(database, cutoff=kept.closed_at - 1)["agent_answers"] == 0  # the retention period applies
    assert purge_support_db(database, cutoff=kept.closed_at + 1)["agent_answers"] == 1
    assert AgentAnswerStore(database).answers() == []

    silent = store.create("web:silent", "web", "customer_asked", 1, language="en")
    store.claim(silent["id"], "agent1")
    store.add_message(silent["id"], "customer", "", "is anybody there at all")
    service.close(silent["id"], "agent1")  # no answer from the agent: nothing to learn
    assert AgentAnswerStore(database).answers() == []


def test_questions_answered_alike_form_one_group_per_language(month: tuple[Path, dict[str, list[int]]], kb: KnowledgeBase) -> None:
    database, made = month
    answers = AgentAnswerStore(database).answers()
    assert len(answers) == sum(len(ids) for ids in made.values())
    groups = group_answers(answers, kb_encoder(kb), grouping_distance(kb))
    as_sets = sorted(sorted(a.handoff_id for a in group) for group in groups)
    assert as_sets == sorted(sorted(ids) for ids in made.values())
    for group in groups:
        assert len({a.language for a in group}) == 1
    gift_en = next(g for g in groups if made["gift-en"][0] in {a.handoff_id for a in g})
    assert {a.language for a in gift_en} == {"en"} and not set(made["gift-tr"]) & {a.handoff_id for a in gift_en}


def test_suggestions_link_or_match_articles_or_draft_new_ones(month: tuple[Path, dict[str, list[int]]], kb: KnowledgeBase) -> None:
    database, made = month
    suggestions = mine(AgentAnswerStore(database).answers(), kb, load_articles(ROOT / "bot" / "data" / "kb"))
    by_topic = {topic: next((s for s in suggestions if ids[0] in {a.handoff_id for a in s.answers}), None) for topic, ids in made.items()}

    gift = by_topic["gift-en"]
    assert gift is not None and gift.kind == ARTICLE and gift.language == "en" and set(gift.questions) == set(GIFT_EN)
    assert "15 TL" in gift.central_answer and gift.draft_title[0].isupper()
    assert by_topic["gift-tr"] is not None and by_topic["gift-tr"].kind == ARTICLE and by_topic["gift-tr"].language == "tr"

    reset = by_topic["reset-en"]
    assert reset is not None and reset.kind == ALTERNATE and reset.article is not None and reset.article.id == "reset-password-en"
    assert "linked" in reset.reason
    assert set(reset.questions) <= set(RESET_EN) and reset.questions  # only wordings the bot does not answer yet

    modem = by_topic["modem-en"]
    assert modem is not None and modem.kind == ALTERNATE and modem.article is not None and modem.article.id == "modem-lights-en"
    assert "matches" in modem.reason

    # The bill questions are answered by the bot already (invoice-too-high-tr): nothing to suggest.
    assert by_topic["bill-tr"] is None
    assert (
        len(suggestions) == len(made) - 1 and suggestions[0].kind == ARTICLE and len(suggestions[0].answers) == len(topics()["gift-en"][1])
    )


def test_mining_refuses_a_model_without_a_measured_grouping_cut(month: tuple[Path, dict[str, list[int]]], kb: KnowledgeBase) -> None:
    """Another model's distance would group nonsense (cosines spread differently): a one-line refusal instead."""
    unmeasured = copy.copy(kb)
    unmeasured.manifest = {**kb.manifest, "model": "some/unmeasured-model"}
    with pytest.raises(KbError, match="no measured similarity cut-offs for embedding model 'some/unmeasured-model'"):
        mine(AgentAnswerStore(month[0]).answers(), unmeasured, load_articles(ROOT / "bot" / "data" / "kb"))


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "kb"
    shutil.copytree(ROOT / "bot" / "data" / "kb", copy)
    return copy


def test_accepted_alternate_question_and_article_pass_the_kb_build(kb_copy: Path, tmp_path: Path) -> None:
    article = kb_copy / "en" / "reset-password.md"
    before = article.read_text(encoding="utf-8")
    path, added = add_questions(kb_copy, "reset-password-en", ["my password reset link says: invalid token #2", "I forgot my password"])
    assert path == article and added == ["my password reset link says: invalid token #2"]  # the existing question is not repeated
    after = article.read_text(encoding="utf-8")
    new_lines = [line for line in after.splitlines() if line not in before.splitlines()]
    assert new_lines == ['  - "my password reset link says: invalid token #2"']
    assert after.replace('  - "my password reset link says: invalid token #2"\n', "", 1) == before  # every other byte kept

    path, article_id = add_article(
        kb_copy, Draft("en", "Do you offer gift wrapping?", "Yes, for 15 TL: choose 'Gift wrap' in the cart.", tuple(GIFT_EN))
    )
    assert article_id == "do-you-offer-gift-wrapping-en" and path == kb_copy / "en" / "do-you-offer-gift-wrapping.md"
    loaded = {a.id: a for a in load_articles(kb_copy)}
    assert "my password reset link says: invalid token #2" in loaded["reset-password-en"].questions
    assert loaded[article_id].title == "Do you offer gift wrapping?" and loaded[article_id].lang == "en"
    assert set(loaded[article_id].questions) == set(GIFT_EN) - {"do you offer gift wrapping?"}

    build = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "kb_index",
            "build",
            "--source",
            str(kb_copy),
            "--out",
            str(tmp_path / "index"),
            "--model",
            "none",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr


def test_the_writer_refuses_what_would_break_the_kb_and_changes_nothing(kb_copy: Path) -> None:
    snapshot = {p: p.read_bytes() for p in kb_copy.rglob("*.md")}
    with pytest.raises(KbWriteError, match="duplicate question"):
        add_questions(kb_copy, "reset-password-en", ["How can I track my order?"])  # another article's question
    with pytest.raises(KbWriteError, match="no article"):
        add_questions(kb_copy, "no-such-article", ["anything at all"])
    with pytest.raises(KbWriteError, match="control characters"):
        add_questions(kb_copy, "reset-password-en", ["bad\x00question"])
    with pytest.raises(KbWriteError, match="duplicate question 'I forgot my password. How do I reset it\\?': also in " + str(kb_copy)):
        add_article(kb_copy, Draft("en", "I forgot my password. How do I reset it?", "body", ()))
    with pytest.raises(KbWriteError, match="field 'body': empty"):
        add_article(kb_copy, Draft("en", "A new title", "   ", ()))
    with pytest.raises(KbWriteError, match="field 'language'"):
        add_article(kb_copy, Draft("de", "Ein Titel", "Text", ()))
    assert {p: p.read_bytes() for p in kb_copy.rglob("*.md")} == snapshot
    add_article(kb_copy, Draft("tr", "Hediye paketi yapıyor musunuz?", "Evet, 15 TL.", ()))
    with pytest.raises(KbWriteError, match="exists already"):
        add_article(kb_copy, Draft("tr", "Hediye paketi yapıyor musunuz", "Başka bir metin.", ()))
