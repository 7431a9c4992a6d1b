"""`outcomes consume decisions`: decisions' consumer of engagements, contributions, notifications and erasures, with
the overdue-feedback and unresolved-link checks beside it."""

from __future__ import annotations

from services.decisions.bootstrap import INBOUND_TOPICS, SERVICE, bootstrap, scheduled
from shared.infra.settings import Settings
from shared.messaging import runners


def main(settings: Settings) -> int:
    return runners.consume(SERVICE, settings, bootstrap, INBOUND_TOPICS, scheduled)
