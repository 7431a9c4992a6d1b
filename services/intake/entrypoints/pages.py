"""Intake's pages: the staff dashboard, for staff signed in with their key.

The dashboard lives here because intake holds the equality-monitoring answers, and they
never leave it; what became of each contribution comes to intake as events instead.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, g, request
from marshmallow import ValidationError

from services.intake.entrypoints.copy import COPY
from services.intake.entrypoints.schemas import DashboardQuerySchema
from services.intake.entrypoints.workspace_pages import workspace
from services.intake.service_layer import dashboard as dashboards
from shared.http.i18n import long_date
from shared.http.pages import Pages, sign_in_blueprint, signed_in
from shared.http.web import reads
from shared.infra.platform import Platform
from shared.rules.constants import CONTRIBUTION_TYPES, OUTCOMES, ROLE_STAFF
from shared.rules.domain import UK, NotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "pages"
HOME = "/dashboard"
FILTERS = ("engagement_id", "service_area", "from", "to")
# Each filter field's error message, by the field the schema names.
FILTER_ERRORS = {
    "engagement_id": "dashboard.error.engagement",
    "service_area": "dashboard.error.service_area",
    "from": "dashboard.error.from",
    "to": "dashboard.error.to",
}

_query = DashboardQuerySchema()


def pages_blueprints(platform: Platform) -> list[Blueprint]:
    """The dashboard, the staff workspace and the sign-in they need."""
    pages = Pages(TEMPLATES, COPY)
    staff_pages = Blueprint("intake_pages", __name__)

    @staff_pages.get(HOME)
    @signed_in(pages, platform.keys.active, ROLE_STAFF)
    def dashboard():
        return _dashboard(pages, platform)

    return [sign_in_blueprint(pages, platform.keys.authenticate, HOME), staff_pages, workspace]


def _dashboard(pages: Pages, platform: Platform):
    """The filters as the form sent them; the numbers, or what is wrong with the filters."""
    tenant = g.page_principal.tenant
    form = {name: request.args.get(name, "") for name in FILTERS}
    choices = dashboards.filter_choices(reads(), tenant)
    problems: list[tuple[str, str]] = []
    numbers = None
    try:
        args = _query.load(form)
        if args["service_area"] and args["service_area"] not in choices["service_areas"]:
            raise ValidationError("Unknown service area.", "service_area")
        numbers = dashboards.dashboard(reads(), tenant, **args, today=platform.clock().astimezone(UK).date())
    except ValidationError as invalid:
        problems = [(field, FILTER_ERRORS[field]) for field in FILTERS if field in invalid.messages]
    except NotFound:  # an engagement of another council's, or none: as if it were not in the list
        problems = [("engagement_id", FILTER_ERRORS["engagement_id"])]
    return pages.render(
        "dashboard.html.j2",
        status=400 if problems else 200,
        form=form,
        choices=choices,
        problems=problems,
        numbers=numbers,
        types=CONTRIBUTION_TYPES,
        outcome_columns=(*OUTCOMES, "none yet"),
        long_date=long_date,
    )
