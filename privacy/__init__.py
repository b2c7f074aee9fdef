"""Personal-data handling shared by the bot, the handoff context card and analytics."""
