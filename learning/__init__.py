"""Learning from people: agents' answers in closed handoffs become KB suggestions (docs/learning.md)."""
