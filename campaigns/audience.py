"""Who a campaign goes to: a segment of the customer base, or an uploaded CSV checked line by line.

CSV columns: `phone` and/or `customer_id` (at least one), optional `name`, `language`, `timezone`.
Every line is checked before anything is stored; an error names the line and the field, e.g.
`line 7, field phone: '+90 555' is not an E.164 number`."""

import csv
import io
import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from campaigns.store import Recipient
from campaigns.timing import valid_timezone
from customer_store.store import CustomerStore
from storage.database import transaction
from validation.fields import control_character

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CSV_COLUMNS = ("phone", "customer_id", "name", "language", "timezone")
LANGUAGES = ("tr", "en")
MAX_ERRORS = 20
MAX_CELL_CHARS = 200  # a name, a phone number, an id or a time zone
MAX_ACTIVE_WITHIN_DAYS = 3650
SEGMENT_FIELDS = ("region", "plan", "language", "consent", "active_within_days")


class AudienceError(ValueError):
    """Bad audience input; `errors` lists every problem found (line and field named)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(errors[0] + more)


@dataclass(frozen=True)
class Segment:
    region: str = ""  # exact region, or a prefix ending in '*' (e.g. "Istanbul-*")
    plan: str = ""
    language: str = ""
    consent: str = ""  # "marketing": only customers who gave that consent
    active_within_days: float | None = None

    @classmethod
    def parse(cls, filters: dict[str, Any]) -> "Segment":
        unknown = sorted(set(filters) - set(SEGMENT_FIELDS))
        if unknown:
            raise AudienceError([f"field {unknown[0]}: not a segment field (known: {', '.join(SEGMENT_FIELDS)})"])
        values = {key: str(value).strip() for key, value in filters.items() if key != "active_within_days" and value not in (None, "")}
        for key, value in values.items():
            problem = control_character(value, multiline=False)
            if problem or len(value) > MAX_CELL_CHARS:
                raise AudienceError(
                    [f"field {key}: {problem} is not allowed" if problem else f"field {key}: at most {MAX_CELL_CHARS} characters"]
                )
        if values.get("language") and values["language"] not in LANGUAGES:
            raise AudienceError([f"field language: {values['language']!r} is not one of {', '.join(LANGUAGES)}"])
        if values.get("consent") and values["consent"] not in ("marketing", "service_notices"):
            raise AudienceError([f"field consent: {values['consent']!r} is not marketing or service_notices"])
        days = filters.get("active_within_days")
        if days not in (None, ""):
            try:
                days = float(days)
            except ValueError:
                raise AudienceError([f"field active_within_days: {days!r} is not a number"]) from None
            if not (math.isfinite(days) and 0 < days <= MAX_ACTIVE_WITHIN_DAYS):
                raise AudienceError([f"field active_within_days: {days} is not between 0 and {MAX_ACTIVE_WITHIN_DAYS} days"])
        return cls(active_within_days=days or None, **values)

    def describe(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, "")}


def segment_recipients(segment: Segment, customers: CustomerStore, channel: str) -> list[Recipient]:
    """Customers matching the segment. Profiles are read in one query (customer_store has no
    bulk reader yet); consent and last activity go through CustomerStore per customer."""
    where, params = [], []
    if segment.region.endswith("*"):
        where.append("region LIKE ? ESCAPE '\\'")
        params.append(segment.region[:-1].replace("%", "\\%").replace("_", "\\_") + "%")
    elif segment.region:
        where.append("region = ?")
        params.append(segment.region)
    for name in ("plan", "language"):
        if getattr(segment, name):
            where.append(f"{name} = ?")
            params.append(getattr(segment, name))
    sql = "SELECT id, name, phone, language, timezone FROM customers" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    with transaction(customers.url) as connection:
        rows = [dict(row) for row in connection.execute(sql, params).fetchall()]
    since = time.time() - segment.active_within_days * 86400 if segment.active_within_days else None
    chosen = []
    for row in rows:
        if segment.consent and not customers.has_consent(row["id"], segment.consent):
            continue
        if since is not None and (customers.last_activity(row["id"]) or 0) < since:
            continue
        chosen.append(_recipient(row, channel))
    return chosen


def _recipient(profile: dict[str, Any], channel: str) -> Recipient:
    common = {
        "customer_id": profile["id"],
        "name": profile.get("name") or "",
        "language": profile.get("language") or "",
        "timezone": profile.get("timezone") or "",
    }
    if channel == "web":
        return Recipient(address=f"web:{profile['id']}", **common)
    if not profile.get("phone"):
        return Recipient(address=f"customer:{profile['id']}", skip_reason="no_address", **common)
    return Recipient(address=f"whatsapp:{profile['phone']}", **common)


@dataclass
class _CsvCheck:
    customers: CustomerStore
    channel: str
    errors: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)

    def error(self, line: int, name: str, problem: str) -> None:
        self.errors.append(f"line {line}, field {name}: {problem}")

    def row(self, line: int, values: dict[str, str]) -> Recipient | None:
        before = len(self.errors)
        for name, value in values.items():
            problem = control_character(value, multiline=False)
            if problem:
                self.error(line, name, f"{problem} is not allowed")
            elif len(value) > MAX_CELL_CHARS:
                self.error(line, name, f"at most {MAX_CELL_CHARS} characters, not {len(value)}")
        if len(self.errors) > before:
            return None
        raw_phone = values.get("phone", "")
        phone = re.sub(r"[\s\-()]", "", raw_phone).removeprefix("whatsapp:")
        customer_id = values.get("customer_id", "")
        if phone and not E164.match(phone):
            self.error(line, "phone", f"{raw_phone!r} is not an E.164 number")
        if not phone and not customer_id:
            self.error(line, "phone", "empty (give a phone or a customer_id)")
        language, timezone = values.get("language", ""), values.get("timezone", "")
        if language and language not in LANGUAGES:
            self.error(line, "language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
        if timezone and not valid_timezone(timezone):
            self.error(line, "timezone", f"{timezone!r} is not an IANA time zone")
        profile: dict[str, Any] = {}
        if customer_id:
            profile = self.customers.customer(customer_id) or {}
            if not profile:
                self.error(line, "customer_id", f"no customer {customer_id!r}")
        elif phone and E164.match(phone):
            found = self.customers.customer_for("phone", phone)
            profile = (self.customers.customer(found) or {}) if found else {}
        if len(self.errors) > before:
            return None
        phone = phone or profile.get("phone") or ""
        if self.channel == "whatsapp" and not phone:
            self.error(line, "phone", f"empty, and customer {customer_id!r} has no phone number for WhatsApp")
            return None
        if self.channel == "web" and not profile:
            self.error(line, "customer_id", "the web channel needs a known customer (customer_id or a customer's phone)")
            return None
        address = f"whatsapp:{phone}" if self.channel == "whatsapp" else f"web:{profile['id']}"
        if address in self.seen:
            self.error(line, "phone" if self.channel == "whatsapp" else "customer_id", f"same recipient as line {self.seen[address]}")
            return None
        self.seen[address] = line
        return Recipient(
            address=address,
            customer_id=profile.get("id"),
            name=values.get("name") or profile.get("name") or "",
            language=language or profile.get("language") or "",
            timezone=timezone or profile.get("timezone") or "",
        )


def parse_csv(data: bytes, customers: CustomerStore, channel: str, max_rows: int = 200_000) -> list[Recipient]:
    """Every line checked; raises AudienceError listing the problems (line, field), else the recipients."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise AudienceError([f"line {line}: not UTF-8 text"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise AudienceError(["line 1: the file is empty (expected a header such as phone,name,language)"]) from None
    except csv.Error as error:
        raise AudienceError([f"line 1: {error}"]) from None
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise AudienceError([f"line 1, field {unknown[0] or '(empty)'}: unknown column (known: {', '.join(CSV_COLUMNS)})"])
    if "phone" not in header and "customer_id" not in header:
        raise AudienceError(["line 1: a 'phone' or 'customer_id' column is required"])
    if len(set(header)) != len(header):
        raise AudienceError(["line 1: a column appears twice"])
    check = _CsvCheck(customers, channel)
    recipients: list[Recipient] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                first_off = header[len(cells)] if len(cells) < len(header) else header[-1]  # the first missing column, or the last
                check.error(line, first_off, f"{len(cells)} values, the header has {len(header)} columns")
            else:
                recipient = check.row(line, {name: cell.strip() for name, cell in zip(header, cells, strict=True)})
                if recipient:
                    recipients.append(recipient)
            if len(check.errors) >= MAX_ERRORS:
                break
            if len(recipients) > max_rows:
                raise AudienceError([f"line {line}: more than {max_rows} recipients"])
    except csv.Error as error:
        check.errors.append(f"line {reader.line_num}: {error}")
    if check.errors:
        raise AudienceError(check.errors)
    if not recipients:
        raise AudienceError(["line 2: no recipients (the file has only a header)"])
    return recipients


def resolve_stored_audience(audience: dict[str, Any], customers: CustomerStore, channel: str) -> list[Recipient]:
    """A recurring campaign's audience for one run: the segment as it is now, or the stored CSV list."""
    if audience.get("type") == "segment":
        return segment_recipients(Segment.parse(audience.get("filters") or {}), customers, channel)
    return [Recipient(**entry) for entry in audience.get("recipients") or []]


def stored_csv_audience(file_name: str, recipients: list[Recipient], keep_list: bool) -> dict[str, Any]:
    """What `campaigns.audience` records about a CSV audience (the list itself only when it recurs)."""
    audience: dict[str, Any] = {"type": "csv", "file": file_name, "count": len(recipients)}
    if keep_list:
        audience["recipients"] = [asdict(recipient) for recipient in recipients]
    return audience
