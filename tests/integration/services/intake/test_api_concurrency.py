"""Two workers taking contributions at once, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support import factories


def test_concurrent_submissions_get_unique_consecutive_references(intake_api, engagement):
    case_system = intake_api.as_("case-system")

    def submit(_):
        return case_system.post("/v1/contributions", json=factories.contribution_payload(engagement["id"]))

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(submit, range(40)))

    assert [r.status_code for r in responses] == [201] * 40
    numbers = sorted(int(r.json["reference"].rsplit("-", 1)[1]) for r in responses)
    assert numbers == list(range(1, 41))


def test_concurrent_repeats_of_one_idempotency_key_create_one_contribution(intake_api, engagement):
    case_system = intake_api.as_("case-system")
    body = factories.contribution_payload(engagement["id"])

    def submit(_):
        return case_system.post("/v1/contributions", json=body, headers={"Idempotency-Key": "case-4711"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(submit, range(12)))

    assert {r.status_code for r in responses} == {201}
    assert len({r.json["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 11
    assert case_system.get("/v1/contributions").json["total"] == 1
