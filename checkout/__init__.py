"""Checkout help: the offer made to a shopper who stalls, cart reminders, and recovered carts."""
