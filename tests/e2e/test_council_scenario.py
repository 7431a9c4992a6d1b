"""A council's season of listening, end to end, with every part a separate process.

Powys runs two engagements. Its case system publishes seven people's submissions as
CloudEvents (one of them twice, as at-least-once delivery will): English and Welsh,
email and SMS, standard and easy read, and one carers' group speaking for twelve
families. The partnership board records three decisions, one with a budget change it
later implements. The respite review's feedback date passes with two contributions
undecided. Everyone hears exactly what happened to what they said, in their language,
format and channel, once; every outcome chain says so, SMS delivery receipts included.

Everything goes through public interfaces (HTTP with the council's keys, the submissions
topic, GOV.UK Notify's callback) except the calendar: see `the_date_passes`.
"""

from __future__ import annotations

import datetime as dt
import email.message
import uuid
from dataclasses import dataclass, field

import pytest
import requests
import sqlalchemy as sa

from shared.rules.contact_details import phone_number
from shared.rules.domain import UK
from tests.support import factories
from tests.support.council import Council
from tests.support.stack import Stack, running_stack

TENANT = "powys"
CASE_SYSTEM = "https://case-system.powys.example.gov.uk/adults"
MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "cy": "Ionawr Chwefror Mawrth Ebrill Mai Mehefin Gorffennaf Awst Medi Hydref Tachwedd Rhagfyr".split(),
}

BUDGET_CHANGE = {
    "kind": "budget",
    "description": "£48,000 a year for Saturday staff",
    "amount": "48000.00",
    "currency": "GBP",
}
IMPLEMENTED_NOTE = "Saturday staff started work on 1 December."


@dataclass
class Person:
    """Someone who takes part, and how they want to hear back."""

    handle: str
    engagement: str  # "day" or "respite"
    participant: dict
    text: str
    type: str = "view"
    on_behalf_of: int = 1
    contribution: dict = field(default_factory=dict)  # as intake lists it, once it arrives

    @property
    def channel(self) -> str:
        return self.participant["preferred_channel"]

    @property
    def address(self) -> str:
        return self.participant["email" if self.channel == "email" else "phone"]

    @property
    def language(self) -> str:
        return self.participant["language"]

    @property
    def ref(self) -> str:
        return self.contribution["reference"]


def person(handle, engagement, name, *, channel, language, format_, text, **extra) -> Person:
    slug = name.lower().replace(" ", ".")
    participant = factories.participant_payload(
        name=name,
        email=f"{slug}@example.org",
        preferred_channel=channel,
        language=language,
        format=format_,
        external_ref=f"MOSAIC-{uuid.uuid4().hex[:8]}",
    )
    return Person(handle, engagement, participant, text, **extra)


def cast() -> list[Person]:
    return [
        person(
            "ann",
            "day",
            "Ann Jones",
            channel="email",
            language="en",
            format_="standard",
            text="Please open on Saturdays; my mum is alone all weekend.",
        ),
        person(
            "bryn",
            "day",
            "Bryn Price",
            channel="sms",
            language="cy",
            format_="standard",
            text="Mae angen y ganolfan ar agor ar ddydd Sadwrn.",
        ),
        person(
            "ceri",
            "day",
            "Ceri Evans",
            channel="email",
            language="cy",
            format_="easy_read",
            text="Hoffwn glwb gyda'r nos.",
        ),
        person(
            "carers",
            "day",
            "Brecon Carers Group",
            channel="email",
            language="en",
            format_="easy_read",
            text="Our twelve families ask for Saturday opening from nine.",
            type="recommendation",
            on_behalf_of=12,
        ),
        person(
            "dai",
            "respite",
            "Dai Morgan",
            channel="sms",
            language="en",
            format_="easy_read",
            text="Booking a short break by phone takes all morning.",
        ),
        person(
            "eira",
            "respite",
            "Eira Hughes",
            channel="email",
            language="cy",
            format_="standard",
            text="Mae angen mwy o seibiannau byr yn yr haf.",
        ),
        person(
            "ffion",
            "respite",
            "Ffion Lloyd",
            channel="email",
            language="en",
            format_="standard",
            text="Let us book short breaks online.",
        ),
    ]


def long_date(day: dt.date, language: str) -> str:
    return f"{day.day} {MONTHS[language][day.month - 1]} {day.year}"


