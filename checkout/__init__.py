"""Checkout help: the shop's catalogue and terms, the offer made to a shopper who stalls, cart reminders, and recovered carts."""
