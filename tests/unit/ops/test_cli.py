"""The `outcomes` command line: its arguments, settings named in one line, and what to run
before migrating (the commands themselves run in tests/integration/shared)."""

from __future__ import annotations

import dataclasses

import pytest

from ops import cli
from shared.infra import migrations
from shared.infra.settings import markdown_table


def topic_policy(settings, *argv: str):
    return cli.topic_policy(cli.parser().parse_args(["topics", "create", *argv]), settings)


def test_topics_create_takes_replication_min_insync_and_retention_from_the_command_line(settings):
    policy = topic_policy(
        settings,
        "--replication-factor",
        "3",
        "--min-insync-replicas",
        "2",
        "--submissions-retention-days",
        "1",
        "--partitions",
        "6",
    )
    assert (policy.replication_factor, policy.min_insync_replicas) == (3, 2)
    assert (policy.submissions_retention_days, policy.partitions) == (1, 6)


def test_topics_create_falls_back_on_the_settings_then_on_one_replica(settings):
    assert topic_policy(settings) == cli.kafka.TopicPolicy(
        partitions=3, replication_factor=1, min_insync_replicas=1, submissions_retention_days=3
    )
    cluster = dataclasses.replace(
        settings, kafka_replication_factor=3, kafka_min_insync_replicas=2, kafka_submissions_retention_days=2
    )
    policy = topic_policy(cluster)
    assert (policy.replication_factor, policy.min_insync_replicas, policy.submissions_retention_days) == (3, 2, 2)
    assert topic_policy(cluster, "--min-insync-replicas", "3").min_insync_replicas == 3


def test_the_settings_come_from_the_environment(monkeypatch, settings):
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    monkeypatch.setenv("KAFKA_SUBMISSIONS_RETENTION_DAYS", "5")
    read = type(settings).from_env(env_file=None)
    assert (read.kafka_replication_factor, read.kafka_min_insync_replicas, read.kafka_submissions_retention_days) == (
        3,
        2,
        5,
    )


def test_more_in_sync_replicas_than_replicas_is_refused_without_touching_kafka(settings, capsys):
    # The settings point at 127.0.0.1:1, where nothing listens: the refusal comes first.
    status = cli.main(["topics", "create", "--replication-factor", "2", "--min-insync-replicas", "3"])

    assert status == 2
    assert "min.insync.replicas must be between 1 and the replication factor (2), not 3" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--replication-factor", "three"], ["--min-insync-replicas", "1.5"]])
def test_a_count_that_is_not_a_whole_number_is_a_usage_error(argv):
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args(["topics", "create", *argv])
    assert exit_.value.code == 2


@pytest.mark.parametrize("command", [["consume", "intake"], ["relay", "decisions"], ["send"]])
def test_a_serving_command_with_a_bad_setting_says_which_in_one_line(settings, monkeypatch, capsys, command):
    monkeypatch.setenv("RATE_LIMIT_BURST", "lots")
    assert cli.main(command) == 4
    err = capsys.readouterr().err
    assert (
        err == f"outcomes {command[0]} cannot start: RATE_LIMIT_BURST must be a whole number of 1 or more; got 'lots'\n"
    )


def test_a_serving_command_in_production_refuses_local_links_and_names_them(settings, monkeypatch, capsys):
    monkeypatch.setenv("OUTCOMES_ENV", "production")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://outcomes.wiltshire.gov.uk")
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", "http://localhost:8003")
    assert cli.main(["consume", "notifier"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("outcomes consume cannot start: NOTIFIER_PUBLIC_URL points at this machine")
    assert err.count("\n") == 1


def test_a_missing_data_key_stops_a_consumer_without_a_traceback(settings, monkeypatch, capsys):
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS")
    assert cli.main(["relay", "intake"]) == 4
    assert "DATA_ENCRYPTION_KEYS is not set" in capsys.readouterr().err


def test_a_command_that_opens_sealed_data_without_a_key_says_how_to_make_one(settings, monkeypatch, capsys):
    migrations.upgrade_auth(settings.auth_database_url)
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS")
    assert cli.main(["dead-letters", "list", "intake"]) == 4
    err = capsys.readouterr().err
    assert err == (
        "outcomes dead-letters: DATA_ENCRYPTION_KEYS is not set: generate one with "
        "`outcomes keys generate-data-key` and set it in the environment\n"
    )


def test_other_commands_name_a_bad_setting_too_without_showing_a_secret(settings, monkeypatch, capsys):
    monkeypatch.setenv("AUTH_DATABASE_URL", "postgresql://auth:hunter2@db:port/auth")
    assert cli.main(["tenants", "list"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("outcomes tenants cannot run: AUTH_DATABASE_URL must be a SQLAlchemy database URL")
    assert "hunter2" not in err


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "list", "--tenant", "wiltshire"],
        ["tenants", "list"],
        ["keys", "create", "--tenant", "x", "--role", "staff"],
    ],
)
def test_a_command_before_migrating_says_what_to_run(settings, capsys, command):
    assert cli.main(command) == 2
    err = capsys.readouterr().err
    assert "run `outcomes migrate --all` first" in err
    assert "Traceback" not in err and "OperationalError" not in err


def test_a_service_command_before_migrating_its_database_says_what_to_run(settings, capsys):
    migrations.upgrade_auth(settings.auth_database_url)  # the key registry only
    assert cli.main(["dead-letters", "list", "intake"]) == 2
    assert "run `outcomes migrate --all` first" in capsys.readouterr().err


def test_settings_check_lists_every_problem_one_a_line(settings, monkeypatch, capsys):
    monkeypatch.setenv("OUTCOMES_ENV", "production")
    monkeypatch.delenv("LINK_SIGNING_SECRET")
    assert cli.main(["settings", "check"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[0] for line in lines] == ["LINK_SIGNING_SECRET", "PUBLIC_BASE_URL", "NOTIFIER_PUBLIC_URL", "3"]


def test_settings_check_passes_a_good_environment(settings, capsys):
    assert cli.main(["settings", "check"]) == 0
    assert capsys.readouterr().out == "settings ok (development)\n"


def test_settings_markdown_prints_the_readme_table(capsys):
    assert cli.main(["settings", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()
