"""The database layer itself, on SQLite and PostgreSQL: which database a setting names, SQL passed through
in each driver's placeholder style, rows read like sqlite3.Row, and constraints that do what code did."""

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from campaigns.store import CampaignSpec, CampaignStore, Recipient
from settings.model import load
from settings.rasa_side import read
from storage.database import Database, sqlite_path, transaction, url_of


def test_the_url_setting_wins_and_destek_db_stays_the_sqlite_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTEK_DB", raising=False)
    monkeypatch.delenv("DESTEK_DATABASE_URL", raising=False)
    assert (load().storage.url(), load().storage.database()) == ("sqlite:///var/destek.sqlite3", Path("var/destek.sqlite3"))
    monkeypatch.setenv("DESTEK_DB", "/tmp/x.sqlite3")
    assert load().storage.url() == "sqlite:////tmp/x.sqlite3"
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    monkeypatch.setenv("DESTEK_DATABASE_URL", url)
    assert load().storage.url() == url and load().storage.database() == url
    assert read({"DESTEK_DB": "/tmp/x.sqlite3", "DESTEK_DATABASE_URL": url}).database() == url  # the Rasa process's reader
    assert read({"DESTEK_DB": "/tmp/x.sqlite3"}).database() == Path("/tmp/x.sqlite3")
    assert url_of(Path("a/b.sqlite3")) == "sqlite:///a/b.sqlite3" and url_of("a/b.sqlite3") == "sqlite:///a/b.sqlite3"
    assert sqlite_path("sqlite:////tmp/x.sqlite3") == Path("/tmp/x.sqlite3") and sqlite_path(url) is None


def test_placeholders_literals_and_rows_on_both_engines(database: Database) -> None:
    CampaignStore(database)  # creates the tables
    with transaction(database, write=True) as connection:
        connection.execute(
            "INSERT INTO scheduler_lease (name, holder, expires_at, renewed_at) VALUES (?, ?, ?, ?)", ("50% off?", "h", 1.25, 0)
        )
        row = connection.execute(
            "SELECT name, holder, expires_at, '100%' AS literal, 'why?' AS question FROM scheduler_lease WHERE name LIKE ?", ("50%",)
        ).fetchone()
    assert row is not None
    assert dict(row) == {"name": "50% off?", "holder": "h", "expires_at": 1.25, "literal": "100%", "question": "why?"}
    assert row[0] == row["name"] == "50% off?"


def test_timestamps_keep_microseconds(database: Database) -> None:
    """PostgreSQL's REAL has 4 bytes (a 2026 timestamp would lose minutes): the schema uses double precision."""
    CampaignStore(database)
    with transaction(database) as connection:
        connection.execute(
            "INSERT INTO scheduler_lease (name, holder, expires_at, renewed_at) VALUES ('t', 'h', ?, 0)", (1796601600.123456,)
        )
        assert connection.execute("SELECT expires_at FROM scheduler_lease WHERE name = 't'").scalar() == 1796601600.123456


def test_a_failed_unit_of_work_changes_nothing(database: Database) -> None:
    CampaignStore(database)
    with pytest.raises(IntegrityError), transaction(database, write=True) as connection:
        connection.execute("INSERT INTO scheduler_lease (name, holder, expires_at, renewed_at) VALUES ('a', 'h', 0, 0)")
        connection.execute("INSERT INTO scheduler_lease (name, holder, expires_at, renewed_at) VALUES ('a', 'h', 0, 0)")
    with transaction(database) as connection:
        assert connection.execute("SELECT count(*) FROM scheduler_lease").scalar() == 0


def test_the_send_log_holds_one_row_per_campaign_and_recipient_whatever_the_code_does(database: Database) -> None:
    store = CampaignStore(database)
    spec = CampaignSpec(
        name="x",
        kind="announcement",
        purpose="service",
        channel="whatsapp",
        messages={"tr": "Merhaba"},
        audience={"type": "csv"},
        send_at=1e9,
    )
    campaign_id = store.create(spec, [Recipient("whatsapp:+905551110001"), Recipient("whatsapp:+905551110001")])
    assert store.stats(campaign_id)["targeted"] == 1
    with pytest.raises(IntegrityError), transaction(database) as connection:
        connection.execute(
            "INSERT INTO campaign_recipients (campaign_id, address, text, due_at) VALUES (?, 'whatsapp:+905551110001', 't', 0)",
            (campaign_id,),
        )
