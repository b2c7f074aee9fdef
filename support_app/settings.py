"""Support app settings, from the environment (defaults for the demo are in .env.example)."""

import os
from dataclasses import dataclass

from security.secrets_policy import require
from storage.database import Database, configured_database

# The demo staff accounts (admin, agent1, agent2, marketing, ops) get this password when
# DESTEK_DEMO_DATA is on and the staff table is empty; set STAFF_DEMO_PASSWORD= (empty) to create none.
DEFAULT_STAFF_DEMO_PASSWORD = "demo-staff"
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    database_path: Database  # storage.database: the SQLite file (DESTEK_DB), or DESTEK_DATABASE_URL
    webchat_jwt_secret: str
    session_secret: str
    webchat_server_url: str
    webchat_token_ttl: int
    secure_cookies: bool
    staff_demo_password: str
    checkout_idle_seconds: float = 30.0
    cart_reminder_delay_minutes: float = 60.0
    # DESTEK_BRAND_NAME: the company's name in the widget's title and the shop's header ("" → none).
    brand_name: str = ""
    # DESTEK_DEMO_DATA: seed the demo customers, their shop logins and the demo staff at start.
    demo_data: bool = False

    @classmethod
    def from_env(cls) -> "Settings":
        """Raises SecretError (a ValueError) when a secret is unset or published (security/secrets_policy.py)."""
        rasa_port = os.environ.get("RASA_PORT") or "5005"
        ttl = os.environ.get("WEBCHAT_TOKEN_TTL") or "900"
        if not ttl.isdigit() or int(ttl) < 60:
            raise ValueError(f"WEBCHAT_TOKEN_TTL must be a whole number of seconds >= 60, not {ttl!r}")
        return cls(
            database_path=configured_database(),
            webchat_jwt_secret=require("WEBCHAT_JWT_SECRET"),
            session_secret=require("SUPPORT_SESSION_SECRET"),
            webchat_server_url=(os.environ.get("WEBCHAT_SERVER_URL") or f"http://localhost:{rasa_port}").rstrip("/"),
            webchat_token_ttl=int(ttl),
            secure_cookies=os.environ.get("SUPPORT_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            staff_demo_password=os.environ.get("STAFF_DEMO_PASSWORD", DEFAULT_STAFF_DEMO_PASSWORD),
            checkout_idle_seconds=_positive("CHECKOUT_IDLE_SECONDS", "30"),
            cart_reminder_delay_minutes=_positive("CART_REMINDER_DELAY_MINUTES", "60"),
            brand_name=_brand_name(),
            demo_data=_flag("DESTEK_DEMO_DATA"),
        )


def _positive(name: str, default: str) -> float:
    raw = os.environ.get(name) or default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, not {raw!r}")
    return value


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw not in _ON + _OFF:
        raise ValueError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {raw!r}")
    return raw in _ON


def _brand_name() -> str:
    """At most 60 printable characters; the widget and the templates render it as text."""
    name = " ".join(os.environ.get("DESTEK_BRAND_NAME", "").split())
    if len(name) > 60 or not name.isprintable():
        raise ValueError("DESTEK_BRAND_NAME must be at most 60 printable characters")
    return name
