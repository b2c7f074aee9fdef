"""The long-lived objects actions share, created on first use (never at import time)."""

from functools import lru_cache

from bot.actions.records import Records
from bot.settings import Settings
from customer_store.store import CustomerStore
from handoff.rasa_client import RasaClient
from handoff.store import HandoffStore
from kb_index.search import KnowledgeBase


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    current = settings()
    return KnowledgeBase.open(current.kb_index_dir, model=current.embedding_model)


@lru_cache(maxsize=1)
def records() -> Records:
    return Records(settings().database_path)


@lru_cache(maxsize=1)
def customers() -> CustomerStore:
    return CustomerStore(settings().database_path)


@lru_cache(maxsize=1)
def incidents() -> "IncidentStore":
    from incidents.store import IncidentStore

    return IncidentStore(settings().database_path)


@lru_cache(maxsize=1)
def checkout_recovery() -> "CheckoutRecovery":
    from checkout.recovery import CheckoutRecovery

    return CheckoutRecovery(settings().database_path)
def handoffs() -> HandoffStore:
    return HandoffStore(settings().database_path)


@lru_cache(maxsize=1)
def rasa() -> RasaClient:
    """The Rasa HTTP API (RASA_URL, RASA_AUTH_TOKEN), for the customer's other conversations."""
    return RasaClient.from_env()
