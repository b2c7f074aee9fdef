"""`make replay` (issue #17 part 3): recorded conversations through the current model and index.

Conversations are recorded by the real Rasa and action servers (web chat, WhatsApp through the
fake Twilio, REST); replay reads their tracker store, runs the real model in `.venv-rasa` and the
real index, and is compared with what the customers got.
"""

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.helpers.databases import support_database
from tests.helpers.servers import Servers, conversation, running_servers

PYTHON = str(ROOT / ".venv" / "bin" / "python")
GOLDEN_WEB = "web:replay-golden"
MARKED_REST = "replay-marked"
TR_WA = "whatsapp:+905550007001"
PLAIN_REST = "replay-plain"
STAFF_PASSWORD = "replay-test-staff-password"


def replay(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "replay", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ('{"id": "a", "turns": [{"text": "hi"}]}\n{"id": "b", "turns": [\n', ":2: not valid JSON"),
        ('{"id": "a", "channel": "fax", "turns": [{"text": "hi"}]}\n', ":1: field 'channel': 'fax' is not one of web, whatsapp, rest"),
        ('{"id": "a", "turns": [{"text": "hi", "outcome": "maybe"}]}\n', ":1: turn 1: field 'outcome'"),
        ('{"id": "a", "turns": []}\n', ":1: field 'turns' must be a non-empty list"),
        ("", "no conversations (empty file)"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "conversations.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = replay("run", "--input", str(path), "--csv", str(tmp_path / "out.csv"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr
    missing = replay("run", "--tracker", str(tmp_path / "none.sqlite3"))
    assert (
        missing.returncode == 2
        and missing.stderr.strip() == f"replay: {tmp_path / 'none.sqlite3'}: no such tracker store (set RASA_TRACKER_DB or pass --tracker)"
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with running_servers(
        tmp_path_factory.mktemp("replay"), fake_twilio=True, support_app=True, env={"STAFF_DEMO_PASSWORD": STAFF_PASSWORD}
    ) as servers:
        yield servers


@pytest.fixture(scope="module")
def recorded(servers: Servers) -> Path:
    """A tracker store and support database with four conversations; returns the state folder."""
    _record(servers)
    return servers.state


def _record(servers: Servers) -> None:
    servers.say(GOLDEN_WEB, "I forgot my password")
    servers.say(GOLDEN_WEB, "/answer_helpful")  # 👍: golden
    servers.say(TR_WA, "kargo ücreti ne kadar")
    servers.say(TR_WA, "müşteri temsilcisiyle görüşmek istiyorum")
    servers.say(MARKED_REST, "how do I pay my bill")
    servers.say(PLAIN_REST, "hello")
    servers.say(PLAIN_REST, "do you sell garden furniture made of teak")


def run_against(state: Path, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]]]:
    out = tmp_path / "changes.csv"
    done = replay("run", "--tracker", str(state / "tracker.sqlite3"), "--db", str(support_database(state)), "--csv", str(out), *extra)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))) if out.exists() else []
    return done, rows


def test_unchanged_model_and_index_report_zero_changes(recorded: Path, tmp_path: Path) -> None:
    done, rows = run_against(recorded, tmp_path, "--index", str(ROOT / "var" / "kb-index"))
    assert done.returncode == 0, done.stderr
    assert "Replay of 4 conversations against what the customers got: 0 changed turns" in done.stdout
    table = done.stdout.splitlines()[1:]
    assert table[0].split() == [
        "language",
        "channel",
        "conversations",
        "turns",
        "intent",
        "article",
        "new_handoff",
        "lost_handoff",
        "outcome",
        "golden_changed",
    ]
    assert {tuple(line.split()[:2]) for line in table[1:]} >= {("en", "web"), ("tr", "whatsapp"), ("en", "rest"), ("all", "all")}
    assert table[-1].split()[2:] == ["4", "7", "0", "0", "0", "0", "0", "0"]
    assert rows == []
    same, _ = run_against(recorded, tmp_path, "--against", str(ROOT / "bot" / "models" / "destek.tar.gz"))
    assert same.returncode == 0 and "against model" in same.stdout and ": 0 changed turns" in same.stdout, same.stderr


