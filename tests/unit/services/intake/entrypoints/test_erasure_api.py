"""DELETE /v1/participants/{id}: staff erase a person at their request."""

from __future__ import annotations

import pytest

from shared.rules.constants import ERASED_TEXT
from tests.support import factories
from tests.unit.services.intake.entrypoints.test_api import assert_problem


@pytest.fixture
def contribution(intake_api, engagement) -> dict:
    person = factories.participant_payload(external_ref="CASE-77", equality=factories.equality_answers())
    response = intake_api.post(
        "/v1/contributions", json=factories.contribution_payload(engagement["id"], participant=person)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_staff_erase_a_participant_and_reading_it_shows_erased_with_no_contact_details(intake_api, contribution):
    path = f"/v1/participants/{contribution['participant_id']}"

    response = intake_api.delete(path)

    assert (response.status_code, response.get_data()) == (204, b"")
    shown = intake_api.get(path).json
    assert shown["erased_at"] is not None
    assert (shown["name"], shown["email"], shown["phone"], shown["external_ref"]) == (None, None, None, None)
    assert (shown["preferred_channel"], shown["consent_to_contact"]) == ("none", False)
    words = intake_api.get(f"/v1/contributions/{contribution['id']}").json
    assert (words["text"], words["reference"]) == (ERASED_TEXT, contribution["reference"])


def test_erasing_again_is_204_again(intake_api, contribution):
    path = f"/v1/participants/{contribution['participant_id']}"

    assert [intake_api.delete(path).status_code for _ in range(2)] == [204, 204]


def test_an_unknown_or_another_councils_participant_is_404(intake_api, contribution, other_council):
    assert_problem(intake_api.delete("/v1/participants/no-such-person"), 404)
    elsewhere = intake_api.as_("staff", tenant=other_council)

    assert_problem(elsewhere.delete(f"/v1/participants/{contribution['participant_id']}"), 404)

    assert intake_api.get(f"/v1/participants/{contribution['participant_id']}").json["erased_at"] is None


@pytest.mark.parametrize("role", ["case-system", "board", "admin"])
def test_only_staff_may_erase(intake_api, contribution, role):
    response = intake_api.as_(role).delete(f"/v1/participants/{contribution['participant_id']}")

    assert_problem(response, 403)
    assert intake_api.get(f"/v1/participants/{contribution['participant_id']}").json["erased_at"] is None


def test_a_contribution_naming_an_erased_participant_is_refused(intake_api, engagement, contribution):
    intake_api.delete(f"/v1/participants/{contribution['participant_id']}")
    payload = factories.contribution_payload(engagement["id"], participant_id=contribution["participant_id"])
    del payload["participant"]

    assert_problem(intake_api.as_("case-system").post("/v1/contributions", json=payload), 422, "participant_id")
