"""intake's web app: the API, the staff workspace and dashboard, the public form.

Made here, not in bootstrap(), so the consumer and relay processes never load Flask and the
pages (they run bootstrap() alone)."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.intake.bootstrap import bootstrap
from services.intake.entrypoints.api import api
from services.intake.entrypoints.pages import pages_blueprints
from services.intake.entrypoints.public_pages import public_form
from shared.http import factory, pages
from shared.infra.platform import Platform


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
