"""The staff workspace (`/workspace/...`): the API's rules and messages on forms, the
chain a contribution made, imports that are all or nothing, dead letters replayed."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa

from services.intake.entrypoints.web import create_app
from shared.infra.audit import audit_log
from shared.rules.domain import UK
from tests.support import factories
from tests.support.page_checks import assert_page_structure, visible_text
from tests.support.workspace import (
    StaffBrowser,
    engagement_form,
    phone_contribution_form,
    problems_on,
    read_chain,
    record_by_phone,
)


@pytest.fixture
def staff(loop) -> StaffBrowser:
    return StaffBrowser(create_app(loop.chain.intake).test_client(), loop.council.keys["staff"])


def text_of(response) -> str:
    return visible_text(response.get_data(as_text=True))


PAGES = (
    "/workspace",
    "/workspace/engagements/new",
    "/workspace/contributions/new",
    "/workspace/contributions",
    "/workspace/import",
    "/workspace/dead-letters",
)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["en", "cy"])
def test_every_workspace_page_opens_in_english_and_welsh_with_one_heading(staff, path, lang):
    response = staff.get(path, lang=lang)

    assert response.status_code == 200
    assert_page_structure(response.get_data(as_text=True), lang)


def test_a_board_members_session_cannot_open_the_workspace(loop):
    board = StaffBrowser(create_app(loop.chain.intake).test_client(), loop.council.keys["board"])

    assert board.get("/workspace").status_code == 403


class TestEngagements:
    def test_an_engagement_opened_in_the_form_is_listed_and_shown(self, staff):
        opened = staff.post(
            "/workspace/engagements/new", {**engagement_form(title="Library opening hours"), "languages": "en"}
        )
        assert opened.status_code == 303

        shown = text_of(staff.get(opened.headers["Location"]))
        listed = text_of(staff.get("/workspace"))

        assert "Library opening hours" in shown and "Open" in shown
        assert "Library opening hours" in listed

    def test_the_form_shows_the_apis_own_messages_in_an_error_summary(self, staff, loop):
        without_title = {k: v for k, v in factories.engagement_payload().items() if k != "title"}
        api = loop.intake_api().post("/v1/engagements", json=without_title)
        page = staff.post("/workspace/engagements/new", {**engagement_form(title=""), "languages": "en"})

        assert page.status_code == 400
        assert problems_on(page.get_data(as_text=True)) == {
            "title": "Title: " + " ".join(api.get_json()["errors"]["title"])
        }

    def test_a_feedback_date_in_the_past_is_refused_as_the_api_refuses_it(self, staff):
        yesterday = (dt.datetime.now(UK).date() - dt.timedelta(days=1)).isoformat()

        page = staff.post("/workspace/engagements/new", {**engagement_form(feedback_due=yesterday), "languages": "en"})

        assert problems_on(page.get_data(as_text=True)) == {"feedback_due": "Feedback due: Must not be in the past."}

    def test_overdue_engagements_come_first(self, staff, loop):
        soon = loop.engagement(title="Due soon")
        with loop.chain.intake.engine.begin() as connection:  # its feedback date has passed
            connection.execute(
                sa.text("UPDATE engagements SET feedback_due = :day WHERE id = :id"),
                {"day": dt.date(2020, 1, 1), "id": soon["id"]},
            )
        loop.engagement(title="Due later")

        listed = text_of(staff.get("/workspace"))

        assert listed.index("Due soon") < listed.index("Due later")
        assert "Overdue" in listed


class TestRecordingOnSomeonesBehalf:
    def test_a_phone_call_is_read_back_then_saved_and_its_chain_shows_who_and_how(self, staff, loop):
        engagement = loop.engagement()
        form = phone_contribution_form(engagement["id"], text="Bins are missed on Elm Road.")

        checked = text_of(staff.post("/workspace/contributions/new", {**form, "action": "check"}))
        contribution_id = record_by_phone(staff, engagement["id"], text="Bins are missed on Elm Road.")
        chain = read_chain(staff, contribution_id)

        assert "Check your answers" in checked and form["phone"] in checked and "Text message" in checked
        assert "Bins are missed on Elm Road." in chain and "Phone" in chain
        assert loop.status(contribution_id) == "received"

    def test_a_group_speaking_for_many_people_by_letter(self, staff, loop):
        engagement = loop.engagement()

        contribution_id = record_by_phone(staff, engagement["id"], channel="letter", on_behalf_of="40")

        chain = read_chain(staff, contribution_id)
        assert "Letter" in chain and "40" in chain

    def test_consent_to_text_without_a_number_is_refused_with_the_apis_message(self, staff, loop):
        engagement = loop.engagement()
        form = phone_contribution_form(engagement["id"], phone="", action="check")

        page = staff.post("/workspace/contributions/new", form)

        assert page.status_code == 400
        assert problems_on(page.get_data(as_text=True)) == {
            "phone": "Mobile phone number: Required when the preferred channel is sms."
        }

    def test_the_same_person_and_words_again_today_are_flagged_before_saving(self, staff, loop):
        engagement = loop.engagement()
        form = phone_contribution_form(engagement["id"])
        first = staff.post("/workspace/contributions/new", {**form, "action": "save"})
        assert first.status_code == 303

        again = text_of(staff.post("/workspace/contributions/new", {**form, "action": "check"}))
        someone_else = text_of(
            staff.post(
                "/workspace/contributions/new",
                {**form, "name": "Someone Else", "phone": "", "preferred_channel": "none", "action": "check"},
            )
        )

        assert "may already have been recorded" in again
        assert "may already have been recorded" not in someone_else

    def test_saving_is_audited_as_the_signed_in_key(self, staff, loop):
        record_by_phone(staff, loop.engagement()["id"])

        with loop.chain.intake.engine.connect() as connection:
            rows = connection.execute(
                sa.select(audit_log.c.key_id, audit_log.c.status).where(
                    audit_log.c.route == "/workspace/contributions/new"
                )
            ).all()
        assert len(rows) == 2 and {row.status for row in rows} == {200, 303}

    def test_pressing_save_twice_records_it_once(self, staff, loop):
        engagement = loop.engagement()
        form = phone_contribution_form(engagement["id"])
        checked = staff.post("/workspace/contributions/new", {**form, "action": "check"}).get_data(as_text=True)
        save_key = re.search(r'name="save_key" value="([^"]+)"', checked)[1]

        first = staff.post("/workspace/contributions/new", {**form, "save_key": save_key, "action": "save"})
        second = staff.post("/workspace/contributions/new", {**form, "save_key": save_key, "action": "save"})

        assert first.headers["Location"] == second.headers["Location"]
        assert "1 contribution found" in text_of(staff.get("/workspace/contributions"))


class TestFindingContributions:
    def test_filters_find_only_what_they_name(self, staff, loop):
        engagement = loop.engagement()
        by_phone = record_by_phone(staff, engagement["id"])
        by_case_system = loop.contribute(engagement["id"])

        found = text_of(staff.get("/workspace/contributions", channel="phone"))
        everything = text_of(staff.get("/workspace/contributions", engagement_id=engagement["id"]))

        assert "1 contribution found" in found and by_phone in staff.get(
            "/workspace/contributions", channel="phone"
        ).get_data(as_text=True)
        assert by_case_system["reference"] not in found
        assert "2 contributions found" in everything

    def test_overdue_means_past_the_feedback_date_with_no_decision(self, staff, loop):
        engagement = loop.engagement()
        record_by_phone(staff, engagement["id"])
        with loop.chain.intake.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE engagements SET feedback_due = :day WHERE id = :id"),
                {"day": dt.date(2020, 1, 1), "id": engagement["id"]},
            )

        assert "1 contribution found" in text_of(staff.get("/workspace/contributions", overdue="yes"))

    def test_another_councils_engagement_is_as_unknown(self, staff, loop):
        theirs = loop.engagement(tenant=loop.other)

        page = staff.get("/workspace/contributions", engagement_id=theirs["id"])

        assert page.status_code == 400
        assert "engagement_id" in problems_on(page.get_data(as_text=True))

    def test_the_chain_shows_the_decision_and_the_message_with_its_receipt(self, staff, loop):
        engagement = loop.engagement()
        contribution_id = record_by_phone(
            staff, engagement["id"], preferred_channel="none", phone="", consent_to_contact="no"
        )
        contribution = {"id": contribution_id}
        loop.decide([contribution_id], outcome="adopted")
        loop.send_receipt(
            {**contribution, "participant_id": _participant_of(loop, contribution_id)},
            "delivered",
            dt.datetime.now(dt.UTC),
            id=str(uuid.uuid4()),
        )

        chain = read_chain(staff, contribution_id)

        assert "Adopted" in chain
        assert "Delivered" in chain

    def test_another_councils_contribution_is_not_found(self, loop):
        theirs = StaffBrowser(create_app(loop.chain.intake).test_client(), loop.other.keys["staff"])
        ours = loop.contribute(loop.engagement()["id"])

        assert theirs.get(f"/workspace/contributions/{ours['id']}").status_code == 404


def _participant_of(loop, contribution_id: str) -> str:
    with loop.chain.intake.engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT participant_id FROM contributions WHERE id = :id"), {"id": contribution_id}
        ).scalar_one()


class TestImport:
    def csv(self, *rows: dict) -> bytes:
        import csv
        import io

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode()

    def upload(self, staff, engagement_id: str, content: bytes):
        import io

        return staff.post(
            "/workspace/import",
            {"engagement_id": engagement_id, "channel": "paper", "file": (io.BytesIO(content), "views.csv")},
            content_type="multipart/form-data",
        )

    def test_the_template_names_every_column(self, staff):
        template = staff.get("/workspace/import/template.csv")

        assert template.headers["Content-Type"].startswith("text/csv")
        assert template.get_data(as_text=True).startswith("name,email,phone")

    def test_a_good_file_is_imported_and_every_row_reported(self, staff, loop):
        engagement = loop.engagement()

        page = self.upload(staff, engagement["id"], self.csv(factories.paper_row(), factories.paper_row()))

        assert page.status_code == 200
        assert "File imported" in text_of(page) and text_of(page).count("Accepted") == 2
        assert "2 contributions found" in text_of(staff.get("/workspace/contributions", engagement_id=engagement["id"]))

    def test_a_file_larger_than_an_api_body_is_imported(self, staff, loop):
        engagement = loop.engagement()
        rows = [factories.paper_row(text=f"Row {n}: " + "the bus is late again. " * 300) for n in range(12)]
        content = self.csv(*rows)
        assert len(content) > 64 * 1024

        page = self.upload(staff, engagement["id"], content)

        assert page.status_code == 200 and "File imported" in text_of(page)

    def test_one_bad_row_imports_nothing_and_says_why(self, staff, loop):
        engagement = loop.engagement()

        page = self.upload(staff, engagement["id"], self.csv(factories.paper_row(), factories.paper_row(type="rant")))

        assert "Nothing was imported" in text_of(page)
        assert "type: Must be one of" in text_of(page)
        assert "0 contributions found" in text_of(staff.get("/workspace/contributions", engagement_id=engagement["id"]))


class TestDeadLetters:
    def test_a_dead_letter_is_listed_read_and_a_replay_that_still_fails_says_why(self, staff, loop):
        unknown = {"id": str(uuid.uuid4()), "participant_id": str(uuid.uuid4())}
        loop.send_receipt(unknown, "delivered", dt.datetime.now(dt.UTC), id=str(uuid.uuid4()))
        [letter] = loop.dead_letters()

        listed = text_of(staff.get("/workspace/dead-letters"))
        read = text_of(staff.get(f"/workspace/dead-letters/{letter.id}", lang="cy"))
        replayed = staff.post(f"/workspace/dead-letters/{letter.id}/replay", {})

        assert "unknown contribution" in listed
        assert "unknown contribution" in read and "Ailchwarae" in read
        assert replayed.status_code == 422
        assert "unknown contribution" in problems_on(replayed.get_data(as_text=True))["replay"]

    def test_another_councils_dead_letter_is_not_found(self, loop):
        loop.send_receipt(
            {"id": str(uuid.uuid4()), "participant_id": str(uuid.uuid4())},
            "sent",
            dt.datetime.now(dt.UTC),
            id=str(uuid.uuid4()),
        )
        [letter] = loop.dead_letters()
        theirs = StaffBrowser(create_app(loop.chain.intake).test_client(), loop.other.keys["staff"])

        assert theirs.get(f"/workspace/dead-letters/{letter.id}").status_code == 404


class TestChangingAndClosing:
    def test_an_engagement_is_changed_in_its_form_and_the_other_services_hear_of_it(self, staff, loop):
        engagement = loop.engagement(title="Old title")
        form = staff.get(f"/workspace/engagements/{engagement['id']}/edit")
        assert "Old title" in form.get_data(as_text=True)

        saved = staff.post(
            f"/workspace/engagements/{engagement['id']}/edit",
            {**engagement_form(title="New title"), "languages": ["en", "cy"]},
        )
        loop.relay.deliver()

        assert saved.status_code == 303
        shown = text_of(staff.get(saved.headers["Location"]))
        assert "New title" in shown and "Welsh (Cymraeg)" in shown
        assert loop.intake_api().get(f"/v1/engagements/{engagement['id']}").get_json()["languages"] == ["en", "cy"]
        for service in (loop.chain.decisions, loop.chain.notifier):  # their copies, by engagement.updated
            with service.engine.connect() as connection:
                title = connection.execute(
                    sa.text("SELECT title FROM engagements_view WHERE id = :id"), {"id": engagement["id"]}
                ).scalar_one()
            assert title == "New title"

    def test_no_language_offered_is_refused_with_the_apis_message(self, staff):
        page = staff.post("/workspace/engagements/new", engagement_form(languages=[]))

        assert page.status_code == 400
        assert problems_on(page.get_data(as_text=True)) == {
            "languages": "Languages offered: Length must be between 1 and 20."
        }

    def test_a_closed_engagement_is_listed_last_and_can_no_longer_be_changed(self, staff, loop):
        closing = loop.engagement(title="Closing soon")
        loop.engagement(title="Still open")

        closed = staff.post(f"/workspace/engagements/{closing['id']}/close", {})
        changed = staff.post(f"/workspace/engagements/{closing['id']}/edit", {**engagement_form(), "languages": "en"})

        assert closed.status_code == 303
        listed = text_of(staff.get("/workspace"))
        assert listed.index("Still open") < listed.index("Closing soon")
        assert problems_on(changed.get_data(as_text=True)) == {
            "engagement_id": "Engagement: This engagement is closed."
        }
