"""Proactive messages: campaigns (segment or CSV audience, WhatsApp or web), one-off messages for
other packages, and the one scheduler process that sends them exactly once."""

from campaigns.single import cancel_single, schedule_single

__all__ = ["schedule_single", "cancel_single"]
