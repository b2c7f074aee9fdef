"""Human handoff: when the bot passes a conversation to a person, the queue, the agent's
replies through Rasa, the context card and the helpdesk webhook (docs/handoff.md)."""
