"""Settings: one definition, every bad value named, production refusing what fits one machine."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from shared.infra.settings import (
    BY_NAME,
    DEFINITION,
    DEVELOPMENT,
    PRODUCTION,
    SAFE,
    Settings,
    SettingsError,
    markdown_table,
    serving_problems,
    settings_to_serve,
)

ROOT = Path(__file__).resolve().parents[4]


def deployment(**overrides: str) -> dict[str, str]:
    """What a council's deployment sets: public URLs, its own secrets."""
    return {
        "DATA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LINK_SIGNING_SECRET": "a-long-random-secret-for-links",
        "PUBLIC_BASE_URL": "https://outcomes.wiltshire.gov.uk",
        "NOTIFIER_PUBLIC_URL": "https://messages.wiltshire.gov.uk",
        **overrides,
    }


def problems_with(**env: str) -> list[str]:
    with pytest.raises(SettingsError) as refused:
        Settings.from_mapping(env)
    return refused.value.problems


# Reading and validating ----------------------------------------------------------------------


def test_unset_settings_take_the_contracts_defaults():
    settings = Settings.from_mapping({})
    assert settings.ports == {"intake": 8001, "decisions": 8002, "notifier": 8003}
    assert settings.bind_host == "127.0.0.1"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.database_url("intake").startswith("sqlite:///") and settings.database_url("intake").endswith(
        "var/intake.db"
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_tls) == ("127.0.0.1", 8025, "none")
    assert (settings.sms_provider, settings.email_provider) == ("outbox", "smtp")
    assert settings.public_base_url == "http://127.0.0.1:8002"
    assert settings.notifier_public_url == "http://127.0.0.1:8003"
    assert settings.sms_quiet_hours == (dt.time(21), dt.time(8))
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (600, 120)
    assert (settings.link_resolution_timeout, settings.overdue_check_interval) == (3600, 60)
    assert settings.environment == PRODUCTION
    assert not settings.is_set("KAFKA_BOOTSTRAP_SERVERS")


def test_defaults_follow_the_settings_they_depend_on():
    settings = Settings.from_mapping({"NOTIFIER_PORT": "9003", "EMBEDDED_KAFKA_PORT": "19092", "SMTP_HOST": " "})
    assert settings.port("notifier") == 9003
    assert settings.notifier_public_url == "http://127.0.0.1:9003"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert settings.smtp_host == "127.0.0.1"  # blank is unset


def test_values_are_read_as_their_types():
    settings = Settings.from_mapping(
        {
            "RATE_LIMIT_BURST": "7",
            "NOTIFIER_SEND_INTERVAL": "0.5",
            "NOTIFIER_SMS_QUIET_HOURS": "off",
            "LOG_LEVEL": "debug",
            "METRICS_PORT": "0",
            "OUTCOMES_DEMO": "0",
            "DATA_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()}, {Fernet.generate_key().decode()}",
        }
    )
    assert settings.rate_limit_burst == 7
    assert settings.send_interval == 0.5
    assert settings.sms_quiet_hours is None
    assert settings.log_level == "DEBUG"
    assert settings.metrics_port is None
    assert settings.outcomes_demo is False
    assert len(settings.data_encryption_keys) == 2


