"""Re-keying the phone lookups an inbound SMS is matched by, after the way numbers are read changed.

Lookups were once worked out from the number as typed, reduced by hand to digits: "+44 (0)7700
900123" became 4407700900123, and that person's replies (from +447700900123) went unmatched.
Numbers are now read with phonenumbers (shared/rules/contact_details.py); a lookup worked out the old
way from a well-formed number is the same as the new one, so only the few that differ are
rewritten. The sealed contact is opened to do so, which a schema migration cannot: run
`outcomes phone-lookups rekey` once after deploying (safe to run again; it only writes what differs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.notifier.domain.model import phone_lookup_key
from services.notifier.service_layer.unit_of_work import NotifierUnitOfWork

BATCH_SIZE = 500


@dataclass
class RekeyReport:
    checked: int = 0
    rewritten: int = 0


def rekey_phone_lookups(
    uow_factory: Callable[..., NotifierUnitOfWork], secret: str, *, batch_size: int = BATCH_SIZE
) -> RekeyReport:
    report, after = RekeyReport(), ""
    while True:
        with uow_factory() as uow:
            batch = uow.recipients.sealed_contacts(after, batch_size)
            for participant_id, sealed, stored in batch:
                report.checked += 1
                lookup = phone_lookup_key(secret, uow.sealer.open(sealed).get("phone"))
                if lookup != stored and uow.recipients.set_phone_lookup(participant_id, sealed, lookup):
                    report.rewritten += 1
            uow.commit()
        if len(batch) < batch_size:
            return report
        after = batch[-1][0]
