"""Outcome chains exported from decisions' database, for staff and auditors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from ops import cli
from services.decisions.entrypoints.export import write_chains
from shared.rules.domain import NotFound
from tests.support import factories
from tests.unit.services.decisions.actions import add_change, link, move, record


def export(decisions, tenant: str, fmt: str, engagement_id: str | None = None) -> str:
    out = io.StringIO()
    write_chains(decisions, out, tenant=tenant, engagement_id=engagement_id, fmt=fmt)
    return out.getvalue()


@pytest.fixture
def story(decisions, board_actor, board_id, new_contribution, known_engagement):
    """One contribution linked to two decisions (one with a budget change done), one waiting."""
    participant = factories.participant_payload()
    told = new_contribution(participant=participant, text="=Please open on Saturdays.")
    waiting = new_contribution()
    saturdays, _, _ = record(decisions, board_actor, board_id, title="Saturday opening")
    lunches, _, _ = record(
        decisions, board_actor, board_id, title="Hot lunches", outcome="not_adopted", rationale="No kitchen."
    )
    link(decisions, board_actor, saturdays.id, told["id"], influence="Weekends are lonely: Saturdays first.")
    link(decisions, board_actor, lunches.id, told["id"], influence="Asked about lunch too.")
    change = add_change(decisions, board_actor, saturdays.id, kind="budget", description="Saturday staff")
    move(decisions, board_actor, change.id, "implemented", note="Running since March.")
    return {"told": told, "waiting": waiting, "participant": participant}


def test_csv_has_one_row_per_link_and_a_row_for_what_is_still_waiting(decisions, council, story):
    rows = list(csv.DictReader(io.StringIO(export(decisions, council.slug, "csv"))))

    told = [r for r in rows if r["contribution_id"] == story["told"]["id"]]
    assert sorted((r["decision_title"], r["outcome"], r["influence"]) for r in told) == [
        ("Hot lunches", "not_adopted", "Asked about lunch too."),
        ("Saturday opening", "partly_adopted", "Weekends are lonely: Saturdays first."),
    ]
    assert {r["reference"] for r in told} == {story["told"]["reference"]}
    assert told[0]["resource_changes"] == "budget: Saturday staff (implemented)"
    assert told[0]["text"] == "'=Please open on Saturdays."  # a spreadsheet will not run it as a formula
    (waiting,) = [r for r in rows if r["contribution_id"] == story["waiting"]["id"]]
    assert (waiting["status"], waiting["decision_id"], waiting["outcome"]) == ("received", "", "")


def test_json_is_each_chain_exactly_as_the_api_answers_it(decisions, decisions_api, council, story):
    chains = json.loads(export(decisions, council.slug, "json"))

    assert [c["contribution"]["id"] for c in chains] == [story["told"]["id"], story["waiting"]["id"]]
    for chain in chains:
        answered = decisions_api.get(f"/v1/contributions/{chain['contribution']['id']}/outcome-chain")
        assert chain == answered.json


def test_no_contact_details_are_exported(decisions, council, story):
    for fmt in ("csv", "json"):
        exported = export(decisions, council.slug, fmt)
        for detail in ("name", "email", "phone"):
            assert story["participant"][detail] not in exported


def test_one_engagement_only_and_never_another_councils(
    decisions, council, other_council, story, intake_api, new_contribution
):
    elsewhere = intake_api.post("/v1/engagements", json=factories.engagement_payload()).json
    new_contribution(elsewhere["id"])
    told_engagement = story["told"]["engagement_id"]

    chains = json.loads(export(decisions, council.slug, "json", told_engagement))
    assert {c["contribution"]["engagement_id"] for c in chains} == {told_engagement}
    assert len(json.loads(export(decisions, council.slug, "json"))) == 3
    assert json.loads(export(decisions, other_council.slug, "json")) == []
    with pytest.raises(NotFound):
        export(decisions, other_council.slug, "json", told_engagement)


def test_the_command_line_writes_the_file(decisions, council, story, tmp_path, capsys):
    target = tmp_path / "chains.csv"
    assert cli.main(["export", "chains", "--tenant", council.slug, "--format", "csv", "--output", str(target)]) == 0
    assert story["told"]["reference"] in target.read_text()
    assert "exported 2 outcome chain(s)" in capsys.readouterr().err
