"""decisions' web app: the API, the board's pages, the public status and outcome pages.

Made here, not in bootstrap(), so the consumer and relay processes never load Flask and the
pages (they run bootstrap() alone)."""

from __future__ import annotations

from flask import Flask

from services.decisions.bootstrap import bootstrap
from services.decisions.entrypoints.api import api
from services.decisions.entrypoints.board_pages import board_blueprints
from services.decisions.entrypoints.public_pages import public_blueprint
from services.decisions.entrypoints.status_page import status_blueprint
from shared.http import factory, pages
from shared.infra.links import Links
from shared.infra.platform import Platform


def create_app(platform: Platform | None = None) -> Flask:
    platform = platform or bootstrap()
    # Links are only read here (the notifier makes them); the status page is where they lead.
    links = Links(
        platform.settings.link_signing_secret,
        status_base_url=platform.settings.public_base_url,
        clock=platform.clock,
    )
    app = factory.create_app(
        platform, [api, pages.assets_blueprint(), status_blueprint(links), public_blueprint(), *board_blueprints()]
    )
    # The board's pages sign in with a key once; the session cookie is sent only over HTTPS when served so.
    settings = platform.settings
    pages.install_sessions(app, settings.link_signing_secret, secure=settings.public_base_url.startswith("https://"))
    return app
