"""One short offer of help to a web shopper who stalls at checkout (idle, or the pointer leaves the page).

The widget sends /EXTERNAL_checkout_stalled{"checkout_signal": …, "language": …}; the cart is
read from the support database by the conversation's own subject (sender `web:<subject>`),
never taken from the message, so a page cannot make the bot quote another cart. The offer is
made once per session (slot `checkout_prompted`; the widget also sends the signal only once).
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import services
from checkout.offer import offer_text

WEB_PREFIX = "web:"


class ActionOfferCheckoutHelp(Action):
    def name(self) -> str:
        return "action_offer_checkout_help"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        already = bool(tracker.get_slot("checkout_prompted"))
        if already or not tracker.sender_id.startswith(WEB_PREFIX):
            return [SlotSet("checkout_prompted", already)]
        subject = tracker.sender_id[len(WEB_PREFIX) :]
        cart = services.customers().cart(subject)
        if not cart or cart["status"] != "open" or not cart["items"]:
            return [SlotSet("checkout_prompted", False)]
        dispatcher.utter_message(text=offer_text(cart, tracker.get_slot("language") or "tr"))
        customer_id = subject if services.customers().customer(subject) is not None else None
        services.checkout_recovery().record_prompt(subject, customer_id)
        return [SlotSet("checkout_prompted", True)]
