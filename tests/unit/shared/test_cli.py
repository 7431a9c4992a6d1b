"""The `outcomes` command line's arguments (the commands themselves run in tests/integration/shared)."""

from __future__ import annotations

import dataclasses

import pytest

from shared import cli


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
