"""Letters by post: their wording, GOV.UK Notify's letter API, and the outbox `make run` uses.

A letter says what the email says (the same template's `body`, so every message kind, in
every language and format, has its letter), headed by its subject, and ends with where to
change how we contact the person or stop, written out in full as paper has no links.
Large print is the standard wording, each sentence its own paragraph, and tells the
Notify template so (`((large_print??...))`), which sets it in large type.

The letter goes to Notify's letter template as `subject` and `body`, addressed by
`address_line_1` to `address_line_7` (the name first, the postcode last).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from services.notifier.adapters.providers import OutgoingMessage
from services.notifier.adapters.providers import _classify_http as classify_http
from services.notifier.adapters.templates import FALLBACK_LANGUAGE, Rendered
from shared.rules.constants import STATUS_DELIVERED, STATUS_FAILED
from shared.rules.contact_details import LETTER_ADDRESS_LINES

FOOTER = {
    "en": "To change how we contact you, or to stop these letters, go to {preferences_url}",
    "cy": "I newid sut rydyn ni'n cysylltu â chi, neu i stopio'r llythyrau hyn, ewch i {preferences_url}",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÂÊÎÔÛŴŶ0-9])")

# GOV.UK Notify's letter statuses, as the outcome chain's message statuses. "accepted"
# (being printed) and the checks before it are on the way: the letter stays `sent`.
# "received" means the print provider has posted it: as delivered as a letter gets.
LETTER_RECEIPT_STATUSES = {
    "received": STATUS_DELIVERED,
    "cancelled": STATUS_FAILED,
    "validation-failed": STATUS_FAILED,
    "virus-scan-failed": STATUS_FAILED,
    "technical-failure": STATUS_FAILED,
    "permanent-failure": STATUS_FAILED,
}


def letter_body(rendered: Rendered, urls: dict, *, format_: str) -> str:
    """The letter's text below its heading: the message, then the footer."""
    paragraphs = [p.strip() for p in rendered.body.split("\n\n") if p.strip()]
    if format_ == "large_print":
        paragraphs = [sentence for p in paragraphs for sentence in _SENTENCE_END.split(p)]
    footer = FOOTER.get(rendered.language, FOOTER[FALLBACK_LANGUAGE])
    paragraphs.append(footer.format(preferences_url=urls["preferences_url"]))
    return "\n\n".join(paragraphs)


def personalisation(message: OutgoingMessage) -> dict[str, str]:
    """What Notify's letter template is filled with: the address lines, subject and body."""
    lines = message.to.split("\n")[:LETTER_ADDRESS_LINES]
    address = {f"address_line_{n}": line for n, line in enumerate(lines, start=1)}
    return {
        **address,
        "subject": message.subject,
        "body": message.letter,
        "large_print": "yes" if message.large_print else "no",
    }


class NotifyLetters:
    """Letters through GOV.UK Notify's Python client (`send_letter_notification`)."""

    name = "notify"
    receipts = True

    def __init__(self, api_key: str, base_url: str, *, template_id: str | None, timeout: float = 10.0):
        from notifications_python_client.notifications import NotificationsAPIClient

        self.client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)
        self.template_id = template_id

    def send(self, message: OutgoingMessage) -> str:
        from notifications_python_client.errors import HTTPError

        try:
            response = self.client.send_letter_notification(
                self.template_id, personalisation(message), reference=message.notification_id
            )
        except HTTPError as exc:
            raise classify_http(exc.status_code, "GOV.UK Notify") from None
        return str(response.get("id", message.notification_id))

    def status(self, provider_reference: str) -> str:
        """The letter's status at Notify now (accepted, received, cancelled ...)."""
        return self.client.get_notification_by_id(provider_reference)["status"]


class OutboxLetters:
    """For one-machine runs: each letter is written as one JSON file under var/letters/."""

    name = "outbox"
    receipts = False

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: OutgoingMessage) -> str:
        path = self.directory / f"{message.notification_id}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({**personalisation(message), "at": time.time()}, ensure_ascii=False))
        temporary.rename(path)
        return message.notification_id
