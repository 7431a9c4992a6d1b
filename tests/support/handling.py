"""Apply one event with a service's own handler, wired by its bootstrap (as cosmicpython's
tests do through `bus.handle`): no broker, no processor, just the use case and its unit of work."""

from __future__ import annotations

from shared.infra.platform import Platform
from shared.messaging import events


def handle(platform: Platform, event: dict) -> None:
    """The event as a consumer reads it (parsed from its JSON), applied and committed."""
    parsed = events.parse(events.dumps(event))
    with platform.uow() as uow:
        platform.handlers[parsed["type"]](uow, parsed)
        uow.commit()
