"""Send a handoff (its context card) to an existing helpdesk: a signed POST with retries.

Headers: X-Destek-Timestamp (Unix seconds) and X-Destek-Signature = hex HMAC-SHA256(secret,
timestamp + "." + raw body). A receiver recomputes it over the raw bytes it got, compares
with hmac.compare_digest and rejects timestamps outside a window (docs/handoff.md).
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from security.secrets_policy import optional
from settings.model import Proactive

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Destek-Timestamp"
SIGNATURE_HEADER = "X-Destek-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, signature: str, body: bytes, window_s: int = 300, now: float | None = None) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant-time compare)."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= window_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class HelpdeskWebhook:
    url: str
    secret: str
    timeout: float = 5.0
    attempts: int = 4
    backoff_s: float = 1.0  # doubles after each failed attempt

    @classmethod
    def configured(cls, settings: Proactive) -> Optional["HelpdeskWebhook"]:
        """None when HELPDESK_WEBHOOK_URL is not set; a URL without a secret is refused."""
        url = settings.helpdesk_webhook_url
        if not url:
            return None
        secret = optional("HELPDESK_WEBHOOK_SECRET", settings.helpdesk_webhook_secret)  # a short or published one is refused (SecretError)
        if not secret:
            raise ValueError("HELPDESK_WEBHOOK_URL is set but HELPDESK_WEBHOOK_SECRET is empty: webhooks must be signed")
        return cls(url=url, secret=secret)

    def post(self, payload: dict[str, Any], sleep: Callable[[float], None] = time.sleep) -> bool:
        """POST the payload; retry on network errors and 5xx/429 with exponential backoff.
        True when the helpdesk answered 2xx. A 4xx other than 429 is not retried."""
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        delay = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            timestamp = str(int(time.time()))
            request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    TIMESTAMP_HEADER: timestamp,
                    SIGNATURE_HEADER: sign(self.secret, timestamp, body),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout):
                    return True
            except urllib.error.HTTPError as error:
                retry = error.code >= 500 or error.code == 429
                logger.warning("helpdesk webhook attempt %d: HTTP %d", attempt, error.code)
                if not retry:
                    return False
            except (urllib.error.URLError, OSError) as error:
                logger.warning("helpdesk webhook attempt %d: %s", attempt, getattr(error, "reason", error))
            if attempt < self.attempts:
                sleep(delay)
                delay *= 2
        return False
