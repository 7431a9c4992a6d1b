"""The public "have your say" form's use cases: a council's open engagements, one engagement
to answer, and taking a person's view.

A view from the form goes through `services.submit_contribution`, the same use case as the
API, so its outbox events (and with them the acknowledgement the notifier sends) are
exactly those of any other contribution. A repeat (the same words from the same address on
the same UK day) is found by the idempotency key that use case already keeps; that key is
a keyed hash, so neither the address nor the words are stored for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.intake.domain import model
from services.intake.domain import public_form as rules
from services.intake.service_layer import services
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.rules.constants import SUBMITTED_BY_PUBLIC_FORM
from shared.rules.domain import UK

FORM_CHANNEL = "web"  # the contribution's channel: it came in through a web page
FORM_TYPE = "view"


@dataclass(frozen=True)
class Receipt:
    reference: str
    new: bool  # False when it repeated a view already kept


def open_engagements(uow: IntakeUnitOfWork, tenant: str, *, today: dt.date) -> list[model.Engagement]:
    """The council's engagements that still take views, soonest feedback date first."""
    with uow:
        return uow.engagements.taking_views(tenant, today)


def engagement_to_answer(uow: IntakeUnitOfWork, engagement_id: str, *, today: dt.date) -> model.Engagement:
    """NotFound for no such engagement; EngagementClosed once its feedback date has passed."""
    with uow:
        engagement = uow.engagements.find(engagement_id)
    rules.check_open(engagement, today)
    return engagement


def have_your_say(
    uow: IntakeUnitOfWork, engagement_id: str, form: dict, *, address: str, now: dt.datetime, source: str
) -> Receipt:
    """Take a view sent through the form (`form` as the form's schema loads it)."""
    today = now.astimezone(UK).date()
    engagement = engagement_to_answer(uow, engagement_id, today=today)
    consented = form["channel"] != "none" and form["consent"]
    data = {
        "engagement_id": engagement.id,
        "type": FORM_TYPE,
        "text": form["text"],
        "on_behalf_of": 1,
        "channel": FORM_CHANNEL,
        "participant": {
            "external_ref": None,
            "name": form.get("name"),
            "email": form.get("email") if consented else None,
            "phone": form.get("phone") if consented else None,
            "address_lines": form.get("address_lines") if consented else None,
            "postcode": form.get("postcode") if consented else None,
            "preferred_channel": form["channel"] if consented else "none",
            "language": form["language"],
            "format": form["format"],
            "consent_to_contact": consented,
            "equality": rules.equality_answers(form["equality"]) or None,
        },
    }
    repeat = uow.sealer.lookup_key(
        rules.REPEAT_PURPOSE, rules.repeat_material(address, engagement.id, form["text"], today)
    )
    contribution, created = services.submit_contribution(
        uow,
        services.Submitter(tenant=engagement.tenant, role=SUBMITTED_BY_PUBLIC_FORM, identity=SUBMITTED_BY_PUBLIC_FORM),
        data,
        now=now,
        source=source,
        idempotency_key=rules.REPEAT_KEY_PREFIX + repeat,
        request_fingerprint=repeat,  # any repeat is the first view again, whatever else changed
    )
    return Receipt(reference=contribution.reference, new=created)
