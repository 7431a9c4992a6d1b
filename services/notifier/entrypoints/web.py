"""The notifier's web app: the API, provider callbacks and the participants' preference pages.

Made here, not in bootstrap(), so the consumer, relay and sender processes never load Flask and
the pages (they run bootstrap() alone)."""

from __future__ import annotations

from flask import Flask

from services.notifier.bootstrap import NotifierParts, bootstrap
from services.notifier.entrypoints.api import api
from services.notifier.entrypoints.pages import participant_pages
from shared.http import factory, pages
from shared.infra.platform import Platform


def create_app(platform: Platform | None = None) -> Flask:
    platform = platform or bootstrap()
    parts: NotifierParts = platform.extensions["notifier"]
    app = factory.create_app(platform, [api, pages.assets_blueprint(), participant_pages(parts.links)])
    app.extensions.update(platform.extensions)
    return app
