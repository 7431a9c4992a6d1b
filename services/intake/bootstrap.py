"""Wires intake together. Tests call bootstrap() with their own engine, keys or clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.intake.entrypoints.api import api
from services.intake.entrypoints.pages import pages_blueprints
from services.intake.entrypoints.public_pages import public_form
from services.intake.entrypoints.schemas import ContributionSchema
from services.intake.service_layer import handlers
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.http import factory, pages
from shared.infra.auth import KeyStore
from shared.infra.platform import Platform, build_platform, consume
from shared.infra.settings import Settings
from shared.infra.tables import utcnow
from shared.rules.constants import DECISIONS_TOPIC, NOTIFICATIONS_TOPIC, SUBMISSIONS_TOPIC

SERVICE = "intake"
# Submissions from case systems; what became of contributions, for the staff dashboard.
INBOUND_TOPICS = [SUBMISSIONS_TOPIC, DECISIONS_TOPIC, NOTIFICATIONS_TOPIC]


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: sa.Engine | None = None,
    keys: KeyStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Platform:
    platform = build_platform(
        SERVICE, settings or Settings.from_env(), IntakeUnitOfWork, engine=engine, keys=keys, clock=clock
    )
    # "intake-submissions" kept when outcomes were added: processed events and dead letters name it
    consume(platform, "intake-submissions", INBOUND_TOPICS, handlers.HANDLERS, submission_schema=ContributionSchema())
    return platform


def create_app(platform: Platform | None = None) -> Flask:
    platform = platform or bootstrap()
    app = factory.create_app(platform, [api, pages.assets_blueprint(), *pages_blueprints(platform), public_form])
    if platform.settings.proxy_hops:  # the public form limits per address: the one the first proxy saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=platform.settings.proxy_hops)
    # Staff sign in to the dashboard; the cookie is HTTPS-only wherever the deployment is.
    pages.install_sessions(
        app,
        platform.settings.link_signing_secret,
        secure=platform.settings.public_base_url.startswith("https://"),
    )
    return app
