"""Fixtures shared by every tier: settings, databases, tenants and the intake service."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from services.intake.bootstrap import bootstrap as bootstrap_intake
from services.intake.entrypoints.web import create_app as create_intake_app
from shared.infra import migrations
from shared.infra.settings import Settings
from tests.support import factories, shifted_time
from tests.support.api import METRICS_TOKEN, ApiClient, create_tenant
from tests.support.postgres import PostgresCluster


def pytest_configure(config):
    """Under `make test-clock`, this process (controller or xdist worker) on the run's shifted clock."""
    shifted_time.travel()


NO_SKIPS = "OUTCOMES_NO_SKIPS"  # set by the Makefile's test targets


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_if_skipped(report) -> None:
    """With OUTCOMES_NO_SKIPS set, a skip is a failure that says what was missing: a run that
    lacks a part (Chromium, PostgreSQL, ...) must never look green. Runs in xdist workers too."""
    if os.environ.get(NO_SKIPS) and report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        report.outcome = "failed"
        report.longrepr = f"skipped, and {NO_SKIPS} forbids skips: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    _fail_if_skipped(report)
    if report.failed:  # a test that ran a whole stack (tests/support/stack.py) shows its processes' logs
        for value in getattr(item, "funcargs", {}).values():
            if callable(getattr(value, "log_tails", None)):
                report.sections.append(("outcome-chain process logs (tails)", value.log_tails()))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_if_skipped(outcome.get_result())


def pytest_sessionfinish(session, exitstatus):
    """Whatever was still reported as skipped (by a plugin's own report) fails the session."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get(NO_SKIPS) and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def development_mode():
    """Processes the tests start serve local URLs with throwaway secrets: development allows
    that (production refuses it; tests of that set OUTCOMES_ENV themselves)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OUTCOMES_ENV", "development")
        yield


@pytest.fixture(scope="session", autouse=True)
def generous_rate_limits():
    """The suite sends hundreds of requests a second with one key; tests of the limiter set their own."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RATE_LIMIT_PER_MINUTE", "10000000")
        env.setenv("RATE_LIMIT_BURST", "1000000")
        yield


@pytest.fixture(scope="session")
def postgres():
    # Not under pytest's tmp dir: that is private to root, and the cluster runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="outcomes-pg-"))
    cluster = PostgresCluster(directory)
    cluster.start()
    yield cluster
    cluster.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_backend(request):
    """Integration tests run once on SQLite and once on PostgreSQL."""
    return request.param


@pytest.fixture
def database_urls(request, tmp_path, database_backend) -> dict[str, str]:
    if database_backend == "sqlite":
        return {name: f"sqlite:///{tmp_path / name}.db" for name in ("auth", "intake", "decisions", "notifier")}
    cluster = request.getfixturevalue("postgres")
    return {name: cluster.create_database() for name in ("auth", "intake", "decisions", "notifier")}


@pytest.fixture
def settings(tmp_path, monkeypatch, database_urls) -> Settings:
    monkeypatch.setenv("OUTCOMES_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("LINK_SIGNING_SECRET", "test-link-signing-secret")
    monkeypatch.setenv("METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setenv("AUTH_DATABASE_URL", database_urls["auth"])
    for service in ("intake", "decisions", "notifier"):
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", database_urls[service])
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # no broker unless a test starts one
    return Settings.from_env(env_file=None)


@pytest.fixture
def intake(settings):
    """The intake service's platform, migrated, on the test's database."""
    migrations.upgrade_auth(settings.auth_database_url)
    migrations.upgrade_service("intake", settings.database_url("intake"))
    platform = bootstrap_intake(settings)
    yield platform
    platform.engine.dispose()
    platform.keys.engine.dispose()


@pytest.fixture
def council(intake):
    """A tenant with one key per role."""
    return create_tenant(intake.keys, "wiltshire")


@pytest.fixture
def other_council(intake):
    return create_tenant(intake.keys, "dorset")


@pytest.fixture
def intake_api(intake, council) -> ApiClient:
    return ApiClient(create_intake_app(intake).test_client(), council, role="staff")


@pytest.fixture
def engagement(intake_api) -> dict:
    response = intake_api.post("/v1/engagements", json=factories.engagement_payload())
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def decisions(settings, intake):
    """The decisions service's platform, migrated, sharing the tenant registry with intake."""
    from services.decisions.bootstrap import bootstrap as bootstrap_decisions

    migrations.upgrade_service("decisions", settings.database_url("decisions"))
    platform = bootstrap_decisions(settings)
    yield platform
    platform.engine.dispose()
    platform.keys.engine.dispose()


@pytest.fixture
def decisions_api(decisions, council) -> ApiClient:
    from services.decisions.entrypoints.web import create_app as create_decisions_app

    return ApiClient(create_decisions_app(decisions).test_client(), council, role="board")
