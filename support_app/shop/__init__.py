"""The demo shop (Pusula) inside the support app: customer accounts and the checkout help (cart saved for the bot, reminders)."""
