"""Answers mined from handoffs, end to end: the gap report's "answered by agents" through the real
support app; accepting writes the KB (a temporary copy); after the index rebuild `make index` runs
(kb_index build) and an action-server restart, the real Rasa + action server answer the customer's
question from the accepted article.
"""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from customer_store.store import CustomerStore
from handoff.rasa_client import RasaClient
from handoff.service import HandoffService
from handoff.store import HandoffStore
from tests.conftest import ROOT
from tests.helpers.browser import chromium
from tests.helpers.databases import support_database
from tests.helpers.servers import Servers, free_port, running_servers
from tests.learning.fixture import GIFT_EN, RESET_EN, synthetic_month

STAFF_PASSWORD = "learning-test-staff-password"
XSS = "<img src=x onerror=alert(1)> do you deliver to northern cyprus"
_SECTION = re.compile(r'<section class="card learned" data-kind="(\w+)" data-language="(\w+)" data-ids="([\d,]+)">(.*?)</section>', re.S)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("learning-live")
    shutil.copytree(ROOT / "bot" / "data" / "kb", folder / "kb")
    shutil.copytree(ROOT / "var" / "kb-index", folder / "index")
    synthetic_month(support_database(folder))  # the support database the servers use (tests/servers.py)
    store = HandoffStore(support_database(folder))
    handoff = store.create("web:learn-xss", "web", "customer_asked", 1, language="en")
    store.claim(handoff["id"], "agent2")
    store.add_message(handoff["id"], "customer", "", XSS)
    store.set_message_status(
        store.add_message(handoff["id"], "agent", "agent2", "We deliver to Northern Cyprus by sea freight.", status="pending"), "sent"
    )
    HandoffService(store, RasaClient(url=f"http://127.0.0.1:{free_port()}", token="x"), CustomerStore(support_database(folder))).close(
        handoff["id"], "agent2"
    )
    return folder


@pytest.fixture(scope="module")
def servers(state: Path) -> Iterator[Servers]:
    env = {"STAFF_DEMO_PASSWORD": STAFF_PASSWORD, "DESTEK_KB_SOURCE": str(state / "kb"), "DESTEK_KB_INDEX": str(state / "index")}
    with running_servers(state, support_app=True, env=env) as servers:
        yield servers


@pytest.fixture(scope="module")
def client(servers: Servers) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers.support_url, timeout=120) as client:
        page = client.get("/staff/login")
        response = client.post(
            "/staff/login", data={"login": "agent1", "password": STAFF_PASSWORD, "csrf": csrf_of(page.text), "next": "/review/gaps"}
        )
        assert response.status_code == 303
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def sections(html: str) -> list[dict[str, Any]]:
    return [{"kind": m[0], "language": m[1], "ids": m[2], "html": m[3]} for m in _SECTION.findall(html)]


def containing(html: str, question: str) -> dict[str, Any]:
    return next(s for s in sections(html) if f'<li class="text">{question}</li>' in s["html"])


def kb_result(servers: Servers, sender: str, text: str) -> tuple[Any, Any]:
    servers.say(sender, text)
    slots = servers.tracker(sender)["slots"]
    return slots.get("kb_answered"), slots.get("kb_article_id")


def test_actions_need_a_staff_login_and_the_csrf_token(servers: Servers, client: httpx.Client) -> None:
    with httpx.Client(base_url=servers.support_url, timeout=30) as anonymous:
        posted = anonymous.post("/review/learned/accept", data={"ids": "1", "kind": "article"})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/staff/login")
        assert anonymous.post("/review/learned/reject", data={"ids": "1"}).status_code == 303
    page = client.get("/review/gaps").text
    token = csrf_of(page)
    assert client.post("/review/learned/reject", data={"ids": "1", "csrf": "forged"}).status_code == 400
    bad = client.post("/review/learned/reject", data={"ids": "1,x", "csrf": token})
    assert bad.status_code == 400 and "ids" in bad.text
    assert client.post("/review/learned/accept", data={"ids": "1", "kind": "poem", "csrf": token}).status_code == 400
    assert client.get("/review/gaps").text.count('class="card learned"') == len(sections(page))  # nothing hidden by those


