"""The staff workspace on each real database (SQLite and PostgreSQL): what a page records
is what the API reads back, and one council never sees another's."""

from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa

from services.intake.entrypoints.web import create_app
from shared.infra.audit import audit_log
from shared.infra.tables import outbox
from shared.rules.domain import UK
from tests.support import factories
from tests.support.workspace import (
    StaffBrowser,
    engagement_form,
    phone_contribution_form,
    problems_on,
    read_chain,
    record_by_phone,
)


def staff_of(intake, tenant) -> StaffBrowser:
    return StaffBrowser(create_app(intake).test_client(), tenant.keys["staff"])


def test_a_phone_contribution_recorded_in_the_workspace_is_the_apis_contribution(
    intake, council, intake_api, engagement
):
    staff = staff_of(intake, council)

    contribution_id = record_by_phone(staff, engagement["id"], on_behalf_of="12")

    through_api = intake_api.get(f"/v1/contributions/{contribution_id}").json
    assert (through_api["channel"], through_api["on_behalf_of"], through_api["status"]) == ("phone", 12, "received")
    assert through_api["reference"] in read_chain(staff, contribution_id)


def test_the_duplicate_warning_counts_today_by_the_uk_date(intake, council, engagement):
    staff = staff_of(intake, council)
    form = phone_contribution_form(engagement["id"])
    assert staff.post("/workspace/contributions/new", {**form, "action": "save"}).status_code == 303
    with intake.engine.begin() as connection:  # the first one was in fact received yesterday (UK)
        yesterday = dt.datetime.combine(dt.datetime.now(UK).date(), dt.time(0), tzinfo=UK) - dt.timedelta(minutes=1)
        connection.execute(sa.text("UPDATE contributions SET received_at = :at"), {"at": yesterday.astimezone(dt.UTC)})

    again = staff.post("/workspace/contributions/new", {**form, "action": "check"}).get_data(as_text=True)

    assert "may already have been recorded" not in again


def test_changing_and_closing_an_engagement_is_announced_and_audited(intake, council, intake_api, engagement):
    staff = staff_of(intake, council)

    changed = staff.post(
        f"/workspace/engagements/{engagement['id']}/edit", engagement_form(title="Changed", languages=["en", "cy"])
    )
    closed = staff.post(f"/workspace/engagements/{engagement['id']}/close", {})

    assert (changed.status_code, closed.status_code) == (303, 303)
    after = intake_api.get(f"/v1/engagements/{engagement['id']}").json
    assert (after["title"], after["languages"], after["closed_at"] is not None) == ("Changed", ["en", "cy"], True)
    with intake.engine.connect() as connection:
        announced = connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
        audited = connection.execute(
            sa.select(audit_log.c.route, audit_log.c.action).where(audit_log.c.route.like("/workspace/engagements/%"))
        ).all()
    assert announced == 3  # created, changed, closed
    assert sorted(audited) == [
        ("/workspace/engagements/<engagement_id>/close", "update"),
        ("/workspace/engagements/<engagement_id>/edit", "update"),
    ]


def test_an_import_with_a_refused_row_leaves_nothing_behind(intake, council, intake_api, engagement):
    staff = staff_of(intake, council)
    rows = [factories.paper_row(), factories.paper_row(consent_to_contact="perhaps")]
    content = io.StringIO()
    writer = csv.DictWriter(content, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

    page = staff.post(
        "/workspace/import",
        {
            "engagement_id": engagement["id"],
            "channel": "paper",
            "file": (io.BytesIO(content.getvalue().encode()), "a.csv"),
        },
        content_type="multipart/form-data",
    )

    assert "Nothing was imported" in page.get_data(as_text=True)
    assert intake_api.get(f"/v1/contributions?engagement_id={engagement['id']}").json["total"] == 0


def test_overdue_and_language_filters_on_this_database(intake, council, engagement):
    staff = staff_of(intake, council)
    record_by_phone(staff, engagement["id"], language="cy")
    record_by_phone(staff, engagement["id"])
    with intake.engine.begin() as connection:
        connection.execute(sa.text("UPDATE engagements SET feedback_due = :day"), {"day": dt.date(2020, 1, 1)})

    welsh = staff.get("/workspace/contributions", language="cy", overdue="yes").get_data(as_text=True)

    assert "1 contribution found" in welsh


def test_another_council_finds_none_of_it(intake, council, other_council, engagement):
    ours = staff_of(intake, council)
    contribution_id = record_by_phone(ours, engagement["id"])
    theirs = staff_of(intake, other_council)

    assert theirs.get(f"/workspace/contributions/{contribution_id}").status_code == 404
    assert theirs.get(f"/workspace/engagements/{engagement['id']}").status_code == 404
    assert theirs.post(f"/workspace/engagements/{engagement['id']}/close", {}).status_code == 404
    assert "0 contributions found" in theirs.get("/workspace/contributions").get_data(as_text=True)
    search = theirs.get("/workspace/contributions", engagement_id=engagement["id"])
    assert search.status_code == 400 and "engagement_id" in problems_on(search.get_data(as_text=True))
