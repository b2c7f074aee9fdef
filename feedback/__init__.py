"""What the bot records for staff (answers served, 👍/👎, unanswered questions, handoff requests) and the
feedback-aware re-ranking that runs on every KB answer. Used by the action server and the tuning tools."""
