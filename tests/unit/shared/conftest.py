"""The three services built by their own `bootstrap()`/`create_app()` on SQLite, one key registry."""

from __future__ import annotations

import importlib

import pytest
from flask import Flask

from shared.infra import db, migrations
from shared.infra.auth import KeyStore
from shared.infra.platform import Platform
from shared.infra.settings import SERVICES, Settings
from tests.support.api import ApiClient, Tenant, create_tenant
from tests.support.clock import ManualClock


def _bootstrap_module(service: str):
    return importlib.import_module(f"services.{service}.bootstrap")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service_settings(settings) -> Settings:
    """The suite's settings; a test module overrides this fixture for a tighter rate limit."""
    return settings


@pytest.fixture
def platforms(service_settings: Settings, clock: ManualClock) -> dict[str, Platform]:
    migrations.upgrade_auth(service_settings.auth_database_url)
    keys = KeyStore(db.create_engine(service_settings.auth_database_url))
    built = {}
    for service in SERVICES:
        migrations.upgrade_service(service, service_settings.database_url(service))
        built[service] = _bootstrap_module(service).bootstrap(service_settings, keys=keys, clock=clock)
    yield built
    for platform in built.values():
        platform.engine.dispose()
    keys.engine.dispose()


@pytest.fixture
def apps(platforms: dict[str, Platform]) -> dict[str, Flask]:
    return {
        service: importlib.import_module(f"services.{service}.entrypoints.web").create_app(platform)
        for service, platform in platforms.items()
    }


@pytest.fixture
def wiltshire(platforms) -> Tenant:
    return create_tenant(platforms["intake"].keys, "wiltshire")


@pytest.fixture
def dorset(platforms) -> Tenant:
    return create_tenant(platforms["intake"].keys, "dorset")


@pytest.fixture
def api(apps, wiltshire) -> dict[str, ApiClient]:
    """Each service's API as Wiltshire's staff (`.as_(role)` for another role)."""
    return {service: ApiClient(app.test_client(), wiltshire, role="staff") for service, app in apps.items()}
