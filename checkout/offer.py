"""The short offer of help the bot makes once to a shopper who stalls at checkout (TR and EN)."""

from typing import Any

from checkout.catalogue import current

TEXTS = {
    "tr": {
        "intro": "Yardımcı olabilir miyim? Sepetinizde {count} ürün var, toplam {total}.",
        "shipping_left": "Ücretsiz kargoya {left} kaldı.",
        "shipping_free": "Kargonuz ücretsiz.",
        "installments": "Anlaşmalı bankaların kredi kartlarıyla {max} taksite kadar ödeyebilirsiniz.",
        "installments_left": "{minimum} ve üzeri siparişlerde {max} taksite kadar ödeme yapılabiliyor.",
        "coupon": "Kupon kodunuz varsa nasıl kullanacağınızı sorabilirsiniz.",
        "questions": "Ödeme, 3D Secure, taksit veya teslimat hakkında bir sorunuz varsa buraya yazın.",
    },
    "en": {
        "intro": "Can I help? You have {count} item(s) in your cart, {total} in total.",
        "shipping_left": "{left} more and shipping is free.",
        "shipping_free": "Your shipping is free.",
        "installments": "You can pay in up to {max} installments with our partner banks' credit cards.",
        "installments_left": "Orders of {minimum} or more can be paid in up to {max} installments.",
        "coupon": "Have a coupon code? Ask me how to use it.",
        "questions": "Questions about payment, 3-D Secure, installments or delivery? Just ask here.",
    },
}


def offer_text(cart: dict[str, Any], language: str) -> str:
    """One message tied to the cart: items and total, what is left to free shipping, installments, coupons."""
    texts = TEXTS["en" if language == "en" else "tr"]
    catalogue = current()
    total_text, free_shipping, installments_min = catalogue.money, catalogue.free_shipping_kurus, catalogue.installments_min_kurus
    total = int(cart.get("total_kurus") or 0)
    count = sum(int(item.get("quantity") or 0) for item in cart.get("items") or [])
    parts = [texts["intro"].format(count=count, total=total_text(total))]
    if total < free_shipping:
        parts.append(texts["shipping_left"].format(left=total_text(free_shipping - total)))
    else:
        parts.append(texts["shipping_free"])
    if total >= installments_min:
        parts.append(texts["installments"].format(max=catalogue.max_installments))
    else:
        parts.append(texts["installments_left"].format(minimum=total_text(installments_min), max=catalogue.max_installments))
    parts += [texts["coupon"], texts["questions"]]
    return " ".join(parts)
