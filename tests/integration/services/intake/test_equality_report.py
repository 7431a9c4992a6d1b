"""Equality monitoring is reported to staff only in aggregate, with small numbers hidden."""

from __future__ import annotations

from tests.support import factories


def submit_with_answers(api, engagement_id: str, answers: dict) -> None:
    body = factories.contribution_payload(engagement_id, participant=factories.participant_payload(equality=answers))
    assert api.as_("case-system").post("/v1/contributions", json=body).status_code == 201


def test_staff_see_counts_per_answer_with_counts_under_five_hidden(intake_api, engagement):
    for _ in range(6):
        submit_with_answers(intake_api, engagement["id"], {"age_band": "75+", "carer": "yes"})
    for _ in range(2):
        submit_with_answers(intake_api, engagement["id"], {"age_band": "18-24"})
    other = intake_api.post("/v1/engagements", json=factories.engagement_payload()).json
    submit_with_answers(intake_api, other["id"], {"age_band": "75+"})

    report = intake_api.get(f"/v1/reports/equality?engagement_id={engagement['id']}").json

    assert report["respondents"] == 8
    assert report["questions"] == {
        "age_band": {"75+": 6, "other answers": "fewer than 5"},
        "carer": {"yes": 6},
    }
    assert intake_api.get("/v1/reports/equality").json["questions"]["age_band"]["75+"] == 7


def test_only_staff_of_the_same_council_may_read_it(intake_api, other_council, engagement):
    assert intake_api.as_("board").get("/v1/reports/equality").status_code == 403
    assert intake_api.as_("case-system").get("/v1/reports/equality").status_code == 403
    foreign = intake_api.as_("staff", tenant=other_council).get(
        f"/v1/reports/equality?engagement_id={engagement['id']}"
    )
    assert foreign.status_code == 404


def test_with_fewer_than_five_respondents_nothing_is_broken_down(intake_api, engagement):
    submit_with_answers(
        intake_api, engagement["id"], {"sexual_orientation": "bisexual", "religion_or_belief": "Quaker"}
    )

    report = intake_api.get(f"/v1/reports/equality?engagement_id={engagement['id']}").json

    assert report["respondents"] == "fewer than 5"
    assert report["questions"] == {}
    assert "bisexual" not in str(report)
