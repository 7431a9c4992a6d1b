"""`outcomes relay decisions`: decisions's outbox relay, publishing what its transactions stored."""

from __future__ import annotations

from services.decisions.bootstrap import SERVICE, bootstrap
from shared.infra.settings import Settings
from shared.messaging import runners


def main(settings: Settings) -> int:
    return runners.relay(SERVICE, settings, bootstrap)
