"""The long-lived objects actions share, created on first use (never at import time)."""

from functools import lru_cache

from bot.settings import Settings
from campaigns.store import CampaignStore
from checkout.recovery import CheckoutRecovery
from customer_store.store import CustomerStore
from feedback.ranking import DemotionSettings, FeedbackMemory
from feedback.records import Records
from handoff.rasa_client import RasaClient
from handoff.store import HandoffStore
from incidents.store import IncidentStore
from kb_index.search import KnowledgeBase
from settings.model import get_settings
from storage.database import Database


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.of(get_settings())


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    current = settings()
    # One short query at a time: embedded on DESTEK_QUERY_EMBED_THREADS (1) threads, not the batch default (docs/turn-cost.md).
    threads = current.query_embed_threads
    return KnowledgeBase.open(current.kb_index_dir, model=current.embedding_model, threads=threads, query_threads=threads)


@lru_cache(maxsize=1)
def records() -> Records:
    return Records(settings().database_path)


@lru_cache(maxsize=1)
def customers() -> CustomerStore:
    return CustomerStore(settings().database_path)


@lru_cache(maxsize=1)
def incidents() -> IncidentStore:
    return IncidentStore(settings().database_path)


@lru_cache(maxsize=1)
def checkout_recovery() -> CheckoutRecovery:
    return CheckoutRecovery(settings().database_path)


@lru_cache(maxsize=1)
def campaigns() -> CampaignStore:
    """Web notices waiting for a customer's next visit (shown at session start)."""
    return CampaignStore(settings().database_path)


@lru_cache(maxsize=1)
def handoffs() -> HandoffStore:
    return HandoffStore(settings().database_path)


@lru_cache(maxsize=1)
def rasa() -> RasaClient:
    """The Rasa HTTP API (RASA_URL, RASA_AUTH_TOKEN), for the customer's other conversations."""
    return RasaClient.configured(get_settings())


def feedback_memory() -> FeedbackMemory:
    """👍/👎 with their questions' embeddings; demotes articles rated down for similar questions."""
    return _feedback_memory(settings().database_path, knowledge_base().manifest["model"])


@lru_cache(maxsize=4)
def _feedback_memory(database_path: Database, model: str) -> FeedbackMemory:
    return FeedbackMemory(database_path, model, DemotionSettings.of(get_settings().kb))
