"""Wires notifier together. Until its own issue lands it serves health, readiness and metrics."""

from __future__ import annotations

from flask import Flask

from shared import web
from shared.db import UnitOfWork
from shared.platform import Platform, build_platform
from shared.settings import Settings

SERVICE = "notifier"
INBOUND_TOPICS: list[str] = []


def bootstrap(settings: Settings | None = None, **overrides) -> Platform:
    return build_platform(SERVICE, settings or Settings.from_env(), UnitOfWork, **overrides)


def create_app(platform: Platform | None = None) -> Flask:
    return web.create_app(platform or bootstrap(), [])
