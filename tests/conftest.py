"""Shared fixtures: a tiny knowledge base written on the fly, and its index."""

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from settings.model import get_settings
from settings.rasa_side import rasa_settings

# The support database's engine (DESTEK_TEST_DATABASE=sqlite|postgres): its fixtures and hooks.
from tests.helpers.databases import (  # noqa: F401
    close_support_databases,
    database,
    postgres_database,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_sessionfinish,
)

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Services refuse to start without their secrets (security/secrets_policy.py): the test run gets
# its own random ones, which every process started by a test inherits.
for _name in ("ACTION_SERVER_TOKEN", "WEBCHAT_JWT_SECRET", "SUPPORT_SESSION_SECRET", "TWILIO_AUTH_TOKEN"):
    os.environ.setdefault(_name, secrets.token_urlsafe(32))
# The suite runs on the demo (customers ayse/john/mehmet, demo staff, the Pusula brand), as `make run` does.
os.environ.setdefault("DESTEK_DEMO_DATA", "1")
os.environ.setdefault("DESTEK_BRAND_NAME", "Pusula")

TINY_ARTICLES = {
    "en/track.md": """---
id: track-en
lang: en
topic: track
title: How can I track my order?
url: https://help.example/en/track
questions:
  - Where is my package?
  - My parcel has not arrived yet
tags: [orders]
---
Open My orders in your account to see where your parcel is. The tracking number is in the SMS we send when the parcel leaves the warehouse.

An order stays in the Preparing state until the carrier picks it up.
""",
    "en/refund.md": """---
id: refund-en
lang: en
topic: refund
title: When will I get my refund?
url: https://help.example/en/refund
questions:
  - Where is my money back?
  - How long does a refund take?
---
Refunds reach your card 3 to 10 business days after the returned item is checked at our warehouse.
""",
    "en/wifi.md": """---
id: wifi-en
lang: en
topic: wifi
title: How do I change my Wi-Fi password?
url: https://help.example/en/wifi
questions:
  - I forgot my wireless password
---
Open the modem page at 192.168.1.1, sign in with the password on the sticker and choose Wi-Fi settings to set a new network password.
""",
    "tr/track.md": """---
id: track-tr
lang: tr
topic: track
title: Siparişimi nasıl takip ederim?
url: https://yardim.example/tr/track
questions:
  - Kargom nerede?
  - Siparişim hâlâ gelmedi
---
Siparişinizin nerede olduğunu hesabınızdaki Siparişlerim sayfasından görebilirsiniz. Kargo takip numarası, paket depodan çıktığında gönderdiğimiz SMS'te yer alır.
""",
    "tr/refund.md": """---
id: refund-tr
lang: tr
topic: refund
title: İade ücretim ne zaman yatar?
url: https://yardim.example/tr/refund
questions:
  - Param ne zaman iade edilir?
---
İade tutarı, ürün depomuzda kontrol edildikten sonra 3 ile 10 iş günü içinde kartınıza yansır.
""",
    "tr/wifi.md": """---
id: wifi-tr
lang: tr
topic: wifi
title: Wi-Fi şifremi nasıl değiştiririm?
url: https://yardim.example/tr/wifi
questions:
  - Kablosuz ağ şifremi unuttum
---
Modem arayüzüne 192.168.1.1 adresinden girin, modemin altındaki etiketteki şifreyle oturum açın ve Wi-Fi ayarlarından yeni bir ağ şifresi belirleyin.
""",
}


def write_articles(folder: Path, articles: dict[str, str] = TINY_ARTICLES) -> Path:
    for name, text in articles.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test reads the settings of its own environment (a process reads them once, at start; a test
    that sets variables with monkeypatch is a new start)."""
    get_settings.cache_clear()
    rasa_settings.cache_clear()
    yield
    get_settings.cache_clear()
    rasa_settings.cache_clear()


@pytest.fixture
def tiny_source(tmp_path: Path) -> Path:
    return write_articles(tmp_path / "kb")


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny knowledge base indexed with the default model."""
    from kb_index.build import BuildSettings, build_index

    base = tmp_path_factory.mktemp("tiny")
    source = write_articles(base / "kb")
    build_index(source, base / "index", BuildSettings(), progress=False)
    return base / "index"


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium (a Selenium WebDriver) for one test; see tests/helpers/browser.py."""
    from tests.helpers.browser import chromium

    with chromium() as driver:
        yield driver
