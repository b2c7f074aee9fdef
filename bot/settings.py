"""Settings for the action server, read from the environment (see .env.example)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storage import paths
from storage.database import Database, configured_database


@dataclass(frozen=True)
class Settings:
    kb_index_dir: Path
    embedding_model: str | None
    kb_threshold: float | None
    kb_related_min_score: float
    database_path: Database  # storage.database: the SQLite file (DESTEK_DB), or DESTEK_DATABASE_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        threshold = env.get("DESTEK_KB_THRESHOLD")
        return cls(
            kb_index_dir=paths.kb_index(env),
            embedding_model=env.get("DESTEK_EMBEDDING_MODEL") or None,
            kb_threshold=float(threshold) if threshold else None,
            kb_related_min_score=float(env.get("DESTEK_KB_RELATED_MIN_SCORE", "0.1")),
            database_path=configured_database(env),
        )
