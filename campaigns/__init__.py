"""Proactive messages: campaigns (segment or CSV audience, WhatsApp or web), one-off messages for
other packages, and the one scheduler process that sends them exactly once."""

from campaigns.single import CampaignsScheduler, cancel_single, schedule_single

__all__ = ["CampaignsScheduler", "cancel_single", "schedule_single"]
