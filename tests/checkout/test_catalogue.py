"""The shop's catalogue is a data file (DESTEK_CATALOGUE): products and checkout terms a company
changes without code; a bad file stops the support app at start with one line naming the field."""

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from checkout.catalogue import CatalogueError, current, load_catalogue
from checkout.offer import offer_text
from settings.model import get_settings
from support_app.app import create_app
from support_app.settings import Settings
from tests.conftest import ROOT
from tests.helpers.databases import support_database
from tests.helpers.servers import Servers, free_port

ACME = """
currency: EUR
products:
  - id: router-x
    name: {tr: Yönlendirici X, en: Router X}
    description: {tr: Hızlı., en: Fast.}
    price: 12900
checkout:
  free_shipping_from: 5000
  installments_from: 20000
  max_installments: 3
"""


def test_the_default_file_holds_the_demo_shop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESTEK_CATALOGUE", raising=False)
    catalogue = current()
    assert [product.id for product in catalogue.products] == ["fiber-modem", "mesh-kit", "range-extender", "ethernet-cable"]
    modem = catalogue.product("fiber-modem")
    assert modem is not None and modem.price_text() == "2.499,00 TL"
    assert (catalogue.free_shipping_kurus, catalogue.installments_min_kurus, catalogue.max_installments) == (50000, 100000, 12)


def test_another_companys_file_changes_the_shop_and_the_checkout_offer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "acme.yml"
    file.write_text(ACME, encoding="utf-8")
    monkeypatch.setenv("DESTEK_CATALOGUE", str(file))
    settings = dataclasses.replace(Settings.of(get_settings()), database_path=support_database(tmp_path))
    with TestClient(create_app(settings)) as client:
        page = client.get("/?lang=en").text
        assert "Router X" in page and "129,00 EUR" in page and "Fiber Modem" not in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        assert client.post("/cart/add", data={"product_id": "router-x", "csrf": csrf.group(1)}).status_code == 200
        assert client.post("/cart/add", data={"product_id": "fiber-modem", "csrf": csrf.group(1)}).status_code == 400
    text = offer_text({"total_kurus": 12900, "items": [{"quantity": 1}]}, "en")
    assert "129,00 EUR in total" in text
    assert "Your shipping is free." in text
    assert "Orders of 200,00 EUR or more can be paid in up to 3 installments." in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("price: 12900", "price: cheap"), ": products[0].price: a whole number >= 0 (in the minor unit: kuruş, cents)"),
        (
            ("name: {tr: Yönlendirici X, en: Router X}", "name: {tr: Yönlendirici X}"),
            ": products[0].name: a text for each language (tr, en)",
        ),
        (
            ("  max_installments: 3", "  max_installments: -1"),
            ": checkout.max_installments: a whole number >= 0",
        ),
        (("currency: EUR", "currency: [EUR"), " line 3: not valid YAML"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    file = tmp_path / "bad.yml"
    file.write_text(ACME.replace(*change), encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(file)
    assert str(raised.value) == f"{file}{message}"


def test_the_support_app_refuses_to_start_on_a_bad_catalogue(tmp_path: Path) -> None:
    file = tmp_path / "bad.yml"
    file.write_text(ACME.replace("- id: router-x", "- id: 'router x'"), encoding="utf-8")
    env = {**Servers(tmp_path).env, "DESTEK_CATALOGUE": str(file)}
    result = subprocess.run(
        [sys.executable, "-m", "support_app", "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"support app: {file}: products[0].id: letters, digits, - and _"
