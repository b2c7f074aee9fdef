"""The action server's settings: the declared ones (settings/) it uses, in the shape the actions want."""

from dataclasses import dataclass
from pathlib import Path

from settings.model import Settings as Declared
from storage.database import Database


@dataclass(frozen=True)
class Settings:
    kb_index_dir: Path
    embedding_model: str | None
    query_embed_threads: int  # BLAS threads of the KB's query embedder (DESTEK_QUERY_EMBED_THREADS)
    kb_threshold: float | None
    kb_related_min_score: float
    database_path: Database  # storage.database: the SQLite file (DESTEK_DB), or DESTEK_DATABASE_URL

    @classmethod
    def of(cls, declared: Declared) -> "Settings":
        return cls(
            kb_index_dir=declared.storage.kb_index,
            embedding_model=declared.kb.embedding_model or None,
            query_embed_threads=declared.kb.query_embed_threads,
            kb_threshold=declared.kb.threshold,
            kb_related_min_score=declared.kb.related_min_score,
            database_path=declared.storage.database(),
        )