def the_date_passes(stack: Stack, engagement_id: str, feedback_due: dt.date) -> None:
    """The calendar turns: the one step no public interface offers (intake, rightly, refuses a
    feedback date in the past). Decisions, which judges whether feedback is overdue, now
    holds the engagement's date as already gone by."""
    engine = sa.create_engine(stack.ctx.env["DECISIONS_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE engagements_view SET feedback_due = :day WHERE id = :id"),
                {"day": feedback_due - dt.timedelta(days=1), "id": engagement_id},
            )
    finally:
        engine.dispose()


# What arrived -------------------------------------------------------------------------------


def plain(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def emails_to(stack: Stack, address: str) -> list[email.message.EmailMessage]:
    return [m for m in stack.smtp.messages() if m["To"] == address]


def texts_to(stack: Stack, phone: str) -> list[dict]:
    sent_to = phone_number(phone)  # the notifier sends to E.164, however the number was given
    return [r for r in stack.notify.received if r["kind"] == "sms" and r["phone_number"] == sent_to]


def assert_says(text: str, *phrases: str) -> None:
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"


# The scenario -------------------------------------------------------------------------------


@pytest.fixture
def system(tmp_path, postgres):
    with running_stack(
        tmp_path, postgres, tenant=TENANT, tenant_name="Powys County Council", case_systems=(CASE_SYSTEM,)
    ) as stack:
        yield stack


def test_a_council_season_everyone_hears_what_happened_in_their_language_format_and_channel_once(system):
    council = Council(system)
    everyone = cast()
    people = {p.handle: p for p in everyone}
    today = dt.datetime.now(UK).date()

    # Staff open two engagements; the respite review promised feedback by today.
    day = council.call(
        "POST",
        "intake",
        "/v1/engagements",
        "staff",
        201,
        json=factories.engagement_payload(
            title="Day services review",
            can_change=["opening hours", "activities offered", "how the day services budget is spent"],
            cannot_change=["closing the Elm Road site"],
            feedback_due=(today + dt.timedelta(days=60)).isoformat(),
        ),
    )
    respite = council.call(
        "POST",
        "intake",
        "/v1/engagements",
        "staff",
        201,
        json=factories.engagement_payload(
            title="Respite care review",
            can_change=["how short breaks are booked"],
            cannot_change=["the number of respite beds"],
            decision_maker="Carers Partnership Board",
            feedback_due=today.isoformat(),
        ),
    )
    engagements = {"day": day, "respite": respite}

    # The case system publishes every submission, one of them twice.
    events = []
    for p in everyone:
        event = factories.submission_event(
            TENANT,
            {
                "engagement_id": engagements[p.engagement]["id"],
                "type": p.type,
                "text": p.text,
                "channel": "case_system",
                "on_behalf_of": p.on_behalf_of,
                "participant": p.participant,
            },
            source=CASE_SYSTEM,
            id=f"case-{uuid.uuid4().hex[:10]}",
        )
        events.append((engagements[p.engagement]["id"], event))
        if p.handle == "ann":  # sent again before the others: it must create nothing
            events.append((day["id"], dict(event)))
    council.publish_submissions(events)

    def arrived() -> bool:
        listed = council.call("GET", "intake", "/v1/contributions", "staff", params={"per_page": 200})["items"]
        for item in listed:
            next(p for p in everyone if p.text == item["text"]).contribution = item
        return len(listed) == len(everyone)

    system.wait_for(arrived, "intake to accept every submission")
    references = [p.ref for p in everyone]
    assert len(set(references)) == len(everyone)
    assert all(ref.startswith(f"POWYS-{today.year}-") for ref in references)

    # Decisions hears of every contribution before the board links them.
    def decisions_knows_all() -> bool:
        return all(
            requests.get(
                f"{system.urls['decisions']}/v1/contributions/{p.contribution['id']}/outcome-chain",
                headers=system.headers("board"),
                timeout=10,
            ).status_code
            == 200
            for p in everyone
        )

    system.wait_for(decisions_knows_all, "decisions to learn of every contribution")

    # The board decides.
    board = council.call(
        "POST",
        "decisions",
        "/v1/boards",
        "staff",
        201,
        json={"name": "Powys Adult Social Care Partnership Board", "remit": "Adult social care in Powys"},
    )
    influence = {
        "ann": "You told us Saturdays are the loneliest day, so Saturdays come first.",
        "bryn": "Dywedoch fod angen y ganolfan ar ddydd Sadwrn, felly mae ar agor.",
        "carers": "Your survey of twelve families set the Saturday hours.",
        "ceri": "You asked for an evening club; we will look again next year.",
        "ffion": "You showed us how long phone booking takes.",
    }
    saturday = council.call(
        "POST",
        "decisions",
        "/v1/decisions",
        "board",
        201,
        json={
            **factories.decision_payload(
                board["id"],
                title="Saturday opening at the day centres",
                outcome="partly_adopted",
                rationale="Saturdays from December; Sundays are not affordable this year.",
                engagement_id=day["id"],
            ),
            "links": [
                {"contribution_id": people[h].contribution["id"], "influence": influence[h]} for h in ("ann", "bryn")
            ],
            "resource_changes": [BUDGET_CHANGE],
        },
    )
    council.call(
        "POST",
        "decisions",
        f"/v1/decisions/{saturday['id']}/links",
        "board",
        201,
        json={"contribution_id": people["carers"].contribution["id"], "influence": influence["carers"]},
    )
    council.call(
        "POST",
        "decisions",
        "/v1/decisions",
        "board",
        201,
        json={
            **factories.decision_payload(
                board["id"],
                title="Evening clubs",
                outcome="not_adopted",
                rationale="Evening staff cost more than this year's budget allows.",
                engagement_id=day["id"],
            ),
            "links": [{"contribution_id": people["ceri"].contribution["id"], "influence": influence["ceri"]}],
        },
    )
    booking = factories.decision_payload(
        board["id"], title="Online booking for short breaks", outcome="adopted", engagement_id=respite["id"]
    )
    del booking["rationale"]
    council.call(
        "POST",
        "decisions",
        "/v1/decisions",
        "board",
        201,
        json={
            **booking,
            "links": [{"contribution_id": people["ffion"].contribution["id"], "influence": influence["ffion"]}],
        },
    )
    [change] = saturday["resource_changes"]

    def told(handle: str, count: int) -> bool:
        p = people[handle]
        sent = emails_to(system, p.address) if p.channel == "email" else texts_to(system, p.address)
        return len(sent) >= count

    system.wait_for(lambda: all(told(h, 2) for h in influence), "everyone linked to hear of their decision")

    # The budget change is made; those whose contributions shaped it hear so.
    council.call(
        "PATCH",
        "decisions",
        f"/v1/resource-changes/{change['id']}",
        "board",
        json={"status": "implemented", "note": IMPLEMENTED_NOTE},
    )
    # The respite review's feedback date passes with Dai's and Eira's contributions undecided.
    the_date_passes(system, respite["id"], today)

    expected_kinds = {
        "ann": ["acknowledgement", "decision_linked", "resource_changed"],
        "bryn": ["acknowledgement", "decision_linked", "resource_changed"],
        "ceri": ["acknowledgement", "decision_linked"],
        "carers": ["acknowledgement", "decision_linked", "resource_changed"],
        "dai": ["acknowledgement", "interim_update"],
        "eira": ["acknowledgement", "interim_update"],
        "ffion": ["acknowledgement", "decision_linked"],
    }
    total = sum(len(kinds) for kinds in expected_kinds.values())

    def all_sent() -> bool:
        found = council.notifications()
        return len(found) >= total and all(n["status"] in ("sent", "delivered") for n in found)

    system.wait_for(all_sent, f"all {total} messages to be sent", timeout=90)

    # GOV.UK Notify reports each text delivered, and (as it may) reports it twice.
    texts = [r for r in system.notify.received if r["kind"] == "sms"]
    for sms in texts + texts:
        council.notify_receipt(sms)

    # --- Every message each participant received: count, channel, language, format, content.
    # Each is matched to what the notifier recorded by its id (Message-ID, Notify reference).
    kinds = {n["id"]: n["kind"] for n in council.notifications()}

    def inbox(p: Person) -> dict[str, str | email.message.EmailMessage]:
        """What reached the person, by kind of message; nothing on the channel they did not choose."""
        emails, sms = emails_to(system, p.participant["email"]), texts_to(system, p.participant["phone"])
        if p.channel == "email":
            assert sms == [], f"{p.handle} chose email but got texts"
            received = [(kinds[m["Message-ID"].strip("<>").partition("@")[0]], m) for m in emails]
        else:
            assert emails == [], f"{p.handle} chose SMS but got email"
            received = [(kinds[text["reference"]], text["personalisation"]["body"]) for text in sms]
        assert sorted(kind for kind, _ in received) == sorted(expected_kinds[p.handle]), p.handle
        return dict(received)

    assert len(system.smtp.messages()) + len(texts) == total

    day_due_en, day_due_cy = (
        long_date(today + dt.timedelta(days=60), "en"),
        long_date(today + dt.timedelta(days=60), "cy"),
    )
    respite_due_en, respite_due_cy = long_date(today, "en"), long_date(today, "cy")

    # Ann: English, standard, email.
    ann = people["ann"]
    mail = inbox(ann)
    ack, decided, done = mail["acknowledgement"], mail["decision_linked"], mail["resource_changed"]
    assert ack["Subject"] == f"We have received your view ({ann.ref})"
    assert_says(
        plain(ack),
        "Dear Ann Jones,",
        f"Your reference is {ann.ref}",
        "What this can change: opening hours; activities offered; how the day services budget is spent.",
        "What it cannot change: closing the Elm Road site.",
        f"We will tell you what happened by {day_due_en}.",
    )
    assert decided["Subject"] == f"What happened to your contribution ({ann.ref})"
    assert_says(
        plain(decided),
        "The decision: partly agreed.",
        "Why: Saturdays from December; Sundays are not affordable this year.",
        f"How your contribution shaped it: {influence['ann']}",
        "- £48,000 a year for Saturday staff (planned)",
    )
    assert done["Subject"] == f"Progress on a change you asked for ({ann.ref})"
    assert_says(plain(done), "£48,000 a year for Saturday staff: done.", IMPLEMENTED_NOTE)

    # Bryn: Welsh, standard, SMS.
    bryn = people["bryn"]
    sms = inbox(bryn)
    ack, decided, done = sms["acknowledgement"], sms["decision_linked"], sms["resource_changed"]
    assert_says(ack, f"Diolch: mae eich barn gennym, cyf {bryn.ref}.", f"erbyn {day_due_cy}")
    assert_says(decided, f"Cyf {bryn.ref}:", "wedi'i gytuno'n rhannol")
    assert_says(done, f"Cyf {bryn.ref}: £48,000 a year for Saturday staff: wedi'i wneud.")

    # Ceri: Welsh, easy read, email.
    ceri = people["ceri"]
    mail = inbox(ceri)
    ack, decided = mail["acknowledgement"], mail["decision_linked"]
    assert ack["Subject"] == "Rydym wedi cael eich neges"
    assert_says(
        plain(ack),
        "Helo Ceri Evans.",
        f"Eich rhif yw {ceri.ref}.",
        f"Byddwn yn dweud wrthych beth ddigwyddodd erbyn {day_due_cy}.",
    )
    assert decided["Subject"] == "Beth ddigwyddodd i'r hyn a ddywedoch"
    assert_says(
        plain(decided),
        "Yr ateb yw: heb ei gytuno.",
        "Dyma pam: Evening staff cost more than this year's budget allows.",
        f"Fe helpodd yr hyn a ddywedoch. {influence['ceri']}",
    )

    # The carers' group: English, easy read, email; it speaks for twelve families.
    carers = people["carers"]
    mail = inbox(carers)
    ack, decided, done = mail["acknowledgement"], mail["decision_linked"], mail["resource_changed"]
    assert ack["Subject"] == "We got your message"
    assert_says(
        plain(ack),
        "Hello Brecon Carers Group.",
        f"Your number is {carers.ref}.",
        "We can change: opening hours, activities offered, how the day services budget is spent.",
        f"We will tell you what happened by {day_due_en}.",
    )
    assert decided["Subject"] == "What happened to what you said"
    assert_says(
        plain(decided),
        "The answer is: partly agreed.",
        f"What you said helped. {influence['carers']}",
        "- £48,000 a year for Saturday staff",
    )
    assert done["Subject"] == "News about a change"
    assert_says(plain(done), "This change: £48,000 a year for Saturday staff.", "It is now: done.")

    # Dai: English, easy read, SMS; undecided when the date passed.
    dai = people["dai"]
    sms = inbox(dai)
    ack, interim = sms["acknowledgement"], sms["interim_update"]
    assert_says(ack, f"Your number is {dai.ref}.", f"We will tell you what happened by {respite_due_en}.")
    assert_says(interim, f"Number {dai.ref}. Sorry, we have not decided yet. We have not forgotten you.")

    # Eira: Welsh, standard, email; undecided when the date passed.
    eira = people["eira"]
    mail = inbox(eira)
    ack, interim = mail["acknowledgement"], mail["interim_update"]
    assert ack["Subject"] == f"Rydym wedi cael eich barn ({eira.ref})"
    assert_says(plain(ack), "Annwyl Eira Hughes,", f"erbyn {respite_due_cy}.")
    assert interim["Subject"] == f"Nid ydym wedi penderfynu eto ({eira.ref})"
    assert_says(plain(interim), f"erbyn {respite_due_cy}", "mae'n ddrwg gennym")

    # Ffion: English, standard, email; decided in time, so no interim update.
    ffion = people["ffion"]
    mail = inbox(ffion)
    ack, decided = mail["acknowledgement"], mail["decision_linked"]
    assert_says(plain(ack), f"We will tell you what happened by {respite_due_en}.")
    assert_says(plain(decided), "The decision: agreed.", f"How your contribution shaped it: {influence['ffion']}")
    assert "Why:" not in plain(decided)

    # Every message was rendered in the participant's language, none failed or was held back.
    for n in council.notifications():
        p = next(p for p in everyone if p.contribution["id"] == n["contribution_id"])
        assert (n["channel"], n["language_used"]) == (p.channel, p.language)

    # --- Every outcome chain: decisions, the budget change's history, messages and their delivery.
    def chain_messages(chain: dict) -> list[tuple[str, str, str]]:
        return sorted((m["kind"], m["channel"], m["status"]) for m in chain["messages"])

    def expected_messages(p: Person) -> list[tuple[str, str, str]]:
        status = "delivered" if p.channel == "sms" else "sent"  # SMTP has no delivery receipts
        return sorted((kind, p.channel, status) for kind in expected_kinds[p.handle])

    system.wait_for(
        lambda: all(chain_messages(council.chain(p.contribution["id"])) == expected_messages(p) for p in everyone),
        "every chain to show its messages, texts delivered",
    )
    chains = {p.handle: council.chain(p.contribution["id"]) for p in everyone}
    # Closed: decided, any change implemented, and the person told (an email handed to the mail
    # server counts: SMTP never reports delivery; a text counts once Notify reports it delivered
    # or sent).
    expected_status = {
        "ann": "closed",
        "bryn": "closed",
        "ceri": "closed",
        "carers": "closed",
        "dai": "overdue",
        "eira": "overdue",
        "ffion": "closed",
    }
    assert {h: c["status"] for h, c in chains.items()} == expected_status
    for handle, chain in chains.items():
        p = people[handle]
        assert chain["contribution"]["reference"] == p.ref
        assert chain["contribution"]["on_behalf_of"] == p.on_behalf_of
        assert [m["status"] for m in chain["messages"] if m["channel"] == "sms"] == (
            ["delivered"] * len(expected_kinds[handle]) if p.channel == "sms" else []
        )
        linked = [d for d in chain["decisions"] if d["link_state"] == "confirmed"]
        assert [d["influence"] for d in linked] == ([influence[handle]] if handle in influence else [])
        steps = [s["step"] for s in chain["steps"]]
        assert steps[0] == "received"
        assert steps.count("linked") == len(linked)
    assert chains["carers"]["contribution"]["on_behalf_of"] == 12
    for handle in ("ann", "bryn", "carers"):
        [decision] = chains[handle]["decisions"]
        assert (decision["title"], decision["outcome"]) == ("Saturday opening at the day centres", "partly_adopted")
        [budget] = chains[handle]["resource_changes"]
        assert (budget["kind"], budget["amount"], budget["currency"], budget["status"]) == (
            "budget",
            "48000.00",
            "GBP",
            "implemented",
        )
        assert [(h["status"], h["note"]) for h in budget["history"]] == [
            ("planned", None),
            ("implemented", IMPLEMENTED_NOTE),
        ]
        assert [s["status"] for s in chains[handle]["steps"] if s["step"] == "resource_status"] == [
            "planned",
            "implemented",
        ]
    [evening] = chains["ceri"]["decisions"]
    assert (evening["outcome"], evening["rationale"]) == (
        "not_adopted",
        "Evening staff cost more than this year's budget allows.",
    )
    assert chains["ceri"]["resource_changes"] == []
    for handle in ("dai", "eira"):
        assert chains[handle]["decisions"] == [] and chains[handle]["resource_changes"] == []

    # Staff see exactly the two undecided respite contributions as overdue; everyone was told.
    overdue = council.call("GET", "decisions", "/v1/overdue", "staff")["items"]
    assert sorted(item["reference"] for item in overdue) == sorted([people["dai"].ref, people["eira"].ref])
    assert all(item["participant_told"] for item in overdue)

    # The repeated submission created nothing: seven contributions, seven acknowledgements.
    listed = council.call("GET", "intake", "/v1/contributions", "staff", params={"per_page": 200})
    assert listed["total"] == len(everyone)
    assert len(council.notifications()) == total
