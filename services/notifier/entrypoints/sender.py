"""`outcomes send`: the notifier's sender on its own (the consumer process runs one too)."""

from __future__ import annotations

from services.notifier.bootstrap import SERVICE, bootstrap, scheduled
from shared.infra.settings import Settings
from shared.messaging import runners


def main(settings: Settings) -> int:
    return runners.run_scheduled(SERVICE, settings, bootstrap, scheduled, doing="sending notifications")
