"""Wires intake together. Tests call bootstrap() with their own engine, keys or clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from services.intake.entrypoints.schemas import ContributionSchema
from services.intake.service_layer import handlers
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.infra.auth import KeyStore
from shared.infra.platform import Platform, build_platform, consume
from shared.infra.settings import Settings
from shared.infra.tables import utcnow
from shared.rules.constants import DECISIONS_TOPIC, NOTIFICATIONS_TOPIC, SUBMISSIONS_TOPIC

SERVICE = "intake"
# Submissions from case systems; what became of contributions, for the staff dashboard.
INBOUND_TOPICS = [SUBMISSIONS_TOPIC, DECISIONS_TOPIC, NOTIFICATIONS_TOPIC]


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
    # "intake-submissions" kept when outcomes were added: processed events and dead letters name it
    consume(platform, "intake-submissions", INBOUND_TOPICS, handlers.HANDLERS, submission_schema=ContributionSchema())
    return platform
