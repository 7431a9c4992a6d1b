"""Contributions gathered on paper or at meetings, imported from a CSV file by staff."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ops import cli
from services.intake.entrypoints import csv_import
from shared.infra.tables import outbox
from shared.rules.constants import CONTRIBUTION_RECEIVED
from shared.rules.domain import UK
from tests.support import factories


@pytest.fixture
def write_csv(tmp_path):
    def write(rows: list[dict], name: str = "forms.csv"):
        path = tmp_path / name
        path.write_bytes(factories.contributions_csv(rows))
        return path

    return write


def run_import(intake, council, engagement, path, **kwargs) -> csv_import.ImportReport:
    return csv_import.import_file(intake, path, tenant=council.slug, engagement_id=engagement["id"], **kwargs)


def announced_contributions(intake) -> list[str]:
    with intake.engine.connect() as connection:
        payloads = connection.execute(sa.select(outbox.c.payload).where(outbox.c.topic == "outcomes.contributions"))
        return [p for (p,) in payloads if CONTRIBUTION_RECEIVED in bytes(p).decode()]


def contributions(intake_api, engagement) -> list[dict]:
    return intake_api.get(f"/v1/contributions?engagement_id={engagement['id']}&per_page=200").json["items"]


def test_a_good_file_is_imported_and_each_contribution_announced_as_an_api_submission_would_be(
    intake, intake_api, council, engagement, write_csv
):
    rows = [
        factories.paper_row(),
        factories.paper_row(name="Riverside Carers Group", type="recommendation", on_behalf_of="14", channel="meeting"),
        factories.paper_row(email="", preferred_channel="none", consent_to_contact="no", type="compliment"),
        factories.paper_row(email="", phone="07700 900123", preferred_channel="sms", language="cy", format="easy_read"),
    ]
    report = run_import(intake, council, engagement, write_csv(rows))

    assert (report.rows, report.imported, report.already_imported, report.problems) == (4, 4, 0, {})
    imported = {c["text"]: c for c in contributions(intake_api, engagement)}
    assert set(imported) == {row["text"] for row in rows}
    group = imported[rows[1]["text"]]
    assert (group["channel"], group["on_behalf_of"], group["type"]) == ("meeting", 14, "recommendation")
    assert imported[rows[0]["text"]]["channel"] == "paper"
    # The date on the form, read as UK time (in summer, 23:00 UTC the day before), not the day it was typed in.
    submitted_at = dt.datetime.fromisoformat(imported[rows[0]["text"]]["submitted_at"])
    assert submitted_at.astimezone(UK).date().isoformat() == rows[0]["submitted_at"]
    assert all(c["reference"].startswith("WILTSHIRE-") for c in imported.values())
    assert len(announced_contributions(intake)) == 4


def test_every_bad_row_is_reported_with_its_row_number_and_nothing_is_imported(
    intake, intake_api, council, engagement, write_csv
):
    rows = [
        factories.paper_row(),  # row 2: fine
        factories.paper_row(email="not-an-address"),  # row 3
        factories.paper_row(text="", type="opinion"),  # row 4
        factories.paper_row(email=""),  # row 5: consented to email, but gave none
        factories.paper_row(on_behalf_of="a dozen"),  # row 6
        factories.paper_row(),  # row 7: fine
    ]
    report = run_import(intake, council, engagement, write_csv(rows))

    assert report.imported == 0
    assert report.problems == {
        3: {"email": ["Not a valid email address."]},
        4: {
            "type": ["Must be one of: view, recommendation, complaint, compliment, question."],
            "text": ["Missing data for required field."],
        },
        5: {"email": ["Required when the preferred channel is email."]},
        6: {"on_behalf_of": ["Not a valid integer."]},
    }
    assert contributions(intake_api, engagement) == []
    assert announced_contributions(intake) == []


def test_addresses_are_imported_for_letters_and_numbers_read_as_one_number(
    intake, intake_api, council, engagement, write_csv
):
    by_post = factories.paper_row(
        email="",
        preferred_channel="post",
        language="cy",
        format="easy_read",
        address_line_1="Fflat 2, 14 Heol y Castell",
        address_line_2="",
        address_line_3="Abertawe",
        postcode="sa1 1nw",
    )
    by_sms = factories.paper_row(email="", phone="+44 (0)7700 900123", preferred_channel="sms")
    report = run_import(intake, council, engagement, write_csv([by_post, by_sms]))

    assert (report.imported, report.problems) == (2, {})
    people = {
        c["text"]: intake_api.as_("staff").get(f"/v1/participants/{c['participant_id']}").json
        for c in contributions(intake_api, engagement)
    }
    posted = people[by_post["text"]]
    assert (posted["preferred_channel"], posted["address_lines"], posted["postcode"]) == (
        "post",
        ["Fflat 2, 14 Heol y Castell", "Abertawe"],
        "SA1 1NW",
    )
    assert people[by_sms["text"]]["phone"] == "+447700900123"


def test_an_address_or_number_that_will_not_do_is_reported_on_its_column(intake, council, engagement, write_csv):
    rows = [
        factories.paper_row(email="", preferred_channel="post", address_line_1="1 High Street", postcode=""),
        factories.paper_row(email="", preferred_channel="post", address_line_1="1 High St", postcode="CF10"),
        factories.paper_row(email="", phone="029 2087 2087", preferred_channel="sms"),
        factories.paper_row(phone="call my daughter"),
    ]
    report = run_import(intake, council, engagement, write_csv(rows))

    assert report.imported == 0
    assert report.problems == {
        2: {"postcode": ["Required when the preferred channel is post."]},
        3: {"postcode": ["Enter a UK postcode, like SW1A 1AA."]},
        4: {"phone": ["This is not a mobile number: text messages need a mobile number, like 07700 900123."]},
        5: {"phone": ["Enter a phone number, like 07700 900123 or +44 7700 900123."]},
    }


def test_a_date_in_the_future_is_refused_on_its_row(intake, council, engagement, write_csv):
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    report = run_import(intake, council, engagement, write_csv([factories.paper_row(submitted_at=tomorrow)]))
    assert report.problems == {2: {"submitted_at": ["Must not be in the future."]}}


def test_an_import_resumed_after_a_crash_imports_only_what_is_missing_and_nothing_twice(
    intake, intake_api, council, engagement, write_csv
):
    path = write_csv([factories.paper_row() for _ in range(5)])

    def crash_after_two(total):
        done = []

        def advance():
            done.append(1)
            if len(done) == 2:
                raise KeyboardInterrupt  # the operator's laptop lid closes

        return advance

    with pytest.raises(KeyboardInterrupt):
        run_import(intake, council, engagement, path, progress=crash_after_two)
    assert len(contributions(intake_api, engagement)) == 2

    resumed = run_import(intake, council, engagement, path)
    assert (resumed.imported, resumed.already_imported) == (3, 2)
    again = run_import(intake, council, engagement, path)
    assert (again.imported, again.already_imported) == (0, 5)
    assert len(contributions(intake_api, engagement)) == 5
    assert len(announced_contributions(intake)) == 5


def test_the_same_file_into_another_engagement_is_refused_row_by_row(
    intake, intake_api, council, engagement, write_csv
):
    path = write_csv([factories.paper_row()])
    run_import(intake, council, engagement, path)
    other = intake_api.post("/v1/engagements", json=factories.engagement_payload()).json
    report = csv_import.import_file(intake, path, tenant=council.slug, engagement_id=other["id"])
    assert report.problems == {2: {"_row": ["Already imported from this file with another engagement or channel."]}}


def test_a_file_with_unknown_columns_is_refused_whole(intake, council, engagement, write_csv):
    with pytest.raises(csv_import.UnreadableFile, match="emial"):
        run_import(intake, council, engagement, write_csv([{"emial": "a@example.org", "text": "Hello"}]))


def test_the_command_line_reports_each_bad_row_and_imports_nothing(
    intake, intake_api, council, engagement, write_csv, capsys
):
    path = write_csv([factories.paper_row(), factories.paper_row(email="nope")])
    code = cli.main(["import", "contributions", str(path), "--tenant", council.slug, "--engagement", engagement["id"]])
    err = capsys.readouterr().err
    assert code == 1
    assert "row 3: email: Not a valid email address." in err
    assert "nothing imported: 1 of 2 rows need fixing" in err

    path = write_csv([factories.paper_row()], name="fixed.csv")
    code = cli.main(["import", "contributions", str(path), "--tenant", council.slug, "--engagement", engagement["id"]])
    assert code == 0
    assert "imported 1 contribution(s)" in capsys.readouterr().out
