"""The public "have your say" form on SQLite and PostgreSQL: views sent at once from one
address with the same words are kept once, and the staff dashboard counts the equality
answers people gave on the form, with groups under five hidden."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from services.intake.entrypoints.web import create_app

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def form(n: int, age_band: str) -> dict:
    return {
        "text": f"Person {n}: please keep the library open on Thursday evenings.",
        "channel": "email",
        "email": f"person{n}@example.org",
        "consent": "yes",
        "format": "standard",
        "equality_age_band": age_band,
        "equality_welsh_speaker": "yes",
    }


def send(app, engagement_id: str, data: dict, address: str):
    """One person's browser posting the form (`app`: intake's web app, made once as a worker does)."""
    return app.test_client().post(
        f"/engagements/{engagement_id}/have-your-say",
        data=data,
        headers=SAME_ORIGIN,
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_same_words_sent_at_once_from_one_address_are_kept_once(intake, intake_api, engagement):
    app = create_app(intake)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: send(app, engagement["id"], form(1, "25_34"), "203.0.113.9"), range(8)))

    assert {a.status_code for a in answers} == {200}
    assert intake_api.get(f"/v1/contributions?engagement_id={engagement['id']}").json["total"] == 1


def test_the_dashboard_counts_the_forms_equality_answers_with_small_groups_hidden(intake, intake_api, engagement):
    bands = ["65_74"] * 6 + ["25_34"] * 5 + ["16_24"] * 2
    app = create_app(intake)
    for n, band in enumerate(bands):
        assert send(app, engagement["id"], form(n, band), f"198.51.100.{n}").status_code == 200

    numbers = intake_api.get(f"/v1/reports/dashboard?engagement_id={engagement['id']}").json
    groups = {g["answer"]: g["people"] for g in numbers["equality"]["questions"]["age_band"]}

    assert groups == {"65 to 74": 6, "25 to 34": "5 or more", "16 to 24": "fewer than 5"}
    assert {g["answer"]: g["people"] for g in numbers["equality"]["questions"]["welsh_speaker"]} == {"Yes": 13}
    report = intake_api.get(f"/v1/reports/equality?engagement_id={engagement['id']}").json
    assert report["questions"]["age_band"]["65 to 74"] == 6
