"""Known outages end to end: an incident opened with the CLI, customers writing on WhatsApp
through fake_twilio to the real Rasa server and action server, the incidents API and page of the
real support app (the page in real Chromium), and the real campaigns scheduler sending the
"service restored" follow-ups.

In the region: the incident's message and ETA at once (no troubleshooting), counted once per
customer. Outside it: the usual KB answer. Resolved: each told customer gets one follow-up.
"""

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from customer_store.store import CustomerStore
from tests.conftest import ROOT
from tests.helpers.browser import chromium
from tests.helpers.databases import support_database
from tests.helpers.servers import MODEL, Servers, http, running_servers
from tests.helpers.waiting import eventually

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train index` (make test does)")

OPS_TOKEN = "integration-test-ops-token"
AYSE, MEHMET, EMMA = "+905551110001", "+905551110003", "+905551110099"  # Kadıköy (tr), Ankara (tr), Kadıköy (en)
MESSAGE_TR = "Kadıköy'de bir fiber kablo hasar gördü, ekiplerimiz onarıyor."
MESSAGE_EN = "A fibre cable was damaged in Kadikoy and our teams are repairing it."
ETA = "2030-06-01T18:30"  # read in Europe/Istanbul, the customers' time zone


def start_scheduler(servers: Servers) -> subprocess.Popen[bytes]:
    """The one campaigns scheduler (`python -m campaigns.scheduler`) on the test database."""
    log = open(servers.state / "scheduler.log", "ab")
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "campaigns.scheduler"],
        cwd=ROOT,
        env={**servers.env, "CAMPAIGNS_POLL": "0.5"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    state = tmp_path_factory.mktemp("outage")
    customers = CustomerStore(support_database(state))
    customers.seed_demo_customers()
    customers.upsert_customer(
        "cust-emma", name="Emma Brown", phone=EMMA, language="en", region="Istanbul-Kadikoy", timezone="Europe/Istanbul"
    )
    customers.link_identity("cust-emma", "phone", EMMA)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPS_API_TOKEN", OPS_TOKEN)
        with running_servers(state, fake_twilio=True, support_app=True) as running:
            scheduler = start_scheduler(running)
            try:
                yield running
            finally:
                Servers._stop(scheduler)


@pytest.fixture(scope="module")
def incident_id(servers: Servers) -> int:
    opened = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "incidents",
            "open",
            "--service",
            "internet",
            "--regions",
            "İstanbul-Kadıköy",
            "--eta",
            ETA,
            "--message-tr",
            MESSAGE_TR,
            "--message-en",
            MESSAGE_EN,
            "--by",
            "test",
        ],
        cwd=ROOT,
        env=servers.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert opened.returncode == 0, opened.stderr
    return int(opened.stdout.split()[0].lstrip("#"))


def api(servers: Servers, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        servers.support_url + path,
        method=method,
        data=json.dumps(body or {}).encode() if method == "POST" else None,
        headers={"Authorization": f"Bearer {OPS_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def incident(servers: Servers, incident_id: int) -> dict[str, Any]:
    [found] = [item for item in api(servers, "GET", "/api/incidents")["incidents"] if item["id"] == incident_id]
    return found


def sent_to(servers: Servers, phone: str) -> list[str]:
    status, inbox = http(
        "GET", f"{servers.fake_url}/_fake/messages?" + urllib.parse.urlencode({"to": f"whatsapp:{phone}", "direction": "outbound-api"})
    )
    assert status == 200
    return [str(message["body"]) for message in inbox["messages"]]


def write(servers: Servers, phone: str, text: str) -> str:
    """Send a WhatsApp message through the fake and return the bot's first reply to it."""
    before = len(sent_to(servers, phone))
    # A profile name is given: an empty form field would be dropped by Sanic and break the signature (see the report).
    status, _ = http("POST", f"{servers.fake_url}/_fake/inbound", {"from": phone, "body": text, "profile_name": "Test"})
    assert status == 200
    replies = eventually(lambda: sent_to(servers, phone)[before:], f"the reply to {phone}", timeout=60)
    return replies[0]


def test_customer_in_the_region_is_told_about_the_outage_and_counted_once(servers: Servers, incident_id: int) -> None:
    reply = write(servers, AYSE, "internetim yok")
    assert MESSAGE_TR in reply and "01.06.2030 18:30" in reply and "Bölgenizde bilinen bir internet kesintisi var" in reply
    assert "Kaynak:" not in reply  # no troubleshooting article
    assert incident(servers, incident_id)["contact_count"] == 1
    again = write(servers, AYSE, "internet çok yavaş")
    assert MESSAGE_TR in again
    assert incident(servers, incident_id)["contact_count"] == 1  # one per customer

    english = write(servers, EMMA, "my connection keeps dropping")
    assert MESSAGE_EN in english and "Expected fix: 18:30 on 1 Jun 2030" in english
    assert incident(servers, incident_id)["contact_count"] == 2


def test_customer_outside_the_region_gets_the_usual_troubleshooting(servers: Servers, incident_id: int) -> None:
    reply = write(servers, MEHMET, "internetim yok")
    assert MESSAGE_TR not in reply and "kesinti" not in reply.lower()
    assert "Kaynak:" in reply and "no-internet" in reply  # the KB article about no connection
    assert incident(servers, incident_id)["contact_count"] == 2


def test_resolving_sends_one_follow_up_to_each_told_customer(servers: Servers, incident_id: int) -> None:
    resolved = api(servers, "POST", f"/api/incidents/{incident_id}/resolve")
    assert resolved["status"] == "resolved" and resolved["followups_scheduled"] == 2  # Ayşe, Emma (Mehmet: another region)
    ayse = eventually(lambda: [text for text in sent_to(servers, AYSE) if "kesintisi giderildi" in text], "the TR follow-up", timeout=60)
    emma = eventually(lambda: [text for text in sent_to(servers, EMMA) if "has been fixed" in text], "the EN follow-up", timeout=60)
    assert ayse == [
        "Merhaba Ayşe, bölgenizdeki internet kesintisi giderildi. Her şey yolunda mı? Sorun sürüyorsa bu mesaja yanıt vermeniz yeterli."
    ]
    assert emma == [
        "Hello Emma, the internet outage in your area has been fixed. Is everything working? If not, just reply to this message."
    ]
    time.sleep(3)  # a few more scheduler polls: still exactly one each, and nothing for Mehmet
    assert len([text for text in sent_to(servers, AYSE) if "giderildi" in text]) == 1
    assert len([text for text in sent_to(servers, EMMA) if "has been fixed" in text]) == 1
    assert not [text for text in sent_to(servers, MEHMET) if "giderildi" in text]
    # Now the customer gets normal help again.
    assert "Kaynak:" in write(servers, AYSE, "internetim yok")


def test_operations_page_in_a_browser_shows_counts_and_keeps_text_inert(servers: Servers, incident_id: int) -> None:
    with chromium() as browser:
        browser.get(f"{servers.support_url}/incidents")
        browser.find_element(By.NAME, "login").send_keys("ops")
        browser.find_element(By.NAME, "password").send_keys("demo-staff")
        browser.find_element(By.NAME, "password").submit()
        row = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, f"tr[data-incident-id='{incident_id}']"))
        assert row.find_element(By.CSS_SELECTOR, ".contacts").text == "2" and "resolved" in row.text
        hostile = "<img src=x onerror=alert(1)> Beşiktaş'ta arıza"
        browser.find_element(By.ID, "regions").send_keys("Istanbul-Besiktas")
        browser.execute_script("document.getElementById('eta').value = '2099-01-01T10:00'")
        browser.find_element(By.ID, "message_tr").send_keys(hostile)
        browser.find_element(By.ID, "message_en").send_keys("A fault in Besiktas.")
        browser.find_element(By.CSS_SELECTOR, "#open-incident button[type='submit']").click()
        WebDriverWait(browser, 30).until(lambda d: "Incident opened." in d.page_source)
        assert hostile in browser.find_element(By.ID, "incidents").text  # shown as text
        assert not browser.find_elements(By.CSS_SELECTOR, "#incidents img")
        with pytest.raises(NoAlertPresentException):
            _ = browser.switch_to.alert.text
    assert [item["regions"] for item in api(servers, "GET", "/api/incidents?status=open")["incidents"]] == [["Istanbul-Besiktas"]]
