"""Conversation review and KB gap report through the real support app, Rasa server and action server.

Conversations are made over Rasa's REST channel; the review page reads them from the tracker
store. Labelling writes into a temporary copy of bot/data (DESTEK_NLU_DIR), never the repo's files.
"""

import csv
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT
from tests.helpers.browser import chromium
from tests.helpers.databases import query
from tests.helpers.servers import RASA, Servers, running_servers

STAFF_PASSWORD = "review-test-staff-password"
WEB_FAQ = "web:review-faq"
WA_TR = "whatsapp:+905550000011"
REST_XSS = "rest:review-xss"
WEB_GIFT = "web:review-gift"
GIFT = "do you do gift wrapping for birthday presents"
XSS = "<img src=x onerror=alert(1)> where is my order? javascript:alert(2)"
ODD = "web:review-odd"
WEB_CARD = "web:review-card"
CARD = "my card 4111 1111 1111 1111 was charged twice for one order"
CARD_REDACTED = "my card [CARD] was charged twice for one order"
ODD_MESSAGES = ("xqzv blorp flim", "hmm", "asdfgh jkl", "zzz ok?", "lorem ipsum dolor")
PLANTED_COMMENT = "# Reviewed by the support lead: keep greetings first."


@pytest.fixture(scope="module")
def data_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bot/data/nlu and rules copied, with comments planted so we can see they survive."""
    data = tmp_path_factory.mktemp("review-data")
    shutil.copytree(ROOT / "bot" / "data" / "nlu", data / "nlu")
    shutil.copytree(ROOT / "bot" / "data" / "rules", data / "rules")
    english = data / "nlu" / "en.yml"
    text = english.read_text(encoding="utf-8")
    text = text.replace("nlu:\n", f"{PLANTED_COMMENT}\nnlu:\n", 1).replace(
        "- intent: faq\n", "# FAQ: anything the KB should answer\n- intent: faq\n", 1
    )
    english.write_text(text, encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, data_copy: Path) -> Iterator[Servers]:
    env = {
        "STAFF_DEMO_PASSWORD": STAFF_PASSWORD,
        "DESTEK_NLU_DIR": str(data_copy / "nlu"),
        "DESTEK_KB_SOURCE": str(ROOT / "bot" / "data" / "kb"),
    }
    with running_servers(tmp_path_factory.mktemp("review"), fake_twilio=True, support_app=True, env=env) as servers:
        yield servers


@pytest.fixture(scope="module")
def conversations(servers: Servers) -> dict[str, list[float]]:
    """Four conversations; returns each sender's NLU confidences as Rasa's own tracker API reports them."""
    servers.say(WEB_FAQ, "how much is shipping")
    servers.say(WEB_FAQ, "/answer_not_helpful")
    servers.say(WA_TR, "hediye paketi yapıyor musunuz")
    servers.say(WA_TR, "/request_human")
    servers.say(REST_XSS, XSS)
    servers.say(WEB_GIFT, GIFT)
    for text in ODD_MESSAGES:  # made-up words: some fall below the NLU's confidence
        servers.say(ODD, text)
    servers.say(WEB_CARD, CARD)
    confidences = {}
    for sender in (WEB_FAQ, WA_TR, REST_XSS, WEB_GIFT, ODD, WEB_CARD):
        events = servers.tracker(sender)["events"]
        confidences[sender] = [e["parse_data"]["intent"]["confidence"] for e in events if e["event"] == "user"]
    return confidences


@pytest.fixture(scope="module")
def client(servers: Servers) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers.support_url, timeout=60) as client:
        page = client.get("/staff/login")
        response = client.post(
            "/staff/login", data={"login": "agent1", "password": STAFF_PASSWORD, "csrf": csrf_of(page.text), "next": "/review"}
        )
        assert response.status_code == 303 and response.headers["location"] == "/review"
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def senders_on(html: str) -> set[str]:
    return set(re.findall(r'<section class="card conversation" data-sender="([^"]+)"', html))


def message_at(html: str, sender: str, text: str) -> str:
    """The hidden timestamp of one customer message in the page's forms."""
    section = html.split(f'data-sender="{sender}"', 1)[1].split("</section>", 1)[0]
    turn = section.split(f'<span class="text">{text}</span>', 1)[1]
    found = re.search(r'name="message_at" value="([^"]+)"', turn)
    assert found is not None
    return found.group(1)


