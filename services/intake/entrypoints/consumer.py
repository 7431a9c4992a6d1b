"""`outcomes consume intake`: case systems' submissions from `intake.submissions`, as
contributions, and what became of contributions, from `outcomes.decisions` and
`outcomes.notifications` (the handlers are in service_layer/handlers.py)."""

from __future__ import annotations

from services.intake.bootstrap import INBOUND_TOPICS, SERVICE, bootstrap
from shared.infra.settings import Settings
from shared.messaging import runners


def main(settings: Settings) -> int:
    return runners.consume(SERVICE, settings, bootstrap, INBOUND_TOPICS)
