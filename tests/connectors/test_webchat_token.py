"""The web chat token shared by the support app (issues it) and the Rasa channel (verifies it)."""

import time

import jwt
import pytest

from connectors.webchat_token import AUDIENCE, ISSUER, InvalidToken, issue_token, verify_token

SECRET = "unit-test-secret-0123456789abcdefghij"


def test_the_sender_id_comes_from_the_subject() -> None:
    customer = verify_token(issue_token("cust-ayse", SECRET, 60, language="tr"), SECRET)
    assert (customer.sender_id, customer.customer_id, customer.language) == ("web:cust-ayse", "cust-ayse", "tr")
    visitor = verify_token(issue_token("anon-1a2b", SECRET, 60), SECRET)
    assert (visitor.sender_id, visitor.customer_id) == ("web:anon-1a2b", None)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing web chat token"),
        ("", "missing web chat token"),
        (issue_token("cust-ayse", SECRET, 60, now=time.time() - 120), "web chat token expired"),
        (issue_token("cust-ayse", "another-secret-0123456789abcdefghij", 86400), "invalid web chat token: Signature verification failed"),
        (
            jwt.encode({"sub": "cust-ayse", "exp": time.time() + 86400, "iss": ISSUER, "aud": AUDIENCE}, None, algorithm="none"),
            "invalid web chat token",
        ),
        (
            jwt.encode({"sub": "cust-ayse", "exp": time.time() + 86400, "iss": ISSUER, "aud": "other"}, SECRET, algorithm="HS256"),
            "invalid web chat token: Audience",
        ),
        (jwt.encode({"sub": "cust-ayse", "iss": ISSUER, "aud": AUDIENCE}, SECRET, algorithm="HS256"), "invalid web chat token"),
        (
            jwt.encode({"sub": "../x", "exp": time.time() + 86400, "iss": ISSUER, "aud": AUDIENCE}, SECRET, algorithm="HS256"),
            "invalid web chat token: unusable subject",
        ),
    ],
    ids=["none", "empty", "expired", "wrong-secret", "alg-none", "wrong-audience", "no-expiry", "bad-subject"],
)
def test_bad_tokens_are_refused_with_the_reason(token: object, reason: str) -> None:
    with pytest.raises(InvalidToken, match=f"^{reason}"):
        verify_token(token, SECRET)


def test_an_unusable_subject_is_never_issued() -> None:
    with pytest.raises(ValueError, match="web chat subject"):
        issue_token("web:cust-ayse/../x", SECRET, 60)
