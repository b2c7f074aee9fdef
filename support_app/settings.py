"""The support app's settings: the declared ones (settings/) it uses, resolved once at start (secrets checked,
addresses filled in). Defaults for the demo are in .env.example."""

from dataclasses import dataclass

from security.secrets_policy import require
from settings.model import DEFAULT_STAFF_DEMO_PASSWORD
from settings.model import Settings as Declared
from storage.database import Database

__all__ = ["DEFAULT_STAFF_DEMO_PASSWORD", "Settings"]


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
    def of(cls, declared: Declared) -> "Settings":
        """Raises SecretError (a ValueError) when a secret is unset or published (security/secrets_policy.py)."""
        demo = declared.secrets.demo_secrets
        web = declared.web
        return cls(
            database_path=declared.storage.database(),
            webchat_jwt_secret=require("WEBCHAT_JWT_SECRET", declared.secrets.webchat_jwt_secret, demo),
            session_secret=require("SUPPORT_SESSION_SECRET", declared.secrets.support_session_secret, demo),
            webchat_server_url=web.server_url(declared.processes.rasa_port),
            webchat_token_ttl=web.webchat_token_ttl,
            secure_cookies=web.secure_cookies,
            staff_demo_password=declared.staff.staff_demo_password,
            checkout_idle_seconds=web.checkout_idle_seconds,
            cart_reminder_delay_minutes=web.cart_reminder_delay_minutes,
            brand_name=web.brand_name,
            demo_data=web.demo_data,
        )
