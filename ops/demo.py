"""`outcomes demo`: a small, realistic council, seeded the way real clients would do it.

Staff open two engagements; the council's admin registers its case system's CloudEvents
source; the case system sends contributions over HTTP and as CloudEvents on `intake.submissions`; staff key in a residents' forum's collective view
from a meeting; a board records what it decided, linked to the contributions with how
each shaped it; and a budget change is carried through to implemented. People are in
English and Welsh, standard, easy read and large print, on email and SMS, and one has
not agreed to be contacted. The notifier then tells each of them, so a newcomer sees
whole chains at once.

Everything goes through the public interfaces except one step: the Welsh-language
engagement's feedback date has already passed (so its undecided contributions show as
overdue and their people get an honest interim update), and the API rightly refuses a
date in the past, so that engagement is opened through intake's service layer with a
clock set back four months, on this machine's intake database.

Running it again creates nothing twice: engagements, boards and decisions are looked up
by title, participants by `external_ref`, HTTP contributions carry an `Idempotency-Key`
and events a fixed CloudEvent `id`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from shared.infra.settings import Settings
from shared.messaging import events, kafka
from shared.rules.constants import CONTRIBUTION_SUBMITTED, SUBMISSIONS_TOPIC
from shared.rules.domain import UK

DEMO_TENANT = "demo"
CASE_SYSTEM_SOURCE = "https://case-system.demo-council.example.gov.uk/adults"
WAIT_SECONDS = 60.0


class DemoFailed(Exception):
    pass


@dataclass
class Api:
    """One service's HTTP API, as one role of the demo tenant."""

    base_url: str
    key: str

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return requests.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self._call(method, path, **kwargs)
        if response.status_code >= 300:
            raise DemoFailed(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def found(self, path: str) -> bool:
        return self._call("GET", path).status_code == 200

    def items(self, path: str, **params) -> list[dict]:
        return self.call("GET", path, params={"per_page": 200, **params})["items"]


# The council's story ---------------------------------------------------------------


def _engagements(today: dt.date) -> dict[str, dict]:
    return {
        "day-services": {
            "title": "Day services for older people in Trowbridge",
            "service_area": "Adult social care",
            "description": (
                "We are reviewing the day centres for older people in Trowbridge. Tell us what works "
                "for you, what does not, and what you would change."
            ),
            "can_change": ["opening days and hours", "activities and outings", "transport to and from the centres"],
            "cannot_change": [
                "the total day services budget for 2026/27",
                "the sale of the Castle Street building, agreed in 2025",
            ],
            "decision_maker": "Adult Social Care Partnership Board",
            "feedback_due": (today + dt.timedelta(days=45)).isoformat(),
        },
        "respite-cy": {
            "title": "Seibiant byr i ofalwyr: ymgynghoriad Cymraeg (Short breaks for carers: Welsh-language consultation)",
            "service_area": "Cymorth i ofalwyr (Carers' support)",
            "description": (
                "Rydym eisiau clywed gan ofalwyr sy'n siarad Cymraeg am y seibiant byr sydd ar gael. "
                "We want to hear from Welsh-speaking carers about the short breaks on offer."
            ),
            "can_change": [
                "pa mor aml mae seibiant ar gael (how often breaks are offered)",
                "seibiant yn y cartref (breaks at home)",
            ],
            "cannot_change": ["y rheolau cymhwysedd cenedlaethol (the national eligibility rules)"],
            "decision_maker": "Bwrdd Partneriaeth Gofalwyr (Carers' Partnership Board)",
            "feedback_due": (today - dt.timedelta(days=10)).isoformat(),
        },
    }


def _person(ref: str, name: str, channel: str, language: str, fmt: str, *, consent: bool = True) -> dict:
    person = {
        "external_ref": f"DEMO-P-{ref}",
        "name": name,
        "preferred_channel": channel,
        "language": language,
        "format": fmt,
        "consent_to_contact": consent,
    }
    if channel == "email":
        person["email"] = name.lower().replace(" ", ".").replace("'", "") + "@example.org"
    if channel == "sms":
        person["phone"] = f"+44 7700 900{ref}"  # Ofcom's range for drama: never a real phone
    return person


@dataclass(frozen=True)
class Contribution:
    slug: str
    engagement: str
    person: dict
    type: str
    text: str
    via: str  # "http" (case system), "event" (intake.submissions) or "meeting" (staff, HTTP)
    on_behalf_of: int = 1
    # Written this many days before the engagement's feedback date (and sent in late);
    # fixed relative to that date, so a re-run on another day sends the same body.
    written_days_before_due: int | None = None


CONTRIBUTIONS = (
    Contribution(
        "weekends",
        "day-services",
        _person("101", "Margaret Ellis", "email", "en", "standard"),
        "view",
        "The centre is closed at weekends and that is when I am most alone. Even one Saturday a month would help.",
        "http",
    ),
    Contribution(
        "forum",
        "day-services",
        _person("102", "Castle Street Members Forum", "email", "en", "standard"),
        "recommendation",
        "Our members ask for Saturday opening, with the minibus running, so people who live alone have "
        "somewhere to go at the weekend.",
        "meeting",
        on_behalf_of=14,
    ),
    Contribution(
        "lunch",
        "day-services",
        _person("103", "Priya Shah", "email", "en", "large_print"),
        "complaint",
        "My father's lunch arrives cold most days since the kitchen stopped cooking on site.",
        "http",
    ),
    Contribution(
        "minibus",
        "day-services",
        _person("104", "Dennis Hart", "sms", "en", "easy_read"),
        "recommendation",
        "The minibus should pick up from Studley Green again. I cannot walk to the stop.",
        "event",
    ),
    Contribution(
        "saturday-carer",
        "day-services",
        _person("105", "Sandra Cole", "sms", "en", "standard"),
        "view",
        "As a carer, a Saturday at the centre for my husband would give me a few hours to rest.",
        "event",
    ),
    Contribution(
        "thanks",
        "day-services",
        _person("106", "Joan Pike", "none", "en", "standard", consent=False),
        "compliment",
        "The staff at the centre are kind and patient. Thank you.",
        "http",
    ),
    Contribution(
        "activities",
        "day-services",
        _person("107", "Tom Baker", "email", "en", "easy_read"),
        "question",
        "Will the singing group keep going if the centre changes its hours?",
        "event",
    ),
    Contribution(
        "emergency-cy",
        "respite-cy",
        _person("201", "Gwen Pritchard", "email", "cy", "standard"),
        "view",
        "Pan aeth fy mam yn sâl, doedd dim seibiant ar gael am dair wythnos. Mae angen seibiant brys.",
        "event",
        written_days_before_due=40,
    ),
    Contribution(
        "notice-cy",
        "respite-cy",
        _person("202", "Owain Jones", "sms", "cy", "easy_read"),
        "recommendation",
        "Dylai gofalwyr allu trefnu seibiant gyda dau ddiwrnod o rybudd.",
        "http",
        written_days_before_due=33,
    ),
    Contribution(
        "staff-cy",
        "respite-cy",
        _person("203", "Eleri Morgan", "email", "cy", "standard"),
        "complaint",
        "Doedd neb yn siarad Cymraeg gyda fy nhad yn ystod ei seibiant diwethaf.",
        "event",
        written_days_before_due=26,
    ),
    Contribution(
        "home-cy",
        "respite-cy",
        _person("204", "Alun Davies", "email", "cy", "large_print"),
        "question",
        "A fydd seibiant yn y cartref ar gael yn y nos?",
        "http",
        written_days_before_due=19,
    ),
)

BOARD = {
    "name": "Adult Social Care Partnership Board",
    "remit": "Day services, short breaks and carers' support for adults in the council's area.",
}


def _decisions(today: dt.date) -> list[dict]:
    april = dt.date(today.year + (today.month >= 4), 4, 1)
    return [
        {
            "engagement": "day-services",
            "title": "Open the Trowbridge day centres on Saturdays",
            "description": "Two Saturdays a month at the Castle Street and Studley Green centres, with the minibus.",
            "outcome": "partly_adopted",
            "rationale": (
                "The budget covers two Saturdays a month, not every week. We will look again after six "
                "months, using attendance and what members tell us."
            ),
            "links": {
                "weekends": "You told us weekends are when you are most alone: that is why Saturdays come first.",
                "forum": "The forum's 14 members asked for Saturday opening with the minibus; both are in the plan.",
                "saturday-carer": "You told us a Saturday would give carers time to rest; we counted carers' needs.",
            },
            "resource_changes": [
                {
                    "kind": "budget",
                    "description": "Saturday opening twice a month: staff and the minibus",
                    "amount": "38000.00",
                    "currency": "GBP",
                    "effective_from": april.isoformat(),
                }
            ],
        },
        {
            "engagement": "day-services",
            "title": "Bring back lunches cooked on site",
            "description": "Return to cooking lunch in the Castle Street kitchen.",
            "outcome": "not_adopted",
            "rationale": (
                "The kitchen needs a refit to meet food safety standards, and this year's budget cannot pay "
                "for it. Lunches will still be delivered, and the supplier will now bring them in heated boxes."
            ),
            "links": {"lunch": "Your complaint about cold lunches is why the supplier now uses heated boxes."},
            "resource_changes": [],
        },
        {
            "engagement": "respite-cy",
            "title": "Seibiant brys o fewn 48 awr (Emergency short breaks within 48 hours)",
            "description": "Carers can arrange an emergency short break with two days' notice.",
            "outcome": "adopted",
            "rationale": None,
            "links": {
                "emergency-cy": "Dangosodd eich profiad fod angen seibiant brys (your experience showed the need).",
                "notice-cy": "Eich syniad chi oedd dau ddiwrnod o rybudd (two days' notice was your idea).",
            },
            "resource_changes": [],
        },
    ]


# Seeding -----------------------------------------------------------------------------


@dataclass
class Seeded:
    engagements: dict[str, str] = field(default_factory=dict)  # slug -> id
    feedback_due: dict[str, dt.date] = field(default_factory=dict)  # slug -> date
    contributions: dict[str, dict] = field(default_factory=dict)  # slug -> {id, reference, ...}
    decisions: dict[str, str] = field(default_factory=dict)  # title -> id
    board_id: str = ""


def wait_for(what: str, check, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise DemoFailed(f"gave up waiting for {what} after {timeout:.0f} s; are the consumers and relays running?")
        time.sleep(0.3)


def _open_backdated_engagement(settings: Settings, body: dict, today: dt.date) -> str:
    """The one engagement whose feedback date has passed: opened four months ago."""
    from services.intake.bootstrap import bootstrap
    from services.intake.entrypoints.schemas import EngagementSchema
    from services.intake.service_layer import services

    platform = bootstrap(settings)
    try:
        opened = dt.datetime.combine(today - dt.timedelta(days=120), dt.time(10), tzinfo=UK)
        engagement = services.create_engagement(
            platform.uow(), DEMO_TENANT, EngagementSchema().load(body), now=opened, source=platform.source
        )
    finally:
        platform.engine.dispose()
    return engagement.id


def seed(settings: Settings, *, intake_url: str, decisions_url: str, keys: dict[str, str]) -> Seeded:
    today = dt.datetime.now(UK).date()
    staff = Api(intake_url, keys["staff"])
    case_system = Api(intake_url, keys["case-system"])
    board = Api(decisions_url, keys["board"])
    decisions_staff = Api(decisions_url, keys["staff"])
    seeded = Seeded()

    existing = {e["title"]: e for e in staff.items("/v1/engagements")}
    for slug, body in _engagements(today).items():
        seeded.feedback_due[slug] = dt.date.fromisoformat(existing.get(body["title"], body)["feedback_due"])
        if body["title"] in existing:
            seeded.engagements[slug] = existing[body["title"]]["id"]
        elif dt.date.fromisoformat(body["feedback_due"]) < today:
            seeded.engagements[slug] = _open_backdated_engagement(settings, body, today)
        else:
            seeded.engagements[slug] = staff.call("POST", "/v1/engagements", json=body)["id"]

    _register_case_system(Api(intake_url, keys["admin"]))
    _submit_events(settings, seeded)
    for c in CONTRIBUTIONS:
        if c.via == "event":
            continue
        body = _contribution_body(c, seeded, channel="meeting" if c.via == "meeting" else "case_system")
        api = staff if c.via == "meeting" else case_system
        created = api.call("POST", "/v1/contributions", json=body, headers={"Idempotency-Key": f"demo-{c.slug}"})
        seeded.contributions[c.slug] = created

    def all_accepted() -> bool:
        by_text = _contributions_by_text(staff, seeded)
        for c in CONTRIBUTIONS:
            if c.text in by_text:
                seeded.contributions.setdefault(c.slug, by_text[c.text])
        return len(seeded.contributions) == len(CONTRIBUTIONS)

    wait_for("intake to accept the case system's events", all_accepted)
    # Decisions learns contributions only from intake's events: link once it has them all.
    for c in CONTRIBUTIONS:
        path = f"/v1/contributions/{seeded.contributions[c.slug]['id']}/outcome-chain"
        wait_for("decisions to hear of every contribution", lambda path=path: board.found(path))

    seeded.board_id = _board(decisions_staff)
    recorded = {d["title"]: d["id"] for d in board.items("/v1/decisions", board_id=seeded.board_id)}
    for plan in _decisions(today):
        decision_id = recorded.get(plan["title"]) or _record(board, plan, seeded, today)
        seeded.decisions[plan["title"]] = decision_id
        for change in board.call("GET", f"/v1/decisions/{decision_id}")["resource_changes"]:
            _carry_through(board, change)
    return seeded


def _contribution_body(c: Contribution, seeded: Seeded, *, channel: str) -> dict:
    body = {
        "engagement_id": seeded.engagements[c.engagement],
        "type": c.type,
        "text": c.text,
        "on_behalf_of": c.on_behalf_of,
        "channel": channel,
        "participant": c.person,
    }
    if c.written_days_before_due:
        written = seeded.feedback_due[c.engagement] - dt.timedelta(days=c.written_days_before_due)
        body["submitted_at"] = dt.datetime.combine(written, dt.time(11), tzinfo=UK).isoformat()
    return body


def _register_case_system(admin: Api) -> None:
    """The council's admin registers its case system's CloudEvents source, without which
    intake dead-letters its submissions (409: registered by an earlier run)."""
    response = admin._call("POST", "/v1/sources", json={"source": CASE_SYSTEM_SOURCE})
    if response.status_code not in (201, 409):
        raise DemoFailed(f"POST /v1/sources answered {response.status_code}: {response.text[:500]}")


def _submit_events(settings: Settings, seeded: Seeded) -> None:
    """The case system's other submissions, as CloudEvents with fixed ids (sent twice,
    they are one submission)."""
    producer = kafka.producer(settings.kafka_bootstrap_servers, security=kafka.security(settings))
    try:
        for c in CONTRIBUTIONS:
            if c.via != "event":
                continue
            envelope = events.make(
                type=CONTRIBUTION_SUBMITTED,
                source=CASE_SYSTEM_SOURCE,
                tenant=DEMO_TENANT,
                data=_contribution_body(c, seeded, channel="case_system"),
                id=f"demo-{c.slug}",
            )
            producer.send(
                SUBMISSIONS_TOPIC,
                key=c.person["external_ref"].encode(),
                value=events.dumps(envelope),
                headers=events.KAFKA_HEADERS,
            )
        producer.flush(30)
    finally:
        producer.close(timeout=5)


def _contributions_by_text(staff: Api, seeded: Seeded) -> dict[str, dict]:
    found = {}
    for engagement_id in seeded.engagements.values():
        for item in staff.items("/v1/contributions", engagement_id=engagement_id):
            found[item["text"]] = item
    return found


def _board(api: Api) -> str:
    for board in api.call("GET", "/v1/boards")["items"]:
        if board["name"] == BOARD["name"]:
            return board["id"]
    return api.call("POST", "/v1/boards", json=BOARD)["id"]


def _record(api: Api, plan: dict, seeded: Seeded, today: dt.date) -> str:
    body = {
        "board_id": seeded.board_id,
        "engagement_id": seeded.engagements[plan["engagement"]],
        "title": plan["title"],
        "description": plan["description"],
        "decided_on": today.isoformat(),
        "outcome": plan["outcome"],
        "rationale": plan["rationale"],
        "links": [
            {"contribution_id": seeded.contributions[slug]["id"], "influence": influence}
            for slug, influence in plan["links"].items()
        ],
        "resource_changes": plan["resource_changes"],
    }
    return api.call("POST", "/v1/decisions", json=body)["id"]


def _carry_through(api: Api, change: dict) -> None:
    steps = [
        ("in_progress", "Rota agreed with the centre staff and the minibus booked."),
        ("implemented", "The first Saturday sessions have run at both centres."),
    ]
    for status, note in steps:
        if change["status"] in (status, "implemented", "cancelled"):
            continue
        change = api.call("PATCH", f"/v1/resource-changes/{change['id']}", json={"status": status, "note": note})


def summary(seeded: Seeded, *, decisions_url: str, settings: Settings, keys_path: Path) -> str:
    chains = {
        "forum": "a forum speaking for 14, at a meeting: partly adopted, budget change implemented",
        "lunch": "a complaint: not adopted, and why",
        "emergency-cy": "in Welsh: adopted",
        "staff-cy": "in Welsh: feedback date passed with no decision (overdue)",
    }
    lines = [
        f"Demo council '{DEMO_TENANT}': {len(seeded.engagements)} engagements, {len(seeded.contributions)} "
        f"contributions, {len(seeded.decisions)} decisions, a budget change implemented.",
        f"Outcome chains (send the staff or board key from {keys_path}):",
    ]
    for slug, story in chains.items():
        c = seeded.contributions[slug]
        lines.append(f"  {c['reference']}  {story}\n    {decisions_url}/v1/contributions/{c['id']}/outcome-chain")
    lines.append(
        f"You said, we did: {decisions_url}/v1/engagements/{seeded.engagements['day-services']}/you-said-we-did"
    )
    lines.append(
        f"Messages: email in {settings.var_dir / 'mail'}, SMS in {settings.var_dir / 'sms'}, "
        f"letters in {settings.var_dir / 'letters'} "
        "(SMS wait out the quiet hours, 21:00 to 08:00 UK time unless set otherwise)."
    )
    return "\n".join(lines)


def load_keys(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DemoFailed(f"no keys at {path}: start `make run` first, or pass --keys") from None


def not_yet_seeded(intake_url: str, keys: dict[str, str]) -> bool:
    """The demo tenant has no engagements yet (what `make run` checks on start)."""
    return not Api(intake_url, keys["staff"]).items("/v1/engagements")