def test_review_needs_a_staff_login(servers: Servers) -> None:
    with httpx.Client(base_url=servers.support_url, timeout=30) as anonymous:
        page = anonymous.get("/review?channel=web")
        assert page.status_code == 303 and page.headers["location"] == "/staff/login?next=%2Freview%3Fchannel%3Dweb"
        assert anonymous.get("/review/gaps").status_code == 303
        assert anonymous.get("/review/gaps.csv").status_code == 303
        posted = anonymous.post("/review/example", data={"sender_id": WEB_GIFT, "message_at": "1", "intent": "faq", "language": "en"})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/staff/login")


def test_filters_by_channel_language_handoff_confidence_and_thumbs_down(
    client: httpx.Client, conversations: dict[str, list[float]]
) -> None:
    everyone = {WEB_FAQ, WA_TR, REST_XSS, WEB_GIFT, ODD, WEB_CARD}
    assert senders_on(client.get("/review").text) == everyone
    assert senders_on(client.get("/review", params={"channel": "whatsapp"}).text) == {WA_TR}
    assert senders_on(client.get("/review", params={"channel": "web"}).text) == {WEB_FAQ, WEB_GIFT, ODD, WEB_CARD}
    assert senders_on(client.get("/review", params={"language": "tr"}).text) == {WA_TR}
    # WA_TR asked for a person; ODD's nonsense hit "two low-confidence turns in a row" (handoff/settings.yml).
    assert senders_on(client.get("/review", params={"handed_off": "1"}).text) == {WA_TR, ODD}
    assert senders_on(client.get("/review", params={"thumbs_down": "1"}).text) == {WEB_FAQ}
    low = {sender for sender, values in conversations.items() if any(value < 0.6 for value in values)}
    assert ODD in low, conversations  # the check below is not vacuous
    assert senders_on(client.get("/review", params={"low_confidence": "1"}).text) == low
    assert client.get("/review", params={"channel": "fax"}).status_code == 400


def test_customer_text_is_escaped(client: httpx.Client, conversations: dict[str, list[float]]) -> None:
    html = client.get("/review", params={"channel": "rest"}).text
    assert "&lt;img src=x onerror=alert(1)&gt; where is my order? javascript:alert(2)" in html
    assert "<img src=x" not in html
    assert "script-src 'self'" in client.get("/review").headers["content-security-policy"]


