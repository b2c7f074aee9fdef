"""`python -m customer_store import FILE` on a real SQLite file, run as the command a company runs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from customer_store.importer import _InTransaction
from customer_store.store import CustomerStore
from storage.database import Database, transaction
from tests.conftest import ROOT
from tests.helpers.databases import support_database

HEADER = "id,name,phone,email,language,region,plan,timezone,login,consent_marketing,consent_service_notices\n"
GOOD_CSV = HEADER + (
    "acme-1,Greta Berg,+49 151 1234 5678,Greta@Example.com,en,Berlin-Mitte,Gold,Europe/Berlin,greta,yes,no\n"
    "acme-2,Jonas Weber,+491511234000,jonas@example.com,tr,Hamburg,Silver,,,,yes\n"
)


def run_import(database: Database, file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "customer_store", "import", str(file), "--db", str(database)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_csv_file_imports_profiles_identities_and_consents(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    result = run_import(database, write(tmp_path, "customers.csv", GOOD_CSV))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported 2 customers from customers.csv: 2 new, 0 updated"
    store = CustomerStore(database)
    greta = store.customer("acme-1")
    assert greta is not None
    assert (greta["name"], greta["phone"], greta["email"], greta["language"], greta["region"], greta["plan"], greta["timezone"]) == (
        "Greta Berg",
        "+4915112345678",
        "greta@example.com",
        "en",
        "Berlin-Mitte",
        "Gold",
        "Europe/Berlin",
    )
    assert store.customer_for("phone", "whatsapp:+4915112345678") == "acme-1"
    assert store.customer_for("email", "GRETA@example.com") == "acme-1"
    assert store.customer_for("web", "greta") == "acme-1"
    assert store.has_consent("acme-1", "marketing") and not store.has_consent("acme-1", "service_notices")
    assert store.has_consent("acme-2", "service_notices") and not store.has_consent("acme-2", "marketing")
    assert store.customer_for("web", "ayse") is None  # no demo data comes with an import
    assert "Greta" not in result.stdout + result.stderr  # the command never prints the profiles


def test_a_jsonl_file_imports_with_boolean_consents(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    lines = [
        {"id": "acme-7", "name": "Ana Lima", "phone": "+351912345678", "language": "en", "consent_marketing": True},
        {"id": "acme-8", "email": "bo@example.org", "consent_marketing": False},
    ]
    file = write(tmp_path, "customers.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    result = run_import(database, file)
    assert result.returncode == 0, result.stderr
    store = CustomerStore(database)
    assert store.customer_for("phone", "+351912345678") == "acme-7"
    assert store.has_consent("acme-7", "marketing") and not store.has_consent("acme-8", "marketing")


def test_a_bad_line_gives_one_line_errors_naming_line_and_field_and_writes_nothing(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    bad = (
        GOOD_CSV + "acme-3,Eva Roth,0151-SECRET-99,eva@example.com,en,Köln,Gold,Europe/Berlin,,,\n"
        "acme-4,Tom Kurz,+491511234111,tom@example.com,de,Bonn,Gold,Mars/Olympus,,maybe,\n"
    )
    result = run_import(database, write(tmp_path, "customers.csv", bad))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert errors[0] == "customers.csv line 4: phone: international format with country code, like +905551234567"
    assert errors[1] == "customers.csv line 5: language: one of tr, en"
    assert errors[-1].startswith("nothing imported")
    assert "SECRET" not in result.stderr and "Mars" not in result.stderr  # values are never echoed
    store = CustomerStore(database)
    assert store.customer("acme-1") is None and store.customer("acme-2") is None  # the good lines were not written


def test_unknown_columns_repeated_ids_and_taken_identities_are_refused(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    unknown = run_import(database, write(tmp_path, "a.csv", "id,name,iban\nx-1,Al,TR00\n"))
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[0].startswith("a.csv line 1: iban: unknown column")
    repeated = run_import(database, write(tmp_path, "b.csv", "id,name\nx-1,Al\nx-1,Bo\n"))
    assert repeated.stderr.splitlines()[0] == "b.csv line 3: id: the same customer as line 2"
    assert run_import(database, write(tmp_path, "c.csv", GOOD_CSV)).returncode == 0
    taken = run_import(database, write(tmp_path, "d.jsonl", json.dumps({"id": "x-9", "email": "jonas@example.com"}) + "\n"))
    assert taken.stderr.splitlines()[0] == "d.jsonl line 1: email: already belongs to another customer"
    assert CustomerStore(database).customer("x-9") is None
    broken = run_import(database, write(tmp_path, "e.jsonl", '{"id": "x-5"}\n{"id": \n'))
    assert broken.stderr.splitlines()[0] == "e.jsonl line 2: not valid JSON"


def test_importing_again_updates_and_keeps_what_empty_fields_do_not_mention(tmp_path: Path) -> None:
    database = support_database(tmp_path)
    assert run_import(database, write(tmp_path, "customers.csv", GOOD_CSV)).returncode == 0
    again = HEADER + "acme-1,,,,,Berlin-Pankow,Platinum,,,no,\nacme-9,New Person,,,en,,,,,,\n"
    result = run_import(database, write(tmp_path, "changes.csv", again))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported 2 customers from changes.csv: 1 new, 1 updated"
    store = CustomerStore(database)
    greta = store.customer("acme-1")
    assert greta is not None
    assert (greta["name"], greta["region"], greta["plan"], greta["phone"]) == ("Greta Berg", "Berlin-Pankow", "Platinum", "+4915112345678")
    assert not store.has_consent("acme-1", "marketing")
    assert store.customer("acme-9") is not None
    assert run_import(database, write(tmp_path, "same.csv", again)).stdout.strip() == "imported 2 customers from same.csv: 0 new, 2 updated"


def test_the_import_writes_through_one_transaction_that_a_failure_rolls_back(database: Database) -> None:
    CustomerStore(database)
    with pytest.raises(RuntimeError), transaction(database, write=True) as opened:
        batch = _InTransaction(database, opened)
        batch.upsert_customer("acme-1", name="Greta Berg")
        batch.link_identity("acme-1", "phone", "+4915112345678")
        assert batch.customer("acme-1") is not None  # visible inside the transaction
        raise RuntimeError("the disk is full")
    assert CustomerStore(database).customer("acme-1") is None
    assert CustomerStore(database).customer_for("phone", "+4915112345678") is None
