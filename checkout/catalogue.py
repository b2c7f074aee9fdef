"""The demo shop's catalogue (a data file: bot/data/shop/catalogue.yml, or DESTEK_CATALOGUE) and UI strings.

The file is read once per path and kept; a bad file raises CatalogueError, one line naming the field.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from settings.model import get_settings

LANGUAGES = ("tr", "en")


class CatalogueError(ValueError):
    """The catalogue file cannot be used; the message is one line: `file: field: problem`."""


@dataclass(frozen=True)
class Product:
    id: str
    name: dict[str, str]
    description: dict[str, str]
    price_kurus: int

    def price_text(self) -> str:
        return total_text(self.price_kurus)


@dataclass(frozen=True)
class Catalogue:
    products: tuple[Product, ...]
    currency: str
    # Checkout terms the bot's offer quotes (the same figures as the KB's shipping and installment articles).
    free_shipping_kurus: int
    installments_min_kurus: int
    max_installments: int

    def product(self, product_id: str) -> Product | None:
        return next((product for product in self.products if product.id == product_id), None)

    def money(self, kurus: int) -> str:
        """1.234,50 TL: dots between thousands, a comma before the minor unit, then the currency."""
        whole, minor = divmod(kurus, 100)
        return f"{whole:,}".replace(",", ".") + f",{minor:02d} {self.currency}"


def current() -> Catalogue:
    """The catalogue DESTEK_CATALOGUE names (default bot/data/shop/catalogue.yml)."""
    return load_catalogue(get_settings().storage.catalogue)


@lru_cache(maxsize=4)
def load_catalogue(path: Path) -> Catalogue:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError(f"{path}: cannot read the catalogue ({type(error).__name__})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise CatalogueError(f"{path}{where}: not valid YAML") from None
    try:
        return _catalogue(data)
    except CatalogueError as error:
        raise CatalogueError(f"{path}: {error}") from None


def _catalogue(data: Any) -> Catalogue:
    if not isinstance(data, dict):
        raise CatalogueError("the file must be a mapping with currency, products and checkout")
    currency = data.get("currency")
    if not isinstance(currency, str) or not 0 < len(currency.strip()) <= 8:
        raise CatalogueError("currency: 1 to 8 characters, like TL or EUR")
    items = data.get("products")
    if not isinstance(items, list) or not items:
        raise CatalogueError("products: a non-empty list")
    products = tuple(_product(index, item) for index, item in enumerate(items))
    ids = [product.id for product in products]
    for index, product_id in enumerate(ids):
        if product_id in ids[:index]:
            raise CatalogueError(f"products[{index}].id: the same id as an earlier product")
    terms = data.get("checkout")
    if not isinstance(terms, dict):
        raise CatalogueError("checkout: a mapping with free_shipping_from, installments_from, max_installments")
    return Catalogue(
        products,
        currency.strip(),
        _amount(terms, "checkout.free_shipping_from"),
        _amount(terms, "checkout.installments_from"),
        _amount(terms, "checkout.max_installments"),
    )


def _product(index: int, item: Any) -> Product:
    where = f"products[{index}]"
    if not isinstance(item, dict):
        raise CatalogueError(f"{where}: a mapping with id, name, description, price")
    product_id = item.get("id")
    if not isinstance(product_id, str) or not product_id.replace("-", "").replace("_", "").isalnum():
        raise CatalogueError(f"{where}.id: letters, digits, - and _")
    texts = {field: _texts(item.get(field), f"{where}.{field}") for field in ("name", "description")}
    return Product(product_id, texts["name"], texts["description"], _amount(item, f"{where}.price"))


def _texts(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) or not value[lang].strip() for lang in LANGUAGES):
        raise CatalogueError(f"{where}: a text for each language ({', '.join(LANGUAGES)})")
    return {lang: value[lang].strip() for lang in LANGUAGES}


def _amount(mapping: dict[str, Any], where: str) -> int:
    value = mapping.get(where.rsplit(".", 1)[-1])
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        unit = "" if where.endswith("max_installments") else " (in the minor unit: kuruş, cents)"
        raise CatalogueError(f"{where}: a whole number >= 0{unit}")
    return value


def product(product_id: str) -> Product | None:
    return current().product(product_id)


def total_text(kurus: int) -> str:
    return current().money(kurus)


TEXTS: dict[str, dict[str, str]] = {
    "tr": {
        "shop": "Mağaza",
        "cart": "Sepet",
        "checkout": "Ödeme",
        "login": "Giriş yap",
        "logout": "Çıkış yap",
        "add": "Sepete ekle",
        "remove": "Çıkar",
        "empty": "Sepetiniz boş.",
        "total": "Toplam",
        "to_checkout": "Ödemeye geç",
        "place_order": "Siparişi tamamla",
        "ordered": "Siparişiniz alındı. Teşekkürler!",
        "user": "Kullanıcı adı",
        "password": "Şifre",
        "bad_login": "Kullanıcı adı veya şifre hatalı.",
        "too_many_logins": "Çok fazla hatalı deneme; 15 dakika sonra tekrar deneyin.",
        "published_password": "Bu demo hesabının şifresi herkesçe biliniyor: yalnızca bu bilgisayardan girilebilir.",
        "hello": "Merhaba",
        "product": "Ürün",
        "quantity": "Adet",
        "summary": "Sepet özeti",
        "tagline": "Hızlı ve güvenilir internet",
        "demo_logins": "Demo kullanıcılar: ayse, john, mehmet (şifre: demo)",
        "other_language": "English",
    },
    "en": {
        "shop": "Shop",
        "cart": "Cart",
        "checkout": "Checkout",
        "login": "Log in",
        "logout": "Log out",
        "add": "Add to cart",
        "remove": "Remove",
        "empty": "Your cart is empty.",
        "total": "Total",
        "to_checkout": "Go to checkout",
        "place_order": "Place order",
        "ordered": "Your order was received. Thank you!",
        "user": "User name",
        "password": "Password",
        "bad_login": "Wrong user name or password.",
        "too_many_logins": "Too many failed attempts; try again in 15 minutes.",
        "published_password": "This demo account's password is public: it can log in only on this machine.",
        "hello": "Hello",
        "product": "Product",
        "quantity": "Qty",
        "summary": "Cart summary",
        "tagline": "Fast and reliable internet",
        "demo_logins": "Demo users: ayse, john, mehmet (password: demo)",
        "other_language": "Türkçe",
    },
}
