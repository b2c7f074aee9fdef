"""The long-lived objects actions share, created on first use (never at import time)."""

from functools import lru_cache
from pathlib import Path

from bot.actions.records import Records
from bot.settings import Settings
from customer_store.store import CustomerStore
from kb_index.search import KnowledgeBase
from tuning.feedback_ranking import DemotionSettings, FeedbackMemory


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


def feedback_memory() -> FeedbackMemory:
    """👍/👎 with their questions' embeddings; demotes articles rated down for similar questions."""
    return _feedback_memory(settings().database_path, knowledge_base().manifest["model"])


@lru_cache(maxsize=4)
def _feedback_memory(database_path: Path, model: str) -> FeedbackMemory:
    return FeedbackMemory(database_path, model, DemotionSettings.from_env())
