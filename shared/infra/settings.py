"""Every setting, declared once: its environment variable, type, default, meaning and checks.

Settings are read once from the environment (a `.env` file may supply them). Every bad
value raises one `SettingsError` naming each variable at fault and what it wants (a
secret's value is never shown), all problems at once. Defaults serve the one-machine run
(`make run`); `production` marks each setting whose default will not do for a deployment.

Processes that serve (gunicorn apps, `outcomes consume/relay/send`) start through
`settings_to_serve`, which also refuses, in production (`OUTCOMES_ENV`, the default), public
URLs that point at this machine and missing secrets, in one line on standard error.
`Settings.from_env` never does: tests and tools build settings freely.

`python -m shared.infra.settings` prints the README's settings table from this definition.

Kept free of project and framework imports: gunicorn's master reads it before forking.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import load_dotenv

SERVICES = ("intake", "decisions", "notifier")
DEFAULT_PORTS = {"intake": 8001, "decisions": 8002, "notifier": 8003}
PRODUCTION, DEVELOPMENT = "production", "development"
# gunicorn's "App failed to load" status: a gunicorn master stops instead of restarting its workers.
EXIT_BAD_SETTINGS = 4

# How far a deployment may rely on a setting's default (the README's "in production" column).
REQUIRED = "required"  # serving processes refuse to start in production without it
SET_IT = "set it"  # the default serves one machine only: deploy/k8s and docker-compose.yml set it
SAFE = "default is safe"  # the default (or leaving it unset) is right for a deployment too


class SettingsError(ValueError):
    """One or more settings cannot be used. `problems` names each variable and what it wants."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# Kinds of value: each parses the text of a variable or raises ValueError ------------------


@dataclass(frozen=True)
class Kind:
    wanted: str  # "must be ..." in an error message
    parse: Callable[[str], Any]


def _whole(minimum: int, maximum: int | None = None) -> Kind:
    def parse(text: str) -> int:
        number = int(text)
        if number < minimum or (maximum is not None and number > maximum):
            raise ValueError(text)
        return number

    limit = f"from {minimum} to {maximum}" if maximum is not None else f"of {minimum} or more"
    return Kind(f"a whole number {limit}", parse)


def _seconds(*, zero_allowed: bool) -> Kind:
    def parse(text: str) -> float:
        number = float(text)
        if (
            number != number
            or number in (float("inf"), float("-inf"))
            or number < 0
            or (number == 0 and not zero_allowed)
        ):
            raise ValueError(text)
        return number

    return Kind(f"a number of seconds ({'0 or more' if zero_allowed else 'more than 0'}), such as 60 or 0.5", parse)


PORT = _whole(1, 65535)


def _choice(*options: str, fold_case: bool = False) -> Kind:
    def parse(text: str) -> str:
        value = text.upper() if fold_case else text
        if value not in options:
            raise ValueError(text)
        return value

    return Kind("one of " + ", ".join(options), parse)


def _text() -> Kind:
    return Kind("text", lambda text: text)


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(text)
    parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    return text


URL = Kind("an http:// or https:// URL with a host, such as https://outcomes.example.org", _url)


def _database_url(text: str) -> str:
    from sqlalchemy.engine import make_url  # only when one is set: the gunicorn master rarely needs it
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(text)
    except ArgumentError:
        raise ValueError(text) from None
    return text


DATABASE_URL = Kind(
    "a SQLAlchemy database URL, such as postgresql+psycopg2://user:password@host:5432/name", _database_url
)


def _fernet_keys(text: str) -> tuple[str, ...]:
    from cryptography.fernet import Fernet

    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    for key in keys:
        Fernet(key.encode())  # ValueError (or binascii.Error, a ValueError) when it is not a key
    return keys


FERNET_KEYS = Kind(
    "comma-separated Fernet keys, newest first (`outcomes keys generate-data-key` prints one)", _fernet_keys
)


def _kafka_servers(text: str) -> str:
    for server in text.split(","):
        host, separator, port = server.strip().rpartition(":")
        if not separator or not host or not 1 <= int(port) <= 65535:
            raise ValueError(text)
    return text


KAFKA_SERVERS = Kind("comma-separated host:port pairs, such as kafka-0:9092,kafka-1:9092", _kafka_servers)


def _template_id(text: str) -> str:
    return str(uuid.UUID(text))