@pytest.mark.parametrize(
    "name, value, wanted",
    [
        ("RATE_LIMIT_BURST", "lots", "RATE_LIMIT_BURST must be a whole number of 1 or more; got 'lots'"),
        ("RATE_LIMIT_PER_MINUTE", "0", "RATE_LIMIT_PER_MINUTE must be a whole number of 1 or more; got '0'"),
        ("INTAKE_PORT", "80000", "INTAKE_PORT must be a whole number from 1 to 65535; got '80000'"),
        ("OVERDUE_CHECK_INTERVAL", "-5", "OVERDUE_CHECK_INTERVAL must be a number of seconds (more than 0)"),
        ("LINK_RESOLUTION_TIMEOUT", "an hour", "LINK_RESOLUTION_TIMEOUT must be a number of seconds"),
        ("NOTIFIER_DIGEST_SECONDS", "nan", "NOTIFIER_DIGEST_SECONDS must be a number of seconds (0 or more)"),
        ("SMTP_TLS", "ssl", "SMTP_TLS must be one of none, starttls, tls; got 'ssl'"),
        ("SMS_PROVIDER", "pigeon", "SMS_PROVIDER must be one of notify, twilio, outbox; got 'pigeon'"),
        ("EMAIL_PROVIDER", "fax", "EMAIL_PROVIDER must be one of smtp, notify; got 'fax'"),
        ("OUTCOMES_ENV", "staging", "OUTCOMES_ENV must be one of production, development; got 'staging'"),
        ("PUBLIC_BASE_URL", "outcomes.example.org", "PUBLIC_BASE_URL must be an http:// or https:// URL with a host"),
        ("NOTIFIER_PUBLIC_URL", "https://example.org:port", "NOTIFIER_PUBLIC_URL must be an http:// or https:// URL"),
        ("NOTIFIER_SMS_QUIET_HOURS", "21:00", "NOTIFIER_SMS_QUIET_HOURS must be HH:MM-HH:MM"),
        (
            "NOTIFIER_SMS_QUIET_HOURS",
            "08:00-08:00",
            "NOTIFIER_SMS_QUIET_HOURS must be HH:MM-HH:MM (start and end differ",
        ),
        ("KAFKA_BOOTSTRAP_SERVERS", "kafka", "KAFKA_BOOTSTRAP_SERVERS must be comma-separated host:port pairs"),
        ("NOTIFY_SMS_TEMPLATE_ID", "sms-template", "NOTIFY_SMS_TEMPLATE_ID must be a GOV.UK Notify template id"),
        ("MAIL_FROM", "Outcome Chain", "MAIL_FROM must be an email address"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'loud'"),
    ],
)
def test_a_bad_value_is_named_with_what_is_wanted(name, value, wanted):
    (problem,) = problems_with(**{name: value})
    assert problem.startswith(wanted)


def test_every_bad_value_is_reported_at_once():
    problems = problems_with(RATE_LIMIT_BURST="lots", SMTP_PORT="smtp", OUTCOMES_ENV="prod")
    assert [problem.split()[0] for problem in problems] == ["OUTCOMES_ENV", "SMTP_PORT", "RATE_LIMIT_BURST"]
    with pytest.raises(ValueError, match="OUTCOMES_ENV.*; SMTP_PORT.*; RATE_LIMIT_BURST"):
        Settings.from_mapping({"RATE_LIMIT_BURST": "lots", "SMTP_PORT": "smtp", "OUTCOMES_ENV": "prod"})


@pytest.mark.parametrize(
    "name, value",
    [
        ("DATA_ENCRYPTION_KEYS", "not-a-fernet-key-but-still-a-secret"),
        ("INTAKE_DATABASE_URL", "postgresql+psycopg2://intake:pa55word-secret@db:port/intake"),
        ("AUTH_DATABASE_URL", "://auth:pa55word-secret@db"),
    ],
)
def test_a_secrets_value_is_never_shown(name, value):
    (problem,) = problems_with(**{name: value})
    assert problem.startswith(f"{name} must be ")
    assert "secret and not shown" in problem
    assert "pa55word" not in problem and value not in problem


def test_every_secret_is_marked_so():
    secrets = {s.name for s in DEFINITION if s.secret}
    assert {"DATA_ENCRYPTION_KEYS", "LINK_SIGNING_SECRET", "SMTP_PASSWORD", "NOTIFY_API_KEY"} <= secrets
    assert {"NOTIFY_CALLBACK_TOKEN", "TWILIO_AUTH_TOKEN", "AUTH_DATABASE_URL", "INTAKE_DATABASE_URL"} <= secrets


# contract.md's settings table: none may be renamed.
CONTRACT_SETTINGS = {
    *("INTAKE_PORT", "DECISIONS_PORT", "NOTIFIER_PORT", "BIND_HOST", "KAFKA_BOOTSTRAP_SERVERS"),
    *("INTAKE_DATABASE_URL", "DECISIONS_DATABASE_URL", "NOTIFIER_DATABASE_URL"),
    *("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_TLS", "MAIL_FROM", "SMS_PROVIDER"),
    *(
        "NOTIFY_API_KEY",
        "NOTIFY_BASE_URL",
        "NOTIFY_SMS_TEMPLATE_ID",
        "NOTIFY_EMAIL_TEMPLATE_ID",
        "NOTIFY_CALLBACK_TOKEN",
    ),
    *("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "EMAIL_PROVIDER", "PUBLIC_BASE_URL"),
}


def test_each_setting_is_declared_once_and_every_contract_setting_is_there():
    names = [setting.name for setting in DEFINITION]
    assert len(names) == len(set(names))
    assert CONTRACT_SETTINGS <= set(names)


# Where processes start -----------------------------------------------------------------------


def test_a_deployment_with_public_urls_and_its_secrets_may_start():
    assert serving_problems(Settings.from_mapping(deployment())) == []


def test_the_production_shape_tier_addresses_are_public_enough():
    env = deployment(
        PUBLIC_BASE_URL="http://decisions.council.test:18002", NOTIFIER_PUBLIC_URL="http://notifier.council.test:18003"
    )
    assert serving_problems(Settings.from_mapping(env)) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8003",
        "http://localhost:8003",
        "http://LOCALHOST.:8003",
        "http://notifier.localhost",
        "http://[::1]:8003",
        "http://0.0.0.0:8003",
        "http://127.8.0.1",
    ],
)
def test_production_refuses_links_that_point_at_this_machine(url):
    (problem,) = serving_problems(Settings.from_mapping(deployment(NOTIFIER_PUBLIC_URL=url)))
    assert problem.startswith(f"NOTIFIER_PUBLIC_URL points at this machine ({url})")


