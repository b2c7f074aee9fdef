"""A synthetic month of resolved handoffs (issue #17): customers' questions and agents' answers.

Made through the real HandoffStore and HandoffService.close (which keeps the answers, learning/),
with Rasa unreachable (closing still succeeds). Topics: gift wrapping (no article; EN and TR), an
expired reset link (agents link the reset-password article), a red modem light (agents paraphrase
the modem-lights article without a link), an unknown charge on the bill (TR, agents link the
article), and one-off questions.
"""

import time

from customer_store.store import CustomerStore
from handoff.rasa_client import RasaClient
from handoff.service import HandoffService
from handoff.store import HandoffStore
from storage.database import Database
from tests.helpers.servers import free_port

DAY = 86400.0
GIFT_EN = [
    "do you offer gift wrapping?",
    "can you gift wrap my order please",
    "is gift packaging available for birthday presents",
    "can I have the parcel wrapped as a present",
    "do you wrap gifts if I order for my mum",
]
GIFT_EN_ANSWERS = [
    "Yes, we gift wrap any order for 15 TL. Choose 'Gift wrap' in the cart before paying and add a note for the card.",
    "Yes! Gift wrapping costs 15 TL for any order: tick 'Gift wrap' in the cart before you pay, and you can add a card note.",
    "We can gift wrap it for 15 TL. In the cart, choose 'Gift wrap' before paying; a note for the card can be added there too.",
]
RESET_EN = [
    "my password reset link says invalid token",
    "the link in the reset email gives an invalid token error",
    "reset page shows token invalid when I click the mail link",
]
RESET_EN_ANSWERS = [
    "Reset links are valid for 30 minutes only. Please request a new one from the login page: https://help.pusula.example/en/reset-password",
    "That link has expired (they last 30 minutes). Ask for a new link on the login page, see https://help.pusula.example/en/reset-password",
]
MODEM_EN = [
    "the little lamp on my fibre box glows red and nothing loads",
    "fibre box shows a red lamp, no connection at all",
]
MODEM_EN_ANSWERS = [
    "A red LOS light means the modem lost the fibre signal. Check the fibre cable is firmly plugged in and not bent, "
    "check for an outage in your area, and if the LOS light stays on call us for a technician visit.",
]
GIFT_TR = [
    "hediye paketi yapıyor musunuz",
    "siparişimi hediye paketiyle gönderebilir misiniz",
    "doğum günü hediyesi için paketleme var mı",
    "hediye paketleme seçeneğiniz var mı acaba",
]
GIFT_TR_ANSWERS = [
    "Evet, her siparişi 15 TL karşılığında hediye paketi yapıyoruz. Ödemeden önce sepette 'Hediye paketi' seçeneğini işaretleyin, kart için not ekleyebilirsiniz.",
    "Evet, 15 TL'ye hediye paketi yapıyoruz: ödeme öncesi sepette 'Hediye paketi' seçeneğini işaretlemeniz yeterli, karta not da ekleyebilirsiniz.",
]
BILL_TR = [
    "faturamda tanımadığım bir ücret var",
    "faturada anlamadığım bir ek ücret çıktı neden",
]
BILL_TR_ANSWERS = [
    "Faturadaki ek ücretlerin ayrıntısını fatura detayında görebilirsiniz; neden yüksek geldiğini burada anlattık: https://yardim.pusula.example/tr/invoice-too-high",
]
ONE_OFF = [
    ("en", "can I pay with bitcoin", "Sorry, we don't accept crypto currencies; cards, transfers and cash on delivery are fine."),
    ("tr", "kurye kapıyı çalmadan gitti", "Kurye firmasına bildirdik, yarın tekrar teslimat denenecek."),
]


def topics() -> dict[str, tuple[str, list[str], list[str]]]:
    return {
        "gift-en": ("en", GIFT_EN, GIFT_EN_ANSWERS),
        "reset-en": ("en", RESET_EN, RESET_EN_ANSWERS),
        "modem-en": ("en", MODEM_EN, MODEM_EN_ANSWERS),
        "gift-tr": ("tr", GIFT_TR, GIFT_TR_ANSWERS),
        "bill-tr": ("tr", BILL_TR, BILL_TR_ANSWERS),
    }


def synthetic_month(database: Database, now: float | None = None) -> dict[str, list[int]]:
    """Close one handoff per question over the last 30 days; returns handoff ids per topic."""
    now = now or time.time()
    store = HandoffStore(database)
    service = HandoffService(store, RasaClient(url=f"http://127.0.0.1:{free_port()}", token="x"), CustomerStore(database))
    made: dict[str, list[int]] = {}
    rows = [
        (topic, language, question, answers[i % len(answers)])
        for topic, (language, questions, answers) in topics().items()
        for i, question in enumerate(questions)
    ]
    rows += [(f"one-off-{i}", language, question, answer) for i, (language, question, answer) in enumerate(ONE_OFF)]
    for number, (topic, language, question, answer) in enumerate(rows):
        sender = f"web:month-{number}" if number % 2 else f"whatsapp:+9055500{number:05d}"
        handoff = store.create(sender, sender.split(":")[0], "customer_asked", 1, language=language, now=now - (30 - number % 30) * DAY)
        agent = f"agent{number % 3 + 1}"
        store.claim(handoff["id"], agent)
        store.add_message(handoff["id"], "customer", "", question)
        store.add_message(handoff["id"], "customer", "", "ok")
        message = store.add_message(handoff["id"], "agent", agent, answer, status="pending")
        store.set_message_status(message, "sent")
        service.close(handoff["id"], agent)
        made.setdefault(topic, []).append(int(handoff["id"]))
    return made
