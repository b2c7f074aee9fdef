"""privacy.redaction: only checksum-valid card numbers, IBANs and TCKNs, and one-time codes, are redacted."""

import pytest

from privacy.redaction import find, iban_valid, luhn_valid, redact, redaction_pipeline, tckn_valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kartım 4111 1111 1111 1111 çekilmedi", "kartım [CARD] çekilmedi"),
        ("my card is 5500-0000-0000-0004, please check", "my card is [CARD], please check"),
        ("card 4012888888881881", "card [CARD]"),
        ("IBAN: TR33 0006 1005 1978 6457 8413 26 please", "IBAN: [IBAN] please"),
        ("iban tr330006100519786457841326", "iban [IBAN]"),
        ("send it to GB82 WEST 1234 5698 7654 32 today", "send it to [IBAN] today"),
        ("DE89370400440532013000 is mine", "[IBAN] is mine"),
        ("TC kimlik numaram 10000000146", "TC kimlik numaram [TCKN]"),
        ("my Turkish ID is 10000000146.", "my Turkish ID is [TCKN]."),
        ("kod 123456", "kod [CODE]"),
        ("doğrulama kodu: 482910 geldi", "doğrulama kodu: [CODE] geldi"),
        ("482910 doğrulama kodu", "[CODE] doğrulama kodu"),
        ("the code: 4821", "the code: [CODE]"),
        ("my verification code is 998877", "my verification code is [CODE]"),
        ("order 12345 and card 4111 1111 1111 1111 exp 2027", "order 12345 and card [CARD] exp 2027"),
    ],
)
def test_valid_numbers_and_codes_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "iban TR33 0006 1005 1978 6457 8413 27",  # mod-97 fails
        "GB82 WEST 1234 5698 7654 33",
        "TC 12345678901",  # TCKN digit rules fail
        "TC 01234567890",  # may not start with 0
        "siparişim 12345 nerede",  # order number
        "beni 05321234567 numarasından arayın",  # phone number
        "I paid 1500 TL on 12.03.2026",
        "where is order 998877",  # six digits but no code word
    ],
)
def test_invalid_or_harmless_numbers_are_kept(text: str) -> None:
    assert redact(text) == text


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("TR330006100519786457841326") and not iban_valid("TR33000610051978645784132")  # TR needs 26 characters
    assert tckn_valid("10000000146") and not tckn_valid("10000000147")


def test_findings_do_not_overlap_and_come_in_order() -> None:
    text = "4111111111111111 TR330006100519786457841326 10000000146 kod 1234"
    assert [f.kind for f in find(text)] == ["CARD", "IBAN", "TCKN", "OTP"]
    assert redact(text) == "[CARD] [IBAN] [TCKN] kod [CODE]"


def test_spacy_pipeline_marks_the_same_findings_as_entities() -> None:
    doc = redaction_pipeline()("kartım 4111 1111 1111 1111 ve IBAN TR330006100519786457841326.")
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("4111 1111 1111 1111", "CARD"), ("TR330006100519786457841326", "IBAN")]