def test_accepted_suggestions_are_answered_by_the_bot_after_the_index_rebuild(servers: Servers, client: httpx.Client, state: Path) -> None:
    question, reset_wording = GIFT_EN[0], RESET_EN[1]
    assert kb_result(servers, "learn-before", question) == (False, None)  # the KB has no such article yet

    page = client.get("/review/gaps").text
    gift, reset = containing(page, "do you offer gift wrapping?"), containing(page, reset_wording)
    assert gift["kind"] == "article" and gift["language"] == "en" and len(gift["ids"].split(",")) == len(GIFT_EN)
    assert reset["kind"] == "alternate" and "reset-password-en" in reset["html"]
    bitcoin = containing(page, "can I pay with bitcoin")
    token = csrf_of(page)

    accepted = client.post(
        "/review/learned/accept", data={"ids": gift["ids"], "kind": "article", "csrf": token}, follow_redirects=True
    ).text
    written = re.search(r"Wrote the new article ([\w-]+) \(en/([\w-]+\.md)\)", accepted)
    assert written is not None and 'id="rebuild-needed"' in accepted
    article_id, file_name = written.groups()
    title = re.search(r'name="title" value="([^"]+)"', gift["html"])
    assert title is not None and title.group(1).lower().rstrip("?") in {q.lower().rstrip("?") for q in GIFT_EN}  # the central question
    assert (state / "kb" / "en" / file_name).is_file()
    again = client.post("/review/learned/accept", data={"ids": gift["ids"], "kind": "article", "csrf": token}, follow_redirects=True).text
    assert "were accepted or rejected already" in again
    added = client.post(
        "/review/learned/accept", data={"ids": reset["ids"], "kind": "alternate", "csrf": token}, follow_redirects=True
    ).text
    assert "alternate question" in added and reset_wording in (state / "kb" / "en" / "reset-password.md").read_text(encoding="utf-8")
    rejected = client.post("/review/learned/reject", data={"ids": bitcoin["ids"], "csrf": token}, follow_redirects=True).text
    assert (
        "Hidden 1 answer" in rejected
        and "can I pay with bitcoin" not in rejected.split('id="learned"', 1)[1].split("Articles by use", 1)[0]
    )
    assert not (ROOT / "bot" / "data" / "kb" / "en" / file_name).exists()  # the repo's KB never changes

    # what `make index KB_SOURCE=… KB_INDEX=…` runs
    build = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "kb_index", "build", "--source", str(state / "kb"), "--out", str(state / "index")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr
    assert 'id="rebuild-needed"' not in client.get("/review/gaps").text
    servers.stop_actions()  # the action server loads the index once: restart it, as after `make index` in production
    servers.start_actions()

    assert kb_result(servers, "learn-after", question) == (True, article_id)
    assert kb_result(servers, "learn-after-reset", reset_wording) == (True, "reset-password-en")


def test_customer_text_is_inert_in_chromium_and_reject_hides_the_suggestion(servers: Servers) -> None:
    with chromium() as driver:
        driver.get(f"{servers.support_url}/review/gaps")
        driver.find_element(By.NAME, "login").send_keys("agent2")
        driver.find_element(By.NAME, "password").send_keys(STAFF_PASSWORD)
        driver.find_element(By.NAME, "password").submit()
        assert driver.find_element(By.ID, "learned").text == "Answered by agents"
        sections = driver.find_elements(By.CSS_SELECTOR, "section.learned")
        xss = next(s for s in sections if XSS in [li.text for li in s.find_elements(By.CSS_SELECTOR, "ul.examples li")])
        assert driver.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
        ids = xss.get_attribute("data-ids")
        xss.find_element(By.CSS_SELECTOR, "form[action='/review/learned/reject'] button").click()
        flash = WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "flash")))  # after the redirect
        assert flash.text == "Hidden 1 answer from the suggestions."
        assert ids not in [s.get_attribute("data-ids") for s in driver.find_elements(By.CSS_SELECTOR, "section.learned")]
        assert len(driver.find_elements(By.CSS_SELECTOR, "section.learned")) == len(sections) - 1
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        assert errors == []
