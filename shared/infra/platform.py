"""What every service is built from: settings, database, keys, sealer, broker address.

Each service's `bootstrap()` builds one Platform and adds its own parts to it. Tests
pass their own engines, keys or clock instead of patching.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from shared.http.ratelimit import RateLimiter
from shared.infra import db, metrics
from shared.infra.auth import KeyStore
from shared.infra.crypto import Sealer
from shared.infra.identity import IdentityProviders
from shared.infra.settings import Settings
from shared.infra.tables import utcnow
from shared.messaging import kafka
from shared.messaging.consumer import EventProcessor, Handler
from shared.rules.constants import service_source


@dataclass
class Platform:
    service: str
    settings: Settings
    engine: sa.Engine
    uow: Callable[..., db.UnitOfWork]  # uow(read_only=True) for reads
    keys: KeyStore
    sealer: Sealer
    rate_limiter: RateLimiter  # per API key, on the platform's clock
    identity: IdentityProviders  # each council's OpenID Connect provider, beside its keys
    clock: Callable[[], dt.datetime] = utcnow
    kafka_reachable: Callable[[], bool] = field(default=lambda: True)
    # Applies inbound events; set by services that consume. Also replays dead letters.
    processor: EventProcessor | None = None
    # Its HANDLERS by event type, wired with their dependencies: handlers[type](uow, event).
    handlers: dict[str, Handler] = field(default_factory=dict)
    # Service-specific parts the Flask app needs too (the notifier's links and settings).
    extensions: dict = field(default_factory=dict)
    # Service-specific gauges read from the database when /metrics is scraped.
    gauge_readers: list[Callable[[], list[metrics.Reading]]] = field(default_factory=list)

    @property
    def source(self) -> str:
        """The CloudEvents `source` of everything this service announces."""
        return service_source(self.service)


def build_platform(
    service: str,
    settings: Settings,
    uow_class: type[db.UnitOfWork],
    *,
    engine: sa.Engine | None = None,
    keys: KeyStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Platform:
    engine = engine or db.create_engine(settings.database_url(service))
    session_factory = db.session_factory(engine)
    sealer = Sealer(settings.data_encryption_keys)
    keys = keys or KeyStore(db.create_engine(settings.auth_database_url))
    return Platform(
        service=service,
        settings=settings,
        engine=engine,
        uow=lambda read_only=False: uow_class(session_factory, sealer, read_only=read_only),
        keys=keys,
        sealer=sealer,
        identity=IdentityProviders(keys.engine, sealer),
        rate_limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst, clock),
        clock=clock,
        kafka_reachable=lambda: kafka.reachable(settings.kafka_bootstrap_servers),
    )


def inject(handler: Callable[..., None], dependencies: dict) -> Handler:
    """`handler(event, uow, **the dependencies it names)` as the processor calls it: (uow, event).

    A handler's optional `prepare(events, uow, ...)` (see EventProcessor) is wired the same way."""
    wanted = {name: dependencies[name] for name in inspect.signature(handler).parameters if name in dependencies}

    def handle(uow: db.UnitOfWork, event: dict) -> None:
        handler(event, uow, **wanted)

    handle.__name__ = handle.__qualname__ = handler.__name__
    prepare = getattr(handler, "prepare", None)
    if prepare is not None:
        needs = {name: dependencies[name] for name in inspect.signature(prepare).parameters if name in dependencies}
        handle.prepare = lambda uow, events: prepare(events, uow, **needs)
    return handle


def consume(
    platform: Platform, name: str, topics: Iterable[str], handlers: dict[str, Callable[..., None]], **dependencies
) -> EventProcessor:
    """Wire a service's HANDLERS (event type -> handler) into its one event processor.

    Each handler is a plain function `handler(event, uow, ...)`; the platform passes the
    dependencies it names: `clock`, `source`, `settings`, or any given here.
    """
    available = {"clock": platform.clock, "source": platform.source, "settings": platform.settings, **dependencies}
    platform.handlers = {event_type: inject(handler, available) for event_type, handler in handlers.items()}
    platform.processor = EventProcessor(
        name=name,
        source=platform.source,
        uow_factory=platform.uow,
        topics=topics,
        handlers=platform.handlers,
        sealer=platform.sealer,
        tenant_exists=platform.keys.tenant_exists,
        source_registered=platform.keys.source_registered,
    )
    return platform.processor
