"""Settings, read once from the environment (a `.env` file may supply them).

Every setting in the public contract has its default for the one-machine run here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

SERVICES = ("intake", "decisions", "notifier")
DEFAULT_PORTS = {"intake": 8001, "decisions": 8002, "notifier": 8003}


def _var_dir() -> Path:
    return Path(os.environ.get("OUTCOMES_VAR_DIR", "var")).resolve()


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{_var_dir() / (name + '.db')}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


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
    metrics_port: int | None = None  # consumers, relays and senders answer /metrics here when set
    link_signing_secret: str = ""  # signs participants' links and page sessions
    # Per API key and per web process: a key may send `rate_limit_burst` requests at once,
    # then `rate_limit_per_minute` a minute; beyond that it is answered 429 with Retry-After.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 120
    # How every Kafka client connects: PLAINTEXT (the embedded broker), SSL, SASL_PLAINTEXT or
    # SASL_SSL; with SASL, the mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and this
    # process's own principal; the CA that signed the brokers' certificates (PEM file).
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def port(self, service: str) -> int:
        return self.ports[service]

    @classmethod
    def from_env(cls, env_file: str | os.PathLike | None = ".env") -> Settings:
        if env_file and Path(env_file).exists():
            load_dotenv(env_file, override=False)
        env = os.environ
        keys = tuple(k.strip() for k in env.get("DATA_ENCRYPTION_KEYS", "").split(",") if k.strip())
        return cls(
            var_dir=_var_dir(),
            bind_host=env.get("BIND_HOST", "127.0.0.1"),
            ports={s: _int(f"{s.upper()}_PORT", DEFAULT_PORTS[s]) for s in SERVICES},
            # Unset: `make run` starts the embedded broker here (EMBEDDED_KAFKA_PORT, default 9092).
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS")
            or f"127.0.0.1:{_int('EMBEDDED_KAFKA_PORT', 9092)}",
            database_urls={s: env.get(f"{s.upper()}_DATABASE_URL") or _sqlite_url(s) for s in SERVICES},
            auth_database_url=env.get("AUTH_DATABASE_URL") or _sqlite_url("auth"),
            data_encryption_keys=keys,
            smtp_host=env.get("SMTP_HOST", "127.0.0.1"),
            smtp_port=_int("SMTP_PORT", 8025),
            smtp_user=env.get("SMTP_USER") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_tls=env.get("SMTP_TLS", "none"),
            mail_from=env.get("MAIL_FROM", "Outcome Chain <no-reply@outcome-chain.local>"),
            sms_provider=env.get("SMS_PROVIDER", "outbox"),
            email_provider=env.get("EMAIL_PROVIDER", "smtp"),
            public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8002"),
            log_level=env.get("LOG_LEVEL", "INFO"),
            relay_batch_size=_int("RELAY_BATCH_SIZE", 500),
            consumer_max_poll_records=_int("CONSUMER_MAX_POLL_RECORDS", 500),
            metrics_port=_int("METRICS_PORT", 0) or None,
            link_signing_secret=env.get("LINK_SIGNING_SECRET", ""),
            rate_limit_per_minute=_int("RATE_LIMIT_PER_MINUTE", 600),
            rate_limit_burst=_int("RATE_LIMIT_BURST", 120),
            kafka_security_protocol=env.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT",
            kafka_sasl_mechanism=env.get("KAFKA_SASL_MECHANISM") or None,
            kafka_sasl_username=env.get("KAFKA_SASL_USERNAME") or None,
            kafka_sasl_password=env.get("KAFKA_SASL_PASSWORD") or None,
            kafka_ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
        )
