"""`outcomes consume notifier`: the notifier's consumer of participants, engagements, contributions and
decisions, with the sender beside it."""

from __future__ import annotations

from services.notifier.bootstrap import INBOUND_TOPICS, SERVICE, bootstrap, scheduled
from shared.infra.settings import Settings
from shared.messaging import runners


def main(settings: Settings) -> int:
    return runners.consume(SERVICE, settings, bootstrap, INBOUND_TOPICS, scheduled)