TEMPLATE_ID = Kind("a GOV.UK Notify template id (a UUID)", _template_id)


def _address(text: str) -> str:
    if "@" not in parseaddr(text)[1]:
        raise ValueError(text)
    return text


MAIL_ADDRESS = Kind("an email address, optionally with a name: Wiltshire Council <outcomes@wiltshire.gov.uk>", _address)


def parse_quiet_hours(text: str):
    """`HH:MM-HH:MM` (UK time; may run past midnight), or `off` for none."""
    import datetime as dt

    if text.strip().lower() == "off":
        return None
    start, separator, end = text.partition("-")
    window = dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())
    if not separator or window[0] == window[1]:
        raise ValueError(text)
    return window


def parse_letter_budget(text: str) -> tuple[tuple[str, int], ...]:
    """`200` (letters a month for every tenant) or `200,cardiff=500,demo=0` (per-tenant
    overrides): (("*", 200), ("cardiff", 500), ("demo", 0)), the default first."""
    default, *overrides = [part.strip() for part in text.split(",")]
    budget = {"*": int(default)}
    for override in overrides:
        tenant, equals, count = override.partition("=")
        if not equals or not tenant.strip():
            raise ValueError(text)
        budget[tenant.strip()] = int(count)
    if min(budget.values()) < 0:
        raise ValueError(text)
    return tuple(budget.items())


LETTER_BUDGET = Kind(
    "a whole number of letters, then any tenant=number overrides: 200 or 200,cardiff=500", parse_letter_budget
)
QUIET_HOURS = Kind("HH:MM-HH:MM (start and end differ; UK time) or off", parse_quiet_hours)
FLAG = Kind("0 or 1", lambda text: {"0": False, "1": True}[text] if text in ("0", "1") else _refuse(text))
PATH = Kind("a directory path", lambda text: Path(text))


def _refuse(text: str):
    raise ValueError(text)


# The definition ----------------------------------------------------------------------------

Default = Callable[[Mapping[str, Any]], Any]  # a default worked out from the settings read before it


@dataclass(frozen=True)
class Setting:
    name: str
    kind: Kind
    default: Any  # a value, a Default, or None for unset
    shown_default: str  # the default as the README shows it
    description: str
    production: str = SAFE
    secret: bool = False  # its value never appears in a message
    attr: str | None = ""  # the Settings field; "" means name.lower(), None a composite (ports, database URLs)

    @property
    def field_name(self) -> str | None:
        return self.name.lower() if self.attr == "" else self.attr

    def problem(self, text: str) -> str:
        if self.secret:
            return f"{self.name} must be {self.kind.wanted}; the value set is secret and not shown"
        shown = text if len(text) <= 60 else text[:57] + "..."
        return f"{self.name} must be {self.kind.wanted}; got {shown!r}"

    def read(self, text: str) -> Any:
        """The value of `text` for this setting, or SettingsError naming the variable."""
        try:
            return self.kind.parse(text.strip())
        except (ValueError, TypeError, KeyError):
            raise SettingsError([self.problem(text)]) from None


def _var_dir(values: Mapping[str, Any]) -> Path:
    return Path(values.get("OUTCOMES_VAR_DIR") or "var").resolve()


def _sqlite(name: str) -> Default:
    return lambda values: f"sqlite:///{_var_dir(values) / (name + '.db')}"


