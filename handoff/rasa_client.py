"""The Rasa server's HTTP API, as the handoff needs it (token auth, 5 s timeout)."""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from settings.model import Settings

DEFAULT_URL = "http://localhost:5005"


class RasaUnavailable(RuntimeError):
    """The Rasa server did not accept the request; the message says where and why."""


@dataclass(frozen=True)
class RasaClient:
    url: str = DEFAULT_URL
    token: str = ""
    timeout: float = 5.0

    @classmethod
    def configured(cls, settings: Settings) -> "RasaClient":
        """RASA_URL and RASA_AUTH_TOKEN."""
        return cls(url=settings.processes.rasa_url.rstrip("/"), token=settings.secrets.rasa_auth_token)

    def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, Any] | None = None) -> dict[str, Any]:
        """Inject an intent into the sender's conversation; replies go to the sender's latest channel."""
        return self._call(
            "POST",
            f"/conversations/{_quote(sender_id)}/trigger_intent",
            {"output_channel": "latest"},
            {"name": intent, "entities": entities or {}},
        )

    def tracker_events(self, sender_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/conversations/{_quote(sender_id)}/tracker", {}, None).get("events") or [])

    def _call(self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None) -> dict[str, Any]:
        params = urllib.parse.urlencode({**query, **({"token": self.token} if self.token else {})})
        request = urllib.request.Request(
            f"{self.url}{path}?{params}",
            method=method,
            headers={"Content-Type": "application/json"},
            data=json.dumps(body).encode() if body is not None else None,
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise RasaUnavailable(f"Rasa at {self.url} answered {error.code} to {method} {path}") from error
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RasaUnavailable(f"Rasa at {self.url} is unreachable ({reason})") from error
        return json.loads(raw) if raw else {}


def _quote(sender_id: str) -> str:
    """Rasa's routes take the id from the raw path: "whatsapp:+90…" must stay as it is
    (an encoded "%3A" would address, and create, another conversation)."""
    return urllib.parse.quote(sender_id, safe=":+@")
