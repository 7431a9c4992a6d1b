"""A service's Flask app: the shared request handling (shared/http/web.py), the service's
blueprints and the admin routes every service answers (shared/http/admin.py).

Kept apart from web.py so that admin.py, built from web.py's helpers, and web.py import
nothing of each other's in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Flask

from shared.http import admin, web
from shared.infra.platform import Platform


def create_app(p: Platform, blueprints: Iterable[Blueprint]) -> Flask:
    return web.create_app(p, [*blueprints, admin.blueprint()])
