"""Wires intake together. Tests call bootstrap() with their own engine, keys or clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask

from services.intake.entrypoints.api import api
from services.intake.entrypoints.consumer import submission_handler
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared import web
from shared.auth import KeyStore
from shared.constants import CONTRIBUTION_SUBMITTED, SUBMISSIONS_TOPIC
from shared.consumer import EventProcessor
from shared.platform import Platform, build_platform
from shared.settings import Settings
from shared.tables import utcnow

SERVICE = "intake"
INBOUND_TOPICS = [SUBMISSIONS_TOPIC]


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: sa.Engine | None = None,
    keys: KeyStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Platform:
    platform = build_platform(
        SERVICE, settings or Settings.from_env(), IntakeUnitOfWork, engine=engine, keys=keys, clock=clock
    )
    platform.processor = EventProcessor(
        name="intake-submissions",
        source=platform.source,
        uow_factory=platform.uow,
        handlers={CONTRIBUTION_SUBMITTED: submission_handler(platform)},
        sealer=platform.sealer,
        tenant_exists=platform.keys.tenant_exists,
    )
    return platform


def create_app(platform: Platform | None = None) -> Flask:
    return web.create_app(platform or bootstrap(), [api])
