"""Where Destek keeps its files unless told otherwise: one default per file, and the environment variable
that overrides it (an empty value counts as unset). Paths are relative to the repository root, where
`make run` and the tests start every process."""

import os
from collections.abc import Mapping
from pathlib import Path

SUPPORT_DATABASE = Path("var/destek.sqlite3")  # DESTEK_DB (unless DESTEK_DATABASE_URL is set: storage.database)
TRACKER_DATABASE = Path("var/rasa-tracker.sqlite3")  # RASA_TRACKER_DB: Rasa's tracker store (endpoints.yml)
KB_INDEX = Path("var/kb-index")  # DESTEK_KB_INDEX: the built knowledge-base index
KB_SOURCE = Path("bot/data/kb")  # DESTEK_KB_SOURCE: the knowledge-base articles
NLU_DIR = Path("bot/data/nlu")  # DESTEK_NLU_DIR: NLU training examples
CATALOGUE = Path("bot/data/shop/catalogue.yml")  # DESTEK_CATALOGUE: the demo shop's products and checkout terms


def support_database(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("DESTEK_DB") or SUPPORT_DATABASE)


def tracker_database(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("RASA_TRACKER_DB") or TRACKER_DATABASE)


def kb_index(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("DESTEK_KB_INDEX") or KB_INDEX)


def kb_source(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("DESTEK_KB_SOURCE") or KB_SOURCE)


def nlu_dir(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("DESTEK_NLU_DIR") or NLU_DIR)


def catalogue(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("DESTEK_CATALOGUE") or CATALOGUE)
