"""The stores merged next to the database layer, ported onto it, on both engines: mined agent answers and KB
rebuild marks (learning/store.py), golden replay conversations (replay/golden.py), and a customer import in one
transaction (customer_store/importer.py)."""

from pathlib import Path

from customer_store.importer import import_customers
from customer_store.store import CustomerStore
from learning.store import ACCEPTED, AgentAnswerStore
from replay.golden import GoldenStore
from storage.database import Database


def test_agent_answers_are_kept_once_and_decided_once(database: Database) -> None:
    store = AgentAnswerStore(database)
    assert store.keep(7, "web:a", "web", "en", ["How do I reset my modem?"], "Hold the button for 10 s.", "agent1", 100.5)
    assert not store.keep(7, "web:a", "web", "en", ["again"], "again", "agent1", 101.0)  # one row per handoff
    (answer,) = store.answers()
    assert (answer.handoff_id, answer.question, answer.state, answer.closed_at) == (7, "How do I reset my modem?", "open", 100.5)
    assert store.decide([answer.id], ACCEPTED, "lead", "article") == 1
    assert store.decide([answer.id], ACCEPTED, "lead", "article") == 0 and store.decide([], ACCEPTED, "lead", "x") == 0
    assert store.answers() == [] and [a.id for a in store.answers(state=None, ids=[answer.id])] == [answer.id]
    store.mark_rebuild("accepted 1 answer", "lead")
    assert [mark["reason"] for mark in store.rebuild_marks()] == ["accepted 1 answer"]
    assert store.rebuild_marks(since=2e9) == []


def test_golden_conversations_are_marked_once(database: Database) -> None:
    store = GoldenStore(database)
    assert store.mark(" web:a#0 ", "lead") and not store.mark("web:a#0", "lead")
    assert store.ids() == {"web:a#0"}
    assert store.unmark("web:a#0") and not store.unmark("web:a#0")
    assert GoldenStore(database).ids() == set()


def test_a_customer_import_writes_every_line(database: Database, tmp_path: Path) -> None:
    file = tmp_path / "customers.csv"
    file.write_text(
        "id,name,phone,login,consent_marketing\nacme-1,Greta Berg,+4915112345678,greta,yes\nacme-2,Jonas,,,no\n", encoding="utf-8"
    )
    summary = import_customers(file, database)
    assert (summary.created, summary.updated) == (2, 0)
    store = CustomerStore(database)
    assert store.customer_for("web", "greta") == "acme-1" and store.has_consent("acme-1", "marketing")
    assert (import_customers(file, database).created, import_customers(file, database).updated) == (0, 2)