def test_production_refuses_unset_public_urls_and_missing_secrets():
    env = deployment()
    for name in ("PUBLIC_BASE_URL", "LINK_SIGNING_SECRET", "DATA_ENCRYPTION_KEYS"):
        del env[name]
    problems = serving_problems(Settings.from_mapping(env))
    assert [problem.split()[0] for problem in problems] == [
        "DATA_ENCRYPTION_KEYS",
        "LINK_SIGNING_SECRET",
        "PUBLIC_BASE_URL",
    ]
    assert "its default http://127.0.0.1:8002 serves only this machine" in problems[2]


def test_development_allows_local_urls_but_still_needs_a_data_key():
    local = {"OUTCOMES_ENV": DEVELOPMENT, "PUBLIC_BASE_URL": "http://localhost:8002"}
    assert (
        serving_problems(Settings.from_mapping({**local, "DATA_ENCRYPTION_KEYS": Fernet.generate_key().decode()})) == []
    )
    (problem,) = serving_problems(Settings.from_mapping(local))
    assert problem.startswith("DATA_ENCRYPTION_KEYS is not set")


def test_a_provider_without_its_credentials_is_refused_by_name():
    problems = serving_problems(Settings.from_mapping(deployment(EMAIL_PROVIDER="notify", SMS_PROVIDER="twilio")))
    assert problems == [
        "NOTIFY_API_KEY is not set: EMAIL_PROVIDER=notify needs it",
        "NOTIFY_EMAIL_TEMPLATE_ID is not set: EMAIL_PROVIDER=notify needs it",
        "TWILIO_ACCOUNT_SID is not set: SMS_PROVIDER=twilio needs it",
        "TWILIO_AUTH_TOKEN is not set: SMS_PROVIDER=twilio needs it",
        "TWILIO_FROM is not set: SMS_PROVIDER=twilio needs it",
    ]


def test_a_process_that_cannot_start_says_why_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("OUTCOMES_ENV", PRODUCTION)
    monkeypatch.setenv("RATE_LIMIT_BURST", "lots")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", "CHANGE-ME")
    with pytest.raises(SystemExit) as stopped:
        settings_to_serve("intake web")
    assert stopped.value.code == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("intake web cannot start: DATA_ENCRYPTION_KEYS must be comma-separated Fernet keys")
    assert "RATE_LIMIT_BURST must be a whole number of 1 or more; got 'lots'" in err
    assert "CHANGE-ME" not in err


# No setting is read anywhere else ---------------------------------------------------------------

# Variables that are not our settings: Tansu's log level, passed on to the broker it starts.
NOT_SETTINGS = {"RUST_LOG"}


def _environment_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, variable) for each os.environ[...], os.environ.get(...), os.getenv(...), "X" in os.environ."""

    def is_environ(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "environ"

    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Subscript) and is_environ(node.value) and isinstance(node.ctx, ast.Load):
            name = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if (node.func.attr in ("get", "pop") and is_environ(node.func.value)) or node.func.attr == "getenv":
                name = node.args[0] if node.args else None
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            # `"X" in os.environ` asks for a setting; `k not in os.environ` (merging a file in) does not.
            name = node.left if isinstance(node.left, ast.Constant) else None
        if name is not None:
            found.append((node.lineno, name.value if isinstance(name, ast.Constant) else ast.unparse(name)))
    return found


def test_no_code_outside_shared_settings_reads_a_setting_from_the_environment():
    sources = [
        *(path for part in ("shared", "services", "ops") for path in ROOT.glob(f"{part}/**/*.py")),
        ROOT / "deploy" / "gunicorn.conf.py",
    ]
    reads = [
        f"{path.relative_to(ROOT)}:{line} reads {name}"
        for path in sources
        if path != ROOT / "shared" / "infra" / "settings.py"
        for line, name in _environment_reads(ast.parse(path.read_text()))
        if name not in NOT_SETTINGS
    ]
    assert reads == [], "declare the setting in shared/infra/settings.py and read it from Settings"


def test_the_environment_read_finder_finds_every_form():
    code = 'os.environ["A"]\nos.environ.get(b, 1)\nos.getenv("C")\n"D" in os.environ\nx = {**os.environ}\nk in os.environ\n'
    assert sorted(name for _, name in _environment_reads(ast.parse(code))) == ["A", "C", "D", "b"]


# The README ------------------------------------------------------------------------------------


def test_readme_settings_table_is_the_one_generated_from_the_definition():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Settings\n", 1)[1].split("\n### ", 1)[0]
    table = "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))
    assert table == markdown_table(), "run `outcomes settings --markdown` and paste it into README.md (Settings)"


def test_the_table_says_which_defaults_a_deployment_may_keep():
    rows = {re.match(r"\| `(\w+)`", line)[1]: line for line in markdown_table().splitlines()[2:]}
    assert rows.keys() == BY_NAME.keys()
    assert "| **required** |" in rows["LINK_SIGNING_SECRET"]
    assert "| set it |" in rows["KAFKA_BOOTSTRAP_SERVERS"]
    assert f"| {SAFE} |" in rows["RATE_LIMIT_BURST"]
