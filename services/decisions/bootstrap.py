"""Wires decisions together. Tests call bootstrap() with their own engine, keys or clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from services.decisions.service_layer import handlers, services, views
from services.decisions.service_layer.unit_of_work import DecisionsUnitOfWork
from shared.infra import metrics
from shared.infra.auth import KeyStore
from shared.infra.platform import Platform, build_platform, consume
from shared.infra.settings import Settings
from shared.infra.tables import utcnow
from shared.rules.constants import CONTRIBUTIONS_TOPIC, ENGAGEMENTS_TOPIC, NOTIFICATIONS_TOPIC, PARTICIPANTS_TOPIC
from shared.rules.domain import UK

SERVICE = "decisions"
INBOUND_TOPICS = [ENGAGEMENTS_TOPIC, CONTRIBUTIONS_TOPIC, NOTIFICATIONS_TOPIC, PARTICIPANTS_TOPIC]


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: sa.Engine | None = None,
    keys: KeyStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Platform:
    platform = build_platform(
        SERVICE, settings or Settings.from_env(), DecisionsUnitOfWork, engine=engine, keys=keys, clock=clock
    )
    consume(platform, "decisions-read-models", INBOUND_TOPICS, handlers.HANDLERS)
    platform.gauge_readers.append(lambda: overdue_gauges(platform))
    return platform


def overdue_gauges(platform: Platform) -> list[metrics.Reading]:
    today = platform.clock().astimezone(UK).date()
    return [
        metrics.Reading(
            "contributions_overdue", "Contributions past their feedback date with no decision", count, (("tenant", t),)
        )
        for t, count in views.overdue_counts(platform.uow(read_only=True), today=today).items()
    ]


def scheduled(platform: Platform) -> list[tuple[float, Callable[[], object]]]:
    """(every N seconds, task) run beside the consumer: overdue feedback, unresolved links."""
    link_timeout = dt.timedelta(seconds=platform.settings.link_resolution_timeout)
    interval = platform.settings.overdue_check_interval

    def overdue_feedback() -> int:
        now = platform.clock()
        return services.announce_overdue(
            platform.uow(), today=now.astimezone(UK).date(), now=now, source=platform.source
        )

    def unresolved_links() -> int:
        return services.resolve_links(
            platform.uow(), older_than=link_timeout, now=platform.clock(), source=platform.source
        )

    return [(interval, overdue_feedback), (interval, unresolved_links)]
