"""Import a company's customers into the customer store from a CSV or JSONL file.

Every line is checked before anything is written, and the writes run in one transaction: a file
with any bad line changes nothing. Importing the same file again updates the profiles (empty
fields leave what is stored). Errors and the summary name lines and fields, never values: the
file holds personal data.
"""

import csv
import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from customer_store.store import CONSENT_PURPOSES, CustomerStore
from language.detect import SUPPORTED_LANGUAGES
from storage.database import Connection, Database, sqlite_path, transaction, url_of

PROFILE_COLUMNS = ("name", "phone", "email", "language", "region", "plan", "timezone")
CONSENT_COLUMNS = {f"consent_{purpose}": purpose for purpose in CONSENT_PURPOSES}
COLUMNS = ("id", *PROFILE_COLUMNS, "login", *CONSENT_COLUMNS)
MAX_ERRORS = 20
CONSENT_SOURCE = "import"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}")
_PHONE = re.compile(r"\+[1-9][0-9]{7,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_YES = ("1", "true", "yes", "y", "evet")
_NO = ("0", "false", "no", "n", "hayir", "hayır")
_TEXT_LIMIT = 200


class ImportFailed(ValueError):
    """The file cannot be imported; `lines` are one-line errors ("customers.csv line 3: phone: …")."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class Customer:
    """One checked line of the file."""

    line: int
    id: str
    profile: dict[str, str] = field(default_factory=dict)
    login: str | None = None
    consents: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    created: int
    updated: int


def import_customers(path: Path, database: Database) -> Summary:
    """Check the whole file, then write it in one transaction. Raises ImportFailed naming each bad line."""
    customers = read_customers(path)
    store = CustomerStore(database)  # creates the tables
    errors = _identity_conflicts(store, customers, path.name)
    if errors:
        raise ImportFailed(errors)
    created = 0
    with transaction(database, write=True) as opened:
        batch = _InTransaction(database, opened)
        for customer in customers:
            created += batch.customer(customer.id) is None
            batch.upsert_customer(customer.id, **customer.profile)
            for kind in ("phone", "email"):
                if customer.profile.get(kind):
                    batch.link_identity(customer.id, kind, customer.profile[kind])
            if customer.login:
                batch.link_identity(customer.id, "web", customer.login)
            for purpose, granted in customer.consents.items():
                batch.set_consent(customer.id, purpose, granted, source=CONSENT_SOURCE)
    return Summary(created=created, updated=len(customers) - created)


def read_customers(path: Path) -> list[Customer]:
    """Every line checked; raises ImportFailed with up to MAX_ERRORS one-line errors."""
    errors: list[str] = []
    customers: list[Customer] = []
    first_line: dict[str, int] = {}
    for line, row in _rows(path):
        try:
            customer = _checked(line, row)
        except ValueError as error:
            errors.append(f"{path.name} line {line}: {error}")
            continue
        if customer.id in first_line:
            errors.append(f"{path.name} line {line}: id: the same customer as line {first_line[customer.id]}")
            continue
        first_line[customer.id] = line
        customers.append(customer)
    if errors:
        raise ImportFailed(errors[:MAX_ERRORS] + ([f"… and {len(errors) - MAX_ERRORS} more"] if len(errors) > MAX_ERRORS else []))
    if not customers:
        raise ImportFailed([f"{path.name}: no customers in the file"])
    return customers


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFailed([f"{path.name}: cannot read the file as UTF-8 ({type(error).__name__})"]) from None
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        unknown = [column for column in reader.fieldnames or [] if column not in COLUMNS]
        if unknown or "id" not in (reader.fieldnames or []):
            column = unknown[0] if unknown else "id"
            problem = "unknown column" if unknown else "missing column"
            raise ImportFailed([f"{path.name} line 1: {column}: {problem} (columns: {', '.join(COLUMNS)})"])
        for row in reader:
            if None in row:
                yield reader.line_num, {"": "more cells than columns"}
            elif any(value for value in row.values()):
                yield reader.line_num, row
    elif suffix in (".jsonl", ".ndjson"):
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                yield number, {"": "not valid JSON"}
                continue
            yield number, record if isinstance(record, dict) else {"": "not a JSON object"}
    else:
        raise ImportFailed([f"{path.name}: the file must end in .csv or .jsonl"])


def _checked(line: int, row: dict[str, Any]) -> Customer:
    """The line as a Customer, or ValueError("field: problem") without the field's value."""
    if "" in row:
        raise ValueError(str(row[""]))
    for column in row:
        if column not in COLUMNS:
            raise ValueError(f"{column}: unknown field (fields: {', '.join(COLUMNS)})")
    values = {column: _text(column, value) for column, value in row.items()}
    customer_id = values.get("id") or ""
    if not _ID.fullmatch(customer_id):
        raise ValueError("id: required; letters, digits and . _ : @ - (at most 100)")
    customer = Customer(line=line, id=customer_id)
    for column in PROFILE_COLUMNS:
        value = values.get(column) or ""
        if value:
            customer.profile[column] = _profile_value(column, value)
    login = (values.get("login") or "").lower()
    if login:
        if not _LOGIN.fullmatch(login):
            raise ValueError("login: letters, digits and . _ - (at most 64)")
        customer.login = login
    for column, purpose in CONSENT_COLUMNS.items():
        raw = row.get(column)
        if isinstance(raw, bool):
            customer.consents[purpose] = raw
        elif values.get(column):
            answer = (values[column] or "").lower()
            if answer not in _YES + _NO:
                raise ValueError(f"{column}: yes or no (true/false, 1/0), or empty to leave it as it is")
            customer.consents[purpose] = answer in _YES
    return customer


def _text(column: str, value: Any) -> str | None:
    if value is None or (isinstance(value, bool) and column in CONSENT_COLUMNS):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{column}: must be text")
    text = " ".join(value.split())
    if len(text) > _TEXT_LIMIT or not text.isprintable():
        raise ValueError(f"{column}: at most {_TEXT_LIMIT} printable characters")
    return text


def _profile_value(column: str, value: str) -> str:
    if column == "phone":
        value = value.replace(" ", "")
        if not _PHONE.fullmatch(value):
            raise ValueError("phone: international format with country code, like +905551234567")
    elif column == "email":
        value = value.lower()
        if not _EMAIL.fullmatch(value):
            raise ValueError("email: not an e-mail address")
    elif column == "language":
        value = value.lower()
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"language: one of {', '.join(SUPPORTED_LANGUAGES)}")
    elif column == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("timezone: an IANA time zone, like Europe/Istanbul") from None
    return value


