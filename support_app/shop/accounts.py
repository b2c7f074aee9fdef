"""Demo shop logins: scrypt password hashes in the support database, bound to customer ids."""

import base64
import hashlib
import hmac
import secrets

from customer_store.store import DEMO_CUSTOMERS
from storage import schema
from storage.database import Store

DEMO_PASSWORD = "demo"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str | None) -> bool:
    """Whether the password fits the stored hash. With no stored hash (unknown login) the same
    scrypt work is done anyway, so timing does not reveal which logins exist."""
    if stored is None:
        hash_password(password)
        return False
    scheme, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


class Accounts(Store):
    """Login name → (customer id, password hash), in the `web_accounts` table."""

    TABLES = (schema.web_accounts,)

    def set_password(self, login: str, customer_id: str, password: str) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO web_accounts (login, customer_id, password_hash) VALUES (?, ?, ?) "
                "ON CONFLICT (login) DO UPDATE SET customer_id = excluded.customer_id, password_hash = excluded.password_hash",
                (login, customer_id, hash_password(password)),
            )

    def authenticate(self, login: str, password: str) -> str | None:
        """The customer id when the password is right, else None."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT customer_id, password_hash FROM web_accounts WHERE login = ?", (login.strip().lower(),)
            ).fetchone()
        if not password_matches(password, row[1] if row else None):
            return None
        return str(row[0])

    def seed_demo(self) -> None:
        """Password "demo" for each demo customer's web login (see customer_store.seed_demo_customers)."""
        with self._transaction() as connection:
            known = {row[0] for row in connection.execute("SELECT login FROM web_accounts")}
        for demo in DEMO_CUSTOMERS:
            if demo["login"] not in known:
                self.set_password(demo["login"], demo["id"], DEMO_PASSWORD)
