"""Card numbers, TCKNs and IBANs that customers type reach no table of the support database,
and the handoff card redacts before it summarises. The bot's actions run in-process against a
real (tiny) index and a real SQLite file; every text cell of every table is then searched."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.actions import services
from bot.actions.feedback import ActionRecordFeedback
from bot.actions.handoff import ActionForwardToAgent, ActionRequestHuman
from bot.actions.kb import ActionAnswerFromKb
from connectors.whatsapp.inbound_log import InboundLog
from handoff.context_card import build_card
from storage.database import Database
from tests.bot.test_actions import run, tracker
from tests.helpers.databases import query, support_database, table_names, use_database
from tuning.review_store import NEEDS_ARTICLE, ReviewStore

CARD = "4111 1111 1111 1111"
TCKN = "10000000146"
IBAN = "TR33 0006 1005 1978 6457 8413 26"
SECRETS = (CARD, CARD.replace(" ", ""), TCKN, IBAN, IBAN.replace(" ", ""), "482913")
QUESTION = f"Kargom nerede kaldı? kartım {CARD} TC {TCKN} IBAN {IBAN} kod 482913"


@pytest.fixture
def database(tiny_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setenv("DESTEK_KB_INDEX", str(tiny_index))
    database = support_database(tmp_path)
    use_database(monkeypatch, database)
    monkeypatch.setenv("DESTEK_KB_THRESHOLD", "0.05")  # the question must be answered: answers_served is the store under attack
    monkeypatch.delenv("DESTEK_EMBEDDING_MODEL", raising=False)
    monkeypatch.setenv("HANDOFF_SETTINGS", str(Path(__file__).parents[1] / "data" / "handoff_always_open.yml"))
    caches = (services.settings, services.knowledge_base, services.records, services.customers, services.handoffs, services.rasa)
    for cached in caches:
        cached.cache_clear()
    services.customers().seed_demo_customers()
    yield database
    for cached in caches:
        cached.cache_clear()


def every_text_cell(database: Database) -> Iterator[tuple[str, str]]:
    for table in table_names(database):
        for row in query(database, f'SELECT * FROM "{table}"'):
            for cell in row:
                if isinstance(cell, str):
                    yield table, cell


def test_numbers_in_a_kb_question_reach_no_table(database: Database) -> None:
    sender = "web:cust-ayse"
    events, _ = run(ActionAnswerFromKb(), tracker(QUESTION, sender_id=sender, customer_id="cust-ayse", language="tr"))
    answered = {event["name"]: event["value"] for event in events}
    assert answered["kb_answered"] is True  # the answer path ran (answers_served written)
    slots = {"kb_query": QUESTION, "kb_article_id": answered["kb_article_id"], "kb_score": answered["kb_score"]}
    run(ActionRecordFeedback(), tracker("👎", intent="feedback_negative", sender_id=sender, customer_id="cust-ayse", **slots))
    run(ActionRequestHuman(), tracker(QUESTION, intent="request_human", sender_id=sender, customer_id="cust-ayse", **slots))
    run(ActionForwardToAgent(), tracker(QUESTION, intent="faq", sender_id=sender, customer_id="cust-ayse", **slots))
    ReviewStore(database).record(NEEDS_ARTICLE, sender, 1.0, QUESTION, "tr", "agent1")
    services.customers().remember_context("cust-ayse", last_query=QUESTION)
    InboundLog(database).claim("SM1", "whatsapp:+905551110001", {"MessageSid": "SM1", "Body": QUESTION})

    tables = {table for table, _ in every_text_cell(database)}
    for table in (
        "answers_served",
        "answer_feedback",
        "handoff_requests",
        "handoffs",
        "handoff_messages",
        "review_actions",
        "customer_context",
        "whatsapp_inbound",
    ):
        assert table in tables, f"{table} was not written: the test would prove nothing about it"
    leaks = [(table, cell[:120]) for table, cell in every_text_cell(database) for secret in SECRETS if secret in cell]
    assert leaks == []
    served = services.records().rows("answers_served")
    assert served and "[CARD]" in served[0]["query"] and "[TCKN]" in served[0]["query"] and "[IBAN]" in served[0]["query"]
    [inbound] = [json.loads(cell) for table, cell in every_text_cell(database) if table == "whatsapp_inbound" and cell.startswith("{")]
    assert inbound["MessageSid"] == "SM1" and "[CARD]" in inbound["Body"]  # ids stay exact for the replay


def user(text: str, ts: float) -> dict[str, Any]:
    return {"event": "user", "timestamp": ts, "text": text, "parse_data": {"intent": {"name": "faq", "confidence": 0.4}, "entities": []}}


def test_card_summary_redacts_before_it_cuts_and_reads_no_code_as_an_order() -> None:
    long_iban = "Param iadesi için hesabım şu, lütfen bu hesaba yatırın hemen: IBAN " + IBAN + " teşekkürler"  # cut at 80 inside the IBAN
    card = build_card(
        {"id": 1, "language": "tr", "reason": "customer_asked"},
        [("web:cust-ayse", "webchat", [user(long_iban, 1), user("SMS ile gelen 482913 girdim olmadı", 2)])],
    )
    raw = json.dumps(card, ensure_ascii=False)
    assert "TR33" not in raw and "TR33 0006" not in card["summary"]
    assert "mentions order" not in card["summary"]  # 482913 is no order number
    later = build_card(
        {"id": 2, "language": "tr", "reason": "customer_asked"},
        [("web:cust-ayse", "webchat", [user("siparişim 12345 nerede, kod 482913", 1)])],
    )
    assert "mentions order 12345" in later["summary"] and "482913" not in json.dumps(later, ensure_ascii=False)