def _identity_conflicts(store: CustomerStore, customers: list[Customer], name: str) -> list[str]:
    """A phone, e-mail or login already bound to another customer (in the file or the store) is an error,
    not a silent move of that identity."""
    errors: list[str] = []
    claimed: dict[tuple[str, str], Customer] = {}
    for customer in customers:
        identities = [("phone", customer.profile.get("phone")), ("email", customer.profile.get("email")), ("web", customer.login)]
        for kind, value in identities:
            if not value:
                continue
            column = "login" if kind == "web" else kind
            earlier = claimed.setdefault((kind, value), customer)
            owner = store.customer_for(kind, value)
            if earlier is not customer:
                errors.append(f"{name} line {customer.line}: {column}: also given for line {earlier.line}")
            elif owner is not None and owner != customer.id:
                errors.append(f"{name} line {customer.line}: {column}: already belongs to another customer")
    return errors[:MAX_ERRORS]


class _InTransaction(CustomerStore):
    """The customer store's methods on one open connection, so an import commits or rolls back as a whole."""

    def __init__(self, database: Database, opened: Connection) -> None:  # the tables exist already
        self.url = url_of(database)
        self.path = sqlite_path(database)
        self._opened = opened

    def _transaction(self, write: bool = False, kept_open: bool = False) -> AbstractContextManager[Connection]:
        return nullcontext(self._opened)
