"""The demo shop's products (Pusula, a fictional internet provider) and UI strings."""

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class Product:
    id: str
    name: Dict[str, str]
    description: Dict[str, str]
    price_kurus: int

    def price_text(self) -> str:
        lira, kurus = divmod(self.price_kurus, 100)
        return f"{lira:,}".replace(",", ".") + f",{kurus:02d} TL"


PRODUCTS = (
    Product("fiber-modem", {"tr": "Fiber Modem AX3000", "en": "Fiber Modem AX3000"},
            {"tr": "Wi-Fi 6 destekli fiber modem.", "en": "Fiber modem with Wi-Fi 6."}, 2_499_00),
    Product("mesh-kit", {"tr": "Mesh Wi-Fi Seti (2'li)", "en": "Mesh Wi-Fi Kit (2 pack)"},
            {"tr": "Evin her köşesinde kesintisiz Wi-Fi.", "en": "Wi-Fi in every corner of your home."}, 3_199_00),
    Product("range-extender", {"tr": "Menzil Genişletici", "en": "Range Extender"},
            {"tr": "Zayıf çeken odalar için.", "en": "For rooms with a weak signal."}, 899_90),
    Product("ethernet-cable", {"tr": "Cat6 Ethernet Kablosu (5 m)", "en": "Cat6 Ethernet Cable (5 m)"},
            {"tr": "Kablolu bağlantı için.", "en": "For a wired connection."}, 149_50),
)

_BY_ID = {product.id: product for product in PRODUCTS}

# Checkout terms (the same figures as the KB articles shipping-fees-times and installments).
FREE_SHIPPING_KURUS = 500_00
INSTALLMENTS_MIN_KURUS = 1_000_00
MAX_INSTALLMENTS = 12


def product(product_id: str) -> Optional[Product]:
    return _BY_ID.get(product_id)


def total_text(kurus: int) -> str:
    return Product("", {}, {}, kurus).price_text()


TEXTS: Dict[str, Dict[str, str]] = {
    "tr": {
        "shop": "Mağaza", "cart": "Sepet", "checkout": "Ödeme", "login": "Giriş yap", "logout": "Çıkış yap",
        "add": "Sepete ekle", "remove": "Çıkar", "empty": "Sepetiniz boş.", "total": "Toplam",
        "to_checkout": "Ödemeye geç", "place_order": "Siparişi tamamla", "ordered": "Siparişiniz alındı. Teşekkürler!",
        "user": "Kullanıcı adı", "password": "Şifre", "bad_login": "Kullanıcı adı veya şifre hatalı.", "too_many_logins": "Çok fazla hatalı deneme; 15 dakika sonra tekrar deneyin.",
        "hello": "Merhaba", "product": "Ürün", "quantity": "Adet", "summary": "Sepet özeti", "tagline": "Hızlı ve güvenilir internet",
        "demo_logins": "Demo kullanıcılar: ayse, john, mehmet (şifre: demo)", "other_language": "English",
    },
    "en": {
        "shop": "Shop", "cart": "Cart", "checkout": "Checkout", "login": "Log in", "logout": "Log out",
        "add": "Add to cart", "remove": "Remove", "empty": "Your cart is empty.", "total": "Total",
        "to_checkout": "Go to checkout", "place_order": "Place order", "ordered": "Your order was received. Thank you!",
        "user": "User name", "password": "Password", "bad_login": "Wrong user name or password.", "too_many_logins": "Too many failed attempts; try again in 15 minutes.",
        "hello": "Hello", "product": "Product", "quantity": "Qty", "summary": "Cart summary", "tagline": "Fast and reliable internet",
        "demo_logins": "Demo users: ayse, john, mehmet (password: demo)", "other_language": "Türkçe",
    },
}
