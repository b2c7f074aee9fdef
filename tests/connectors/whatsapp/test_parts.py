"""The WhatsApp channel's parts: text shaping, keywords, and its stores (inbound log, window, held texts, offered
choices, delivery statuses) on the real database."""

import random
import time

import pytest

from connectors.whatsapp.choices import OfferedChoices
from connectors.whatsapp.delivery_status import DeliveryStatuses
from connectors.whatsapp.inbound_log import InboundLog
from connectors.whatsapp.text import chosen_payload, numbered_options, opt_keyword, split_message
from connectors.whatsapp.window import HeldTexts, ServiceWindows
from storage.database import Database


def test_split_keeps_short_text_whole_and_cuts_long_text_between_sentences() -> None:
    assert split_message("  Kısa bir yanıt.  ") == ["Kısa bir yanıt."]
    sentences = [f"Cümle numarası {number} burada bitiyor." for number in range(200)]
    pieces = split_message(" ".join(sentences), limit=300)
    assert all(len(piece) <= 300 for piece in pieces) and len(pieces) > 10
    assert " ".join(pieces) == " ".join(sentences)
    assert all(piece.endswith("bitiyor.") for piece in pieces)


def test_split_packs_paragraphs_and_cuts_a_word_longer_than_the_limit() -> None:
    assert split_message("Bir.\n\nİki.\n\nÜç.", limit=12) == ["Bir.\n\nİki.", "Üç."]
    assert [len(piece) for piece in split_message("x" * 3500)] == [1600, 1600, 300]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("DUR", (True, "tr")),
        ("dur", (True, "tr")),
        ("İPTAL", (True, "tr")),
        ("iptal", (True, "tr")),
        ("IPTAL", (True, "tr")),
        (" Stop! ", (True, "en")),
        ("BAŞLA", (False, "tr")),
        ("basla", (False, "tr")),
        ("START", (False, "en")),
        ("Unsubscribe.", (True, "en")),
        ("İptal", (True, "tr")),
        ("Başla!", (False, "tr")),
        ("BASLA", (False, "tr")),
        ("durum nedir", None),
        ("stop the charge please", None),
        ("", None),
    ],
)
def test_opt_keywords_are_whole_messages_in_either_language(text: str, expected: object) -> None:
    assert opt_keyword(text) == expected


def test_buttons_become_numbered_options_and_numbers_map_back() -> None:
    body, payloads = numbered_options(
        "Yardımcı oldu mu?", [{"title": "👍", "payload": "/answer_helpful"}, {"title": "👎", "payload": "/answer_not_helpful"}]
    )
    assert body == "Yardımcı oldu mu?\n\n1. 👍\n2. 👎"
    assert chosen_payload("2", payloads) == "/answer_not_helpful"
    assert chosen_payload(" 1. ", payloads) == "/answer_helpful"
    assert chosen_payload("3", payloads) is None and chosen_payload("12 TL", payloads) is None


def test_inbound_log_deduplicates_across_instances_and_replays_only_unhandled(database: Database) -> None:
    db = database
    assert InboundLog(db).claim("SM1", "whatsapp:+905550000001", {"MessageSid": "SM1"})
    assert not InboundLog(db).claim("SM1", "whatsapp:+905550000001", {"MessageSid": "SM1"})
    InboundLog(db).claim("SM2", "whatsapp:+905550000001", {"MessageSid": "SM2"})
    InboundLog(db).mark_handled("SM1")
    assert InboundLog(db).unhandled() == [{"MessageSid": "SM2"}]


def test_window_is_open_for_24_hours_after_the_last_inbound(database: Database) -> None:
    windows = ServiceWindows(database)
    address = "whatsapp:+905550000002"
    assert not windows.is_open(address) and windows.get(address) is None
    windows.touch(address, "Ayşe", at=time.time() - 23 * 3600)
    assert windows.is_open(address)
    windows.touch(address, "", at=time.time() - 30 * 3600)  # an older webhook arriving late
    assert windows.is_open(address) and windows.get(address)["profile_name"] == "Ayşe"
    assert not windows.is_open(address, now=time.time() + 2 * 3600)


def test_held_texts_come_back_once_in_order_per_address(database: Database) -> None:
    held = HeldTexts(database)
    assert held.hold("whatsapp:+905550000003", "birinci") == 0
    assert held.hold("whatsapp:+905550000003", "ikinci") == 1
    held.hold("whatsapp:+905550000004", "başkası")
    assert held.release("whatsapp:+905550000003") == ["birinci", "ikinci"]
    assert held.release("whatsapp:+905550000003") == []
    assert HeldTexts(database).release("whatsapp:+905550000004") == ["başkası"]


def test_offered_choices_hold_only_the_last_offer_for_the_next_message(database: Database) -> None:
    choices = OfferedChoices(database)
    choices.offer("whatsapp:+905550000005", ["/a", "/b"])
    choices.offer("whatsapp:+905550000005", ["/answer_helpful", "/answer_not_helpful"])
    assert choices.take("whatsapp:+905550000005") == ["/answer_helpful", "/answer_not_helpful"]
    assert choices.take("whatsapp:+905550000005") == []


def test_status_never_moves_backwards_and_terminal_failures_stay(database: Database) -> None:
    statuses_of = DeliveryStatuses(database)
    statuses = ["queued", "sent", "delivered", "read"] * 3
    random.Random(5).shuffle(statuses)
    for status in statuses:
        statuses_of.update("SMa", status)
    assert statuses_of.get("SMa")["status"] == "read"
    for status in ["queued", "undelivered", "sent", "delivered", "read"]:
        statuses_of.update("SMb", status, error_code="63016" if status == "undelivered" else "")
    assert statuses_of.get("SMb")["status"] == "undelivered" and statuses_of.get("SMb")["error_code"] == "63016"
    assert statuses_of.get("SMc") is None
    with pytest.raises(ValueError, match="unknown message status 'lost'"):
        statuses_of.update("SMa", "lost")