def test_labelled_message_lands_in_the_right_yaml_file_still_valid(
    client: httpx.Client, conversations: dict[str, list[float]], data_copy: Path
) -> None:
    repo_before = (ROOT / "bot" / "data" / "nlu" / "en.yml").read_bytes()
    english = data_copy / "nlu" / "en.yml"
    before = english.read_text(encoding="utf-8")
    html = client.get("/review", params={"channel": "web"}).text
    form = {
        "csrf": csrf_of(html),
        "sender_id": WEB_GIFT,
        "message_at": message_at(html, WEB_GIFT, GIFT),
        "intent": "faq",
        "language": "en",
        "back": "/review?channel=web",
    }

    assert client.post("/review/example", data={**form, "csrf": "forged"}).status_code == 400
    assert english.read_text(encoding="utf-8") == before

    response = client.post("/review/example", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/review?channel=web"
    page = client.get("/review?channel=web").text
    assert f"Added &#39;{GIFT}&#39; as an example of faq to en.yml" in page
    assert "✔ added as an example of faq (en) by agent1" in page
    after = english.read_text(encoding="utf-8")
    # exactly one line added, inside the faq block, and everything else (comments, order) kept
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == [f"    - {GIFT}"]
    assert after.replace(f"    - {GIFT}\n", "", 1) == before
    faq_start = after.index("- intent: faq\n")
    assert (
        faq_start < after.index(f"    - {GIFT}\n")
        and PLANTED_COMMENT in after
        and "# FAQ: anything the KB should answer\n- intent: faq" in after
    )
    assert (data_copy / "nlu" / "tr.yml").read_bytes() == (ROOT / "bot" / "data" / "nlu" / "tr.yml").read_bytes()

    duplicate = client.post("/review/example", data=form, follow_redirects=True).text
    assert f"Not added: {GIFT!r} is already an example of intent &#39;faq&#39; in en.yml".replace("'", "&#39;") in duplicate
    unknown = client.post("/review/example", data={**form, "intent": "refund_please"}, follow_redirects=True).text
    assert "Not added: unknown intent &#39;refund_please&#39; for language &#39;en&#39;" in unknown
    assert english.read_text(encoding="utf-8") == after
    assert (ROOT / "bot" / "data" / "nlu" / "en.yml").read_bytes() == repo_before  # the repo's file never changes

    # a card number is shown and written redacted: it never becomes training data
    assert CARD_REDACTED in html and "4111" not in html
    card_form = {**form, "sender_id": WEB_CARD, "message_at": message_at(html, WEB_CARD, CARD_REDACTED)}
    assert client.post("/review/example", data=card_form).status_code == 303
    assert f"    - {CARD_REDACTED}\n" in english.read_text(encoding="utf-8") and "4111" not in english.read_text(encoding="utf-8")

    validate = subprocess.run(
        [
            str(RASA),
            "data",
            "validate",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            str(data_copy / "nlu"),
            str(data_copy / "rules"),
            "--fail-on-warnings",
        ],
        cwd=ROOT,
        env=servers_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert validate.returncode == 0, validate.stdout[-2000:] + validate.stderr[-2000:]


def servers_env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def test_needs_an_article_shows_up_in_the_gap_report(client: httpx.Client, conversations: dict[str, list[float]]) -> None:
    html = client.get("/review", params={"channel": "whatsapp"}).text
    form = {
        "csrf": csrf_of(html),
        "sender_id": WA_TR,
        "message_at": message_at(html, WA_TR, "hediye paketi yapıyor musunuz"),
        "language": "tr",
        "back": "/review?channel=whatsapp",
    }
    assert client.post("/review/needs-article", data=form).status_code == 303
    again = client.post("/review/needs-article", data=form, follow_redirects=True).text
    assert "was already marked as needing an article" in again
    assert client.post("/review/needs-article", data={**form, "message_at": "12.5"}).status_code == 404

    gaps = client.get("/review/gaps").text
    assert "hediye paketi yapıyor musunuz" in gaps and "needs_article 1" in gaps
    assert "how much is shipping" in gaps  # rated down
    rows = list(csv.DictReader(io.StringIO(client.get("/review/gaps.csv", params={"language": "tr"}).text)))
    gift = [row for row in rows if "hediye paketi yapıyor musunuz" in row["examples"]]
    assert len(gift) == 1 and gift[0]["language"] == "tr" and int(gift[0]["needs_article"]) == 1
    articles = list(csv.DictReader(io.StringIO(client.get("/review/articles.csv").text)))
    shipping = [row for row in articles if row["article_id"] == "shipping-fees-times-en"]
    assert shipping and shipping[0]["served"] == "1" and shipping[0]["not_helpful"] == "1"


def test_review_page_in_chromium_behind_login_without_console_errors(servers: Servers, conversations: dict[str, list[float]]) -> None:
    with chromium() as driver:
        driver.get(f"{servers.support_url}/review")
        assert driver.current_url.startswith(f"{servers.support_url}/staff/login")
        driver.find_element(By.NAME, "login").send_keys("agent2")
        driver.find_element(By.NAME, "password").send_keys(STAFF_PASSWORD)
        driver.find_element(By.NAME, "password").submit()
        WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("/review"))
        texts = [node.text for node in driver.find_elements(By.CSS_SELECTOR, ".customer .text")]
        assert XSS in texts  # shown as inert text
        assert driver.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
        when = driver.find_element(By.CSS_SELECTOR, ".when").text
        assert not when.replace(".", "").isdigit()  # review.js ran (CSP allowed it) and formatted the time
        assert driver.find_element(By.CSS_SELECTOR, "form.filters").value_of_css_property("display") == "flex"
        driver.find_element(By.CSS_SELECTOR, "input[name=thumbs_down]").click()
        driver.find_element(By.CSS_SELECTOR, "#filters button").click()
        WebDriverWait(driver, 30).until(lambda d: "thumbs_down=1" in d.current_url)
        assert [s.get_attribute("data-sender") for s in driver.find_elements(By.CSS_SELECTOR, "section.conversation")] == [WEB_FAQ]
        assert driver.find_element(By.CSS_SELECTOR, "section.conversation .turn.down .customer .text").text == "how much is shipping"
        driver.get(f"{servers.support_url}/review/gaps")
        assert driver.find_element(By.TAG_NAME, "h1").text == "KB gap report"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        assert errors == []
        driver.execute_script("console.error('review-probe')")  # the log is really read
        assert any("review-probe" in entry["message"] for entry in driver.get_log("browser"))


def kb_slots(servers: Servers, sender: str) -> dict:
    slots = servers.tracker(sender)["slots"]
    return {name: slots.get(name) for name in ("kb_article_id", "kb_score", "kb_answered")}


def test_articles_rated_down_are_demoted_for_similar_questions_end_to_end(servers: Servers, conversations: dict[str, list[float]]) -> None:
    """Through the real bot: refund questions wrongly answered with cancel-order-en are rated 👎 twice;
    a similar question then gets the refund article (cancel-order-en loses 0.2 for it)."""
    from kb_index.search import KnowledgeBase

    question = "when do I get my money back for the return"
    kb = KnowledgeBase.open(ROOT / "var" / "kb-index")
    raw = kb.search(question, k=5, lang="en")
    assert [hit.id for hit in raw[:2]] == ["cancel-order-en", "refund-status-en"]  # wrong article first without feedback
    for number, voted in enumerate(("when will I get my money back", "when will I get back my money")):
        sender = f"web:review-vote-{number}"
        servers.say(sender, voted)
        assert kb_slots(servers, sender)["kb_article_id"] == "cancel-order-en"
        servers.say(sender, "/answer_not_helpful")
    votes = query(servers.database, "SELECT article_id, helpful FROM feedback_vectors WHERE article_id = 'cancel-order-en'")
    assert votes == [("cancel-order-en", 0), ("cancel-order-en", 0)]
    servers.say("web:review-vote-after", question)
    after = kb_slots(servers, "web:review-vote-after")
    # two net 👎 × step 0.1 = 0.2 off cancel-order-en only, then re-sorted
    expected = sorted(((hit.score - 0.2 if hit.id == "cancel-order-en" else hit.score), hit.id) for hit in raw)[-1]
    assert expected[1] == "refund-status-en"
    demoted = next(hit.score - 0.2 for hit in raw if hit.id == "cancel-order-en")
    assert abs(expected[0] - demoted) > 1e-2  # the score served tells which article won
    assert after["kb_score"] == pytest.approx(expected[0], abs=1e-3)
    # The refund article is served as the answer when its score clears the threshold, else the bot says it is not sure.
    assert after["kb_article_id"] == ("refund-status-en" if expected[0] >= kb.threshold else None)