def mark_golden_on_the_review_page(servers: Servers, sender_id: str) -> None:
    with httpx.Client(base_url=servers.support_url, timeout=60) as client:
        assert client.post("/review/golden", data={"sender_id": sender_id, "session": "0"}).headers["location"].startswith("/staff/login")
        page = client.get("/staff/login")
        client.post("/staff/login", data={"login": "agent1", "password": STAFF_PASSWORD, "csrf": csrf_of(page.text), "next": "/review"})
        review = client.get("/review", params={"channel": "rest"}).text
        assert f'name="sender_id" value="{sender_id}"><input type="hidden" name="session" value="0">' in review
        form = {"sender_id": sender_id, "session": "0", "csrf": csrf_of(review), "back": "/review?channel=rest"}
        assert client.post("/review/golden", data={**form, "csrf": "forged"}).status_code == 400
        assert client.post("/review/golden", data={**form, "session": "7"}).status_code == 404
        done = client.post("/review/golden", data=form, follow_redirects=True)
        assert done.status_code == 200 and f"{sender_id}#0 is golden" in done.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_an_edited_article_that_no_longer_answers_a_golden_conversation_fails_naming_it(
    servers: Servers, recorded: Path, tmp_path: Path
) -> None:
    mark_golden_on_the_review_page(servers, conversation(MARKED_REST))
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "bot" / "data" / "kb", kb)
    for name in ("reset-password.md", "pay-invoice.md"):  # same ids, now about something else
        path = kb / "en" / name
        text = path.read_text(encoding="utf-8")
        front = {line.split(":", 1)[0]: line for line in text.split("---")[1].strip().splitlines() if not line.startswith(" ")}
        path.write_text(
            "---\n"
            + "\n".join([front["id"], front["lang"], front["topic"], front["url"], f"title: Garden furniture care ({name})"])
            + "\n---\nOil teak garden furniture twice a year and keep it covered in winter.\n",
            encoding="utf-8",
        )
    build = subprocess.run(
        [PYTHON, "-m", "kb_index", "build", "--source", str(kb), "--out", str(tmp_path / "index"), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr

    done, rows = run_against(recorded, tmp_path, "--index", str(tmp_path / "index"))
    assert done.returncode == 1, done.stdout + done.stderr
    named = {line.split()[2] for line in done.stderr.splitlines() if line.startswith("GOLDEN CHANGED")}
    assert named == {f"{GOLDEN_WEB}#0", f"{conversation(MARKED_REST)}#0"}, done.stderr
    changed = {row["conversation"]: row for row in rows}
    assert changed[f"{GOLDEN_WEB}#0"]["answer_before"] == "answer:reset-password-en"
    assert changed[f"{GOLDEN_WEB}#0"]["answer_after"] != "answer:reset-password-en" and changed[f"{GOLDEN_WEB}#0"]["golden"] == "yes"

    unmarked = replay("golden", conversation(MARKED_REST) + "#0", "--remove", "--db", str(support_database(recorded)))
    assert unmarked.returncode == 0 and "not golden" in unmarked.stdout, unmarked.stderr
    after, _ = run_against(recorded, tmp_path, "--index", str(tmp_path / "index"))
    assert after.returncode == 1 and [line.split()[2] for line in after.stderr.splitlines()] == [f"{GOLDEN_WEB}#0"], after.stderr


def test_jsonl_input_is_replayed_like_the_tracker_store(recorded: Path, tmp_path: Path) -> None:
    exported = tmp_path / "conversations.jsonl"
    done = replay("export", "--tracker", str(recorded / "tracker.sqlite3"), "--db", str(support_database(recorded)), "--out", str(exported))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 4 and {line["channel"] for line in lines} == {"web", "whatsapp", "rest"}
    web = next(line for line in lines if line["id"] == f"{GOLDEN_WEB}#0")
    assert web["golden"] is True and web["turns"][0]["outcome"] == "answer" and web["turns"][0]["article_id"] == "reset-password-en"

    out = tmp_path / "jsonl.csv"
    same = replay("run", "--input", str(exported), "--db", str(support_database(tmp_path, "empty")), "--csv", str(out))
    assert same.returncode == 0 and ": 0 changed turns" in same.stdout, same.stdout + same.stderr

    # what a customer got long ago, before an article was renamed: a change, but not a golden one
    plain = next(line for line in lines if line["id"] == f"rest:{PLAIN_REST}#0")
    plain["turns"][-1] = {**plain["turns"][-1], "outcome": "answer", "article_id": "old-garden-article-en"}
    handoff = next(line for line in lines if line["channel"] == "whatsapp")
    assert handoff["turns"][-1]["outcome"] == "handoff"
    handoff["turns"][-1]["outcome"] = "not_sure"
    exported.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    changed = replay("run", "--input", str(exported), "--db", str(support_database(tmp_path, "empty")), "--csv", str(out))
    assert changed.returncode == 0, changed.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {(row["conversation"], row["changes"]) for row in rows} == {(f"rest:{PLAIN_REST}#0", "article"), (handoff["id"], "new_handoff")}
    assert ": 2 changed turns" in changed.stdout