DEFINITION: tuple[Setting, ...] = (
    Setting(
        "OUTCOMES_ENV",
        _choice(PRODUCTION, DEVELOPMENT),
        PRODUCTION,
        "`production`",
        "`production`: web processes, consumers, relays and senders refuse to start while `PUBLIC_BASE_URL` or "
        "`NOTIFIER_PUBLIC_URL` points at this machine or `LINK_SIGNING_SECRET`/`DATA_ENCRYPTION_KEYS` are missing; "
        "`development`: what `make run` and the tests give their processes",
        attr="environment",
    ),
    *(
        Setting(
            f"{service.upper()}_PORT",
            PORT,
            DEFAULT_PORTS[service],
            str(DEFAULT_PORTS[service]),
            f"the {service} service's HTTP port, bound to `BIND_HOST`",
            attr=None,
        )
        for service in SERVICES
    ),
    Setting(
        "BIND_HOST",
        _text(),
        "127.0.0.1",
        "`127.0.0.1`",
        "the address the web processes listen on (`0.0.0.0` in a container)",
        production=SET_IT,
    ),
    Setting("WEB_CONCURRENCY", _whole(1), 2, "2", "gunicorn workers per web process"),
    Setting(
        "SERVICE",
        _choice(*SERVICES),
        None,
        "-",
        "web processes only: which service `deploy/gunicorn.conf.py` serves (it picks the port setting)",
        production=SET_IT,
    ),
    Setting(
        "EMBEDDED_KAFKA_PORT",
        PORT,
        9092,
        "9092",
        "where `make run` starts the embedded broker when `KAFKA_BOOTSTRAP_SERVERS` is unset",
    ),
    Setting(
        "KAFKA_BOOTSTRAP_SERVERS",
        KAFKA_SERVERS,
        lambda values: f"127.0.0.1:{values.get('EMBEDDED_KAFKA_PORT', 9092)}",
        "unset: `make run` starts the embedded broker on 127.0.0.1:`EMBEDDED_KAFKA_PORT`",
        "any Kafka-protocol cluster",
        production=SET_IT,
    ),
    Setting(
        "OUTCOMES_VAR_DIR",
        PATH,
        Path("var"),
        "`var`",
        "where the one-machine run keeps databases, mail, SMS, logs and keys",
        attr=None,
    ),
    *(
        Setting(
            f"{service.upper()}_DATABASE_URL",
            DATABASE_URL,
            _sqlite(service),
            f"`var/{service}.db` (SQLite)",
            f"the {service} service's database (SQLAlchemy URL); PostgreSQL in production, one database per service",
            production=SET_IT,
            secret=True,
            attr=None,
        )
        for service in SERVICES
    ),
    Setting(
        "AUTH_DATABASE_URL",
        DATABASE_URL,
        _sqlite("auth"),
        "`var/auth.db` (SQLite)",
        "the tenant and API-key registry every service reads, so a revoked key is refused by all services at once",
        production=SET_IT,
        secret=True,
    ),
    Setting(
        "DATA_ENCRYPTION_KEYS",
        FERNET_KEYS,
        (),
        "none (`make run` makes one in `var/dev.env`)",
        "comma-separated Fernet keys, newest first; seal contact details and words at rest and on topics. "
        "`outcomes keys generate-data-key` prints a new one",
        production=REQUIRED,
        secret=True,
    ),
    Setting(
        "LINK_SIGNING_SECRET",
        _text(),
        "",
        "none (`make run` makes one in `var/dev.env`)",
        "signs status-page, preferences and unsubscribe links and page sessions, and keys the phone-number hash "
        "for SMS replies",
        production=REQUIRED,
        secret=True,
    ),
    Setting(
        "SESSION_IDLE_TIMEOUT",
        _seconds(zero_allowed=False),
        1800.0,
        "1800 (30 minutes)",
        "seconds a signed-in page session lasts without a request before its person must sign in again",
    ),
    Setting(
        "SESSION_ABSOLUTE_TIMEOUT",
        _seconds(zero_allowed=False),
        28800.0,
        "28800 (8 hours)",
        "seconds a signed-in page session lasts at most, however busy",
    ),
    Setting(
        "PUBLIC_BASE_URL",
        URL,
        "http://127.0.0.1:8002",
        "`http://127.0.0.1:8002`",
        "where status-page links in messages point (decisions); in production not this machine",
        production=REQUIRED,
    ),
    Setting(
        "NOTIFIER_PUBLIC_URL",
        URL,
        lambda values: f"http://127.0.0.1:{values.get('NOTIFIER_PORT', DEFAULT_PORTS['notifier'])}",
        "`http://127.0.0.1:NOTIFIER_PORT`",
        "where preferences and unsubscribe links, `List-Unsubscribe` and Twilio's status callbacks point; "
        "in production not this machine",
        production=REQUIRED,
    ),
    Setting("EMAIL_PROVIDER", _choice("smtp", "notify"), "smtp", "`smtp`", "how email is sent: `smtp` or `notify`"),
    Setting(
        "SMTP_HOST",
        _text(),
        "127.0.0.1",
        "`127.0.0.1` (the SMTP sink `make run` starts, keeping every message under `var/mail/`; with `SMTP_HOST` set it starts none)",
        "where email goes",
        production=SET_IT,
    ),
    Setting("SMTP_PORT", PORT, 8025, "8025", "the SMTP server's port", production=SET_IT),
    Setting("SMTP_USER", _text(), None, "unset (no login)", "the SMTP login, if the server wants one"),
    Setting("SMTP_PASSWORD", _text(), None, "unset", "the SMTP password", secret=True),
    Setting(
        "SMTP_TLS",
        _choice("none", "starttls", "tls"),
        "none",
        "`none`",
        "`none`, `starttls` or `tls` (implicit TLS)",
        production=SET_IT,
    ),
    Setting(
        "MAIL_FROM",
        MAIL_ADDRESS,
        "Outcome Chain <no-reply@outcome-chain.local>",
        "`Outcome Chain <no-reply@outcome-chain.local>`",
        "the sender of every email",
        production=SET_IT,
    ),
    Setting(
        "SMS_PROVIDER",
        _choice("notify", "twilio", "outbox"),
        "outbox",
        "`outbox` (each SMS one JSON file under `var/sms/`)",
        "`notify` (GOV.UK Notify), `twilio`, `outbox`",
        production=SET_IT,
    ),
    Setting(
        "LETTER_PROVIDER",
        _choice("notify", "outbox"),
        "outbox",
        "`outbox` (each letter one JSON file under `var/letters/`)",
        "`notify` (GOV.UK Notify's letter API), `outbox`",
        production=SET_IT,
    ),
    Setting(
        "NOTIFY_API_KEY",
        _text(),
        None,
        "-",
        "GOV.UK Notify's API key (needed when a provider is `notify`)",
        secret=True,
    ),
    Setting(
        "NOTIFY_BASE_URL",
        URL,
        "https://api.notifications.service.gov.uk",
        "`https://api.notifications.service.gov.uk`",
        "GOV.UK Notify's API",
    ),
    Setting(
        "NOTIFY_SMS_TEMPLATE_ID",
        TEMPLATE_ID,
        None,
        "-",
        "the Notify SMS template (its body is `((body))`; the notifier renders the text)",
    ),
    Setting(
        "NOTIFY_EMAIL_TEMPLATE_ID",
        TEMPLATE_ID,
        None,
        "-",
        "the Notify email template (`((subject))` and `((body))`)",
    ),
    Setting(
        "NOTIFY_LETTER_TEMPLATE_ID",
        TEMPLATE_ID,
        None,
        "-",
        "the Notify letter template (`((subject))`, `((body))`; `((large_print??...))` for large print)",
    ),
    Setting(
        "LETTERS_PER_MONTH",
        LETTER_BUDGET,
        parse_letter_budget("500"),
        "`500`",
        "each tenant's letter budget per calendar month (UK time), `200,cardiff=500` for per-tenant overrides; "
        "over it, letters wait for the next month",
        attr="letters_per_month",
    ),
    Setting(
        "NOTIFY_CALLBACK_TOKEN",
        _text(),
        None,
        "-",
        "the bearer token Notify sends with delivery receipts and received texts",
        secret=True,
    ),
    Setting("NOTIFY_RATE_PER_MINUTE", _whole(1), 3000, "3000", "Notify's limit per key", attr="notify_per_minute"),
    Setting("TWILIO_ACCOUNT_SID", _text(), None, "-", "Twilio's account (needed when `SMS_PROVIDER=twilio`)"),
    Setting("TWILIO_AUTH_TOKEN", _text(), None, "-", "Twilio's auth token", secret=True),
    Setting("TWILIO_FROM", _text(), None, "-", "the number or sender id SMS come from"),
    Setting("TWILIO_BASE_URL", URL, "https://api.twilio.com", "`https://api.twilio.com`", "Twilio's API"),
    Setting(
        "NOTIFIER_SMS_QUIET_HOURS",
        QUIET_HOURS,
        parse_quiet_hours("21:00-08:00"),
        "`21:00-08:00` (UK time)",
        "SMS wait these out; `off` for none",
        attr="sms_quiet_hours",
    ),
    Setting(
        "NOTIFIER_SEND_INTERVAL",
        _seconds(zero_allowed=False),
        0.2,
        "0.2",
        "how often (seconds) the sender looks for due messages",
        attr="send_interval",
    ),
    Setting(
        "NOTIFIER_LEASE_SECONDS",
        _seconds(zero_allowed=False),
        60.0,
        "60",
        "how long a claimed message is held before another sender may retry it",
        attr="lease_seconds",
    ),
    Setting(
        "NOTIFIER_DIGEST_SECONDS",
        _seconds(zero_allowed=True),
        0.0,
        "0 (off)",
        "with a window, updates to one person within it are combined into one message; acknowledgements are never held",
        attr="digest_seconds",
    ),
    Setting(
        "LINK_RESOLUTION_TIMEOUT",
        _seconds(zero_allowed=False),
        3600.0,
        "3600",
        "decisions: a link still pending after this many seconds is flagged `unresolved`",
    ),
    Setting(
        "OVERDUE_CHECK_INTERVAL",
        _seconds(zero_allowed=False),
        60.0,
        "60",
        "decisions: how often (seconds) overdue contributions and unresolved links are looked for",
    ),
    Setting(
        "RATE_LIMIT_PER_MINUTE",
        _whole(1),
        600,
        "600",
        "requests a minute per API key and per web process (see [Abuse limits](#abuse-limits))",
    ),
    Setting(
        "RATE_LIMIT_BURST", _whole(1), 120, "120", "requests a key may send at once before the per-minute rate applies"
    ),
    Setting(
        "PUBLIC_FORM_BURST",
        _whole(1),
        10,
        "10",
        "intake: views one address may send at once through the public form (then one a minute, per web process)",
    ),
    Setting(
        "PROXY_HOPS",
        _whole(0, 5),
        0,
        "0",
        "intake: reverse proxies in front that add X-Forwarded-For; the public form limits the address the "
        "first of them saw (0: the connection's own address)",
    ),
    Setting(
        "KAFKA_SECURITY_PROTOCOL",
        _choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        "PLAINTEXT",
        "`PLAINTEXT`",
        "how every Kafka client connects (`SASL_SSL` on a council's cluster; see [Kafka ACLs and SASL](#kafka-acls-and-sasl))",
    ),
    Setting(
        "KAFKA_SASL_MECHANISM",
        _choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
        None,
        "unset (no SASL)",
        "with SASL: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`",
    ),
    Setting(
        "KAFKA_SASL_USERNAME",
        _text(),
        None,
        "-",
        "with SASL: this process's own principal, which the brokers' ACLs allow only its own topics",
    ),
    Setting("KAFKA_SASL_PASSWORD", _text(), None, "-", "with SASL: that principal's password", secret=True),
    Setting(
        "KAFKA_SSL_CAFILE",
        _text(),
        None,
        "unset (the system's CAs)",
        "with SSL or SASL_SSL: a PEM file of the CA that signed the brokers' certificates",
    ),
    Setting(
        "KAFKA_REPLICATION_FACTOR",
        _whole(1),
        1,
        "1",
        "`outcomes topics create`: replicas of each topic; 3 on a council's cluster",
        production=SET_IT,
    ),
    Setting(
        "KAFKA_MIN_INSYNC_REPLICAS",
        _whole(1),
        1,
        "1",
        "`outcomes topics create`: `min.insync.replicas` of each topic; 2 on a council's cluster",
        production=SET_IT,
    ),
    Setting(
        "KAFKA_SUBMISSIONS_RETENTION_DAYS",
        _whole(1),
        3,
        "3",
        "`outcomes topics create`: how long `intake.submissions` keeps case systems' input, which erasure cannot reach",
    ),
    Setting(
        "METRICS_TOKEN",
        _text(),
        "",
        "unset (web `/metrics` answers 404)",
        "web processes answer `/metrics` only to `Authorization: Bearer <this>` (see [Metrics and alerts](#metrics-and-alerts))",
        secret=True,
    ),
    Setting("RELAY_BATCH_SIZE", _whole(1), 500, "500", "outbox rows a relay publishes per transaction"),
    Setting("CONSUMER_MAX_POLL_RECORDS", _whole(1), 500, "500", "records a consumer takes per poll"),
    Setting(
        "CONSUMER_REJOIN_AFTER",
        _seconds(zero_allowed=False),
        30.0,
        "30",
        "a consumer given no partitions for this many seconds while its topics have some leaves and rejoins its group (doubling the wait each time it is still given none)",
        attr="consumer_rejoin_after",
    ),
    Setting(
        "METRICS_PORT",
        Kind("a port from 1 to 65535, or 0 for none", lambda text: PORT.parse(text) if text != "0" else None),
        None,
        "unset (none)",
        "where consumers, relays and the sender serve `/metrics` (9100 in `deploy/k8s/`)",
    ),
    Setting("METRICS_BIND_HOST", _text(), "0.0.0.0", "`0.0.0.0`", "the address `METRICS_PORT` listens on"),
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        PATH,
        None,
        "unset",
        "web processes: a directory where each gunicorn worker writes its metrics, so `/metrics` adds them up",
    ),
    Setting(
        "LOG_LEVEL",
        _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", fold_case=True),
        "INFO",
        "`INFO`",
        "JSON logs on standard error",
    ),
    Setting(
        "OUTCOMES_DEMO",
        FLAG,
        True,
        "1",
        "`make run`: `0` skips seeding the demo council",
    ),
)
BY_NAME: dict[str, Setting] = {setting.name: setting for setting in DEFINITION}


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    bind_host: str
    ports: dict[str, int]
    kafka_bootstrap_servers: str
    database_urls: dict[str, str]
    auth_database_url: str
    data_encryption_keys: tuple[str, ...]
    smtp_host: str
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_tls: str
    mail_from: str
    sms_provider: str
    email_provider: str
    public_base_url: str
    log_level: str
    relay_batch_size: int = 500
    relay_poll_interval: float = 0.05
    consumer_max_poll_records: int = 500
    consumer_rejoin_after: float = 30.0  # seconds with no partitions before a consumer rejoins its group
    metrics_port: int | None = None  # consumers, relays and senders answer /metrics here when set
    link_signing_secret: str = ""  # signs participants' links and page sessions
    session_idle_timeout: float = 1800.0  # a page session ends after this long without a request
    session_absolute_timeout: float = 28800.0  # and after this long whatever happens
    # Per API key and per web process: a key may send `rate_limit_burst` requests at once,
    # then `rate_limit_per_minute` a minute; beyond that it is answered 429 with Retry-After.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 120
    # The public "have your say" form, per address (a keyed hash of it) and per web process.
    public_form_burst: int = 10
    proxy_hops: int = 0  # X-Forwarded-For entries to trust (werkzeug's ProxyFix x_for)
    # `outcomes topics create`: 1/1 for the embedded broker; 3/2 for a council's cluster.
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int = 1
    kafka_submissions_retention_days: int = 3  # intake.submissions holds case systems' plain input
    metrics_token: str = ""  # web processes answer /metrics only to `Authorization: Bearer <this>`
    environment: str = PRODUCTION
    notifier_public_url: str = "http://127.0.0.1:8003"
    notify_api_key: str | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_sms_template_id: str | None = None
    notify_email_template_id: str | None = None
    notify_letter_template_id: str | None = None
    letter_provider: str = "outbox"
    letters_per_month: Any = BY_NAME["LETTERS_PER_MONTH"].default
    notify_callback_token: str | None = None
    notify_per_minute: int = 3000
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    sms_quiet_hours: Any = BY_NAME["NOTIFIER_SMS_QUIET_HOURS"].default
    send_interval: float = 0.2
    lease_seconds: float = 60.0
    digest_seconds: float = 0.0
    link_resolution_timeout: float = 3600.0
    overdue_check_interval: float = 60.0
    web_concurrency: int = 2
    service: str | None = None
    embedded_kafka_port: int = 9092
    metrics_bind_host: str = "0.0.0.0"
    prometheus_multiproc_dir: Path | None = None
    outcomes_demo: bool = True
    # How every Kafka client connects: PLAINTEXT (the embedded broker), SSL, SASL_PLAINTEXT or
    # SASL_SSL; with SASL, the mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and this
    # process's own principal; the CA that signed the brokers' certificates (PEM file).
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    configured: frozenset[str] = field(default_factory=frozenset)  # the settings the environment sets

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def port(self, service: str) -> int:
        return self.ports[service]

    @property
    def development(self) -> bool:
        return self.environment == DEVELOPMENT

    def is_set(self, name: str) -> bool:
        """Whether the environment sets `name` (rather than the default applying)."""
        return name in self.configured

    @classmethod
    def from_env(cls, env_file: str | os.PathLike | None = ".env") -> Settings:
        if env_file and Path(env_file).exists():
            load_dotenv(env_file, override=False)
        return cls.from_mapping(os.environ)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        """Every setting read from `env`; SettingsError lists every value that will not do."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        configured = set()
        for setting in DEFINITION:
            text = (env.get(setting.name) or "").strip()
            if text:
                configured.add(setting.name)
                try:
                    values[setting.name] = setting.read(text)
                except SettingsError as error:
                    problems.extend(error.problems)
            else:
                default = setting.default
                values[setting.name] = default(values) if callable(default) else default
        if problems:
            raise SettingsError(problems)
        return cls(
            var_dir=_var_dir(values),
            ports={service: values[f"{service.upper()}_PORT"] for service in SERVICES},
            database_urls={service: values[f"{service.upper()}_DATABASE_URL"] for service in SERVICES},
            configured=frozenset(configured),
            **{s.field_name: values[s.name] for s in DEFINITION if s.field_name},
        )


# Where processes start -----------------------------------------------------------------------

_THIS_MACHINE = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _points_at_this_machine(url: str) -> bool:
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in _THIS_MACHINE or host.endswith(".localhost") or not host:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def serving_problems(settings: Settings) -> list[str]:
    """What stops a process that serves from starting with these settings (none: it may)."""
    problems = []
    if not settings.data_encryption_keys:
        problems.append(
            "DATA_ENCRYPTION_KEYS is not set: it must be a Fernet key (`outcomes keys generate-data-key` prints one)"
        )
    providers = {
        "EMAIL_PROVIDER=notify": ["NOTIFY_API_KEY", "NOTIFY_EMAIL_TEMPLATE_ID"]
        if settings.email_provider == "notify"
        else [],
        "SMS_PROVIDER=notify": ["NOTIFY_API_KEY", "NOTIFY_SMS_TEMPLATE_ID"]
        if settings.sms_provider == "notify"
        else [],
        "LETTER_PROVIDER=notify": ["NOTIFY_API_KEY", "NOTIFY_LETTER_TEMPLATE_ID"]
        if settings.letter_provider == "notify"
        else [],
        "SMS_PROVIDER=twilio": ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"]
        if settings.sms_provider == "twilio"
        else [],
    }
    missing = {}
    for choice, names in providers.items():
        for name in names:
            if not getattr(settings, BY_NAME[name].field_name):
                missing.setdefault(name, []).append(choice)
    problems += [f"{name} is not set: {' and '.join(choices)} needs it" for name, choices in missing.items()]
    if settings.development:
        return problems
    if not settings.link_signing_secret:
        problems.append(
            "LINK_SIGNING_SECRET is not set: production needs a long random secret to sign participants' links"
        )
    for name, url in (
        ("PUBLIC_BASE_URL", settings.public_base_url),
        ("NOTIFIER_PUBLIC_URL", settings.notifier_public_url),
    ):
        if _points_at_this_machine(url):
            why = (
                f"points at this machine ({url})"
                if settings.is_set(name)
                else f"is not set (its default {url} serves only this machine)"
            )
            problems.append(
                f"{name} {why}: production needs the public address participants' links open "
                "(OUTCOMES_ENV=development allows it)"
            )
    return problems


def setting_from_env(name: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting's value from the environment (or its default), for code that runs before the
    rest of the settings are read or needed (a migration); SettingsError names it if it will not do."""
    setting = BY_NAME[name]
    text = ((os.environ if env is None else env).get(name) or "").strip()
    if text:
        return setting.read(text)
    return setting.default({}) if callable(setting.default) else setting.default


def check_to_serve(env: Mapping[str, str] | None = None) -> Settings:
    """Settings for a process that serves, or SettingsError with every problem found."""
    if env is None:
        settings = Settings.from_env()
    else:
        settings = Settings.from_mapping(env)
    problems = serving_problems(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def settings_to_serve(process: str) -> Settings:
    """Where a web process, consumer, relay or sender starts: its checked settings, or one
    line on standard error naming every setting at fault and exit status EXIT_BAD_SETTINGS."""
    try:
        return check_to_serve()
    except SettingsError as error:
        print(f"{process} cannot start: {error}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_BAD_SETTINGS) from None


# The README's table ----------------------------------------------------------------------------


def markdown_table() -> str:
    """The settings table in README.md's operators' part (a test keeps the two the same)."""
    lines = ["| setting | default | in production | meaning |", "|---|---|---|---|"]
    for setting in DEFINITION:
        production = f"**{setting.production}**" if setting.production == REQUIRED else setting.production
        lines.append(f"| `{setting.name}` | {setting.shown_default} | {production} | {setting.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
