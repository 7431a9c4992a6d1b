"""Sending what the handlers recorded, in small steps: claim a batch of due messages, gather
what they need in one read, then for each decide (domain/delivery.py), render, deliver, record.

A message is claimed with a lease (status `sending`); if the sender dies before it
records the outcome, the lease runs out and the message is sent again. So a crash can
repeat at most the one message a sender had in flight, never a batch.

That one in flight is all the overlap there is: a send is recorded in the background while
the next message is staged with its provider (SMTP: all but the dot that ends the data, so
the server holds it but has not taken it on), and the next is completed only once the
record is committed. A provider that cannot stage waits for the record before it sends.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa

from services.notifier.adapters.letters import letter_body
from services.notifier.adapters.providers import OutgoingMessage, PermanentFailure, Provider, TemporaryFailure
from services.notifier.adapters.templates import EmptyMessage, Renderer
from services.notifier.domain.delivery import Facts, Fail, Send, Wait, Withhold, decide
from services.notifier.domain.letters import LetterBudget
from services.notifier.domain.model import MAX_ATTEMPTS, SMS_QUIET_HOURS, receipt_reason, retry_delay
from services.notifier.service_layer import letters
from services.notifier.service_layer.unit_of_work import NotifierUnitOfWork
from shared.infra.crypto import Sealer
from shared.infra.links import Links
from shared.messaging.event_definitions import EVENTS
from shared.rules.constants import (
    CHANNEL_POST,
    MESSAGE_ACKNOWLEDGEMENT,
    NOTIFICATION_EVENT_FOR_STATUS,
    NOTIFICATIONS_TOPIC,
    STATUS_CREATED,
    STATUS_FAILED,
    STATUS_SENT,
    STATUS_WITHHELD,
)

log = logging.getLogger(__name__)


def announce_status(
    uow: NotifierUnitOfWork, notification: dict, status: str, reason: str | None, now: dt.datetime, source: str
) -> None:
    """Tell the outcome chain, keyed by the contribution so its story stays in order."""
    uow.announce(
        NOTIFICATIONS_TOPIC,
        type=NOTIFICATION_EVENT_FOR_STATUS[status],
        source=source,
        tenant=notification["tenant"],
        subject=notification["contribution_id"] or notification["participant_id"],
        time=now,
        data=EVENTS[NOTIFICATION_EVENT_FOR_STATUS[status]].build(
            notification_id=notification["id"],
            contribution_id=notification["contribution_id"],
            participant_id=notification["participant_id"],
            kind=notification["kind"],
            channel=notification["channel"],
            status=status,
            status_at=now,
            reason=reason,
        ),
    )


def gather(uow: NotifierUnitOfWork, notifications: list[dict]) -> dict[str, Facts]:
    """{notification id: its recipient, contribution and engagement}, in three queries."""
    recipients = uow.recipients.get_many({n["participant_id"] for n in notifications})
    contributions = uow.read.contributions({n["contribution_id"] for n in notifications if n["contribution_id"]})
    engagements = uow.read.engagements({c["engagement_id"] for c in contributions.values()})
    facts = {}
    for notification in notifications:
        contribution = contributions.get(notification["contribution_id"]) if notification["contribution_id"] else None
        engagement = engagements.get(contribution["engagement_id"]) if contribution else None
        facts[notification["id"]] = Facts(recipients.get(notification["participant_id"]), contribution, engagement)
    return facts


@dataclass
class Sender:
    uow_factory: Callable[..., NotifierUnitOfWork]  # uow_factory(read_only=True) for reads
    providers: dict[str, Provider]
    renderer: Renderer
    links: Links
    sealer: Sealer
    clock: Callable[[], dt.datetime]
    source: str
    batch_size: int = 20
    lease: dt.timedelta = dt.timedelta(seconds=60)
    # How long to wait for a participant's or engagement's event before giving up.
    patience: dt.timedelta = dt.timedelta(hours=1)
    # Optional digest window: updates to one person within it go as one message (0: off).
    digest: dt.timedelta = dt.timedelta(0)
    # (start, end) UK time when no SMS goes out; None: none.
    sms_quiet_hours: tuple[dt.time, dt.time] | None = SMS_QUIET_HOURS
    # Letters a tenant may send a month; over it, a letter waits for the next (None: no limit).
    letter_budget: LetterBudget | None = None
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    # The record of the last message handed over, being written in the background.
    _recording: Future | None = field(default=None, init=False, repr=False)
    _recorder: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def send_due(self) -> int:
        """Claim a batch of due messages, read what they need in one go, then for each:
        decide, render, deliver, record."""
        now = self.clock()
        with self.uow_factory() as uow:
            claimed = uow.notifications.claim_due(now, self.batch_size, self.lease)
            uow.commit()
        if not claimed:
            return 0
        with self.uow_factory(read_only=True) as uow:
            facts = gather(uow, claimed)
        try:
            for first, others in self._groups(claimed):
                self._send_one(first, facts, others)
        finally:
            self._await_record()
        return len(claimed)

    def _hand_over(self, provider: Provider, message: OutgoingMessage) -> str:
        """Give the message to its provider once the previous one is recorded: staged while
        that record is written if the provider can stage it, completed only after."""
        stage = getattr(provider, "stage", None)
        if stage is None:
            self._await_record()
            return provider.send(message)
        staged = stage(message)
        try:
            self._await_record()
        except BaseException:
            staged.abort()
            raise
        return staged.complete()

    def _record_in_background(self, record: Callable[[], None]) -> None:
        if self._recorder is None:
            self._recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sender-record")
        self._recording = self._recorder.submit(record)

    def _await_record(self) -> None:
        """Until the last send is recorded (its failure raised here, so nothing more goes)."""
        recording, self._recording = self._recording, None
        if recording is not None:
            recording.result()

    def _groups(self, claimed: list[dict]) -> list[tuple[dict, list[dict]]]:
        """(message, the others claimed to go with it): with a digest window, a person's
        updates claimed together go together; acknowledgements always go alone, first."""
        if not self.digest:
            return [(notification, []) for notification in claimed]
        alone = [(n, []) for n in claimed if n["kind"] == MESSAGE_ACKNOWLEDGEMENT]
        updates: dict[str, list[dict]] = {}
        for notification in claimed:
            if notification["kind"] != MESSAGE_ACKNOWLEDGEMENT:
                updates.setdefault(notification["participant_id"], []).append(notification)
        return alone + [(first, others) for first, *others in updates.values()]

    def _send_one(self, notification: dict, facts: dict[str, Facts], claimed_with: list[dict]) -> None:
        now = self.clock()
        recipient = facts[notification["id"]].recipient
        opened: list[dict] = []

        def contact() -> dict:
            opened.append(self.sealer.open(recipient.contact_sealed))
            return opened[-1]

        step = decide(
            notification,
            facts[notification["id"]],
            contact,
            now=now,
            patience=self.patience,
            quiet_hours=self.sms_quiet_hours,
        )
        if isinstance(step, Withhold):
            return self._finish(notification, STATUS_WITHHELD, step.reason, channel="none")
        if isinstance(step, Fail):
            return self._finish(notification, STATUS_FAILED, step.reason, channel=step.channel)
        if isinstance(step, Wait):
            return self._reschedule(notification, step.until, count_attempt=False, channel=step.channel)
        if step.channel == CHANNEL_POST and self._hold_letter(notification, recipient.tenant, now):
            return None
        group = self._group(notification, step.channel, claimed_with, facts, now)
        if group:
            self._deliver(group, facts, step, opened[-1], now)

    def _hold_letter(self, notification: dict, tenant: str, now: dt.datetime) -> bool:
        """Over the council's letter budget for the month, the letter waits for the next."""
        if self.letter_budget is None:
            return False
        self._await_record()  # the letter before this one counts against the budget
        next_month = letters.over_budget_until(self.uow_factory, self.letter_budget, tenant, now)
        if next_month is None:
            return False
        letters.hold_letter(
            self.uow_factory,
            notification,
            next_month,
            now,
            lambda uow, held, status, reason: announce_status(uow, held, status, reason, now, self.source),
        )
        return True

    def _group(
        self, notification: dict, channel: str, claimed_with: list[dict], facts: dict[str, Facts], now: dt.datetime
    ) -> list[dict]:
        """The messages to go as one: this one, or with a digest window every pending update
        to the person once the window has passed ([] while it has not: they wait for it)."""
        if not self.digest or notification["kind"] == MESSAGE_ACKNOWLEDGEMENT:
            return [notification]
        ready_at = notification["created_at"] + self.digest
        if now < ready_at:  # wait for other updates to this person, to send them as one
            for member in [notification, *claimed_with]:
                self._reschedule(
                    member, max(ready_at, member["created_at"] + self.digest), count_attempt=False, channel=channel
                )
            return []
        with self.uow_factory() as uow:
            more = uow.notifications.claim_pending_updates(
                notification["participant_id"], besides=notification["id"], now=now, lease=self.lease
            )
            facts.update(gather(uow, more))
            uow.commit()
        return [notification, *claimed_with, *more]

    def _deliver(self, group: list[dict], facts: dict[str, Facts], step: Send, contact: dict, now: dt.datetime) -> None:
        """Render the group as one message, hand it to the channel's provider, record the outcome."""
        first, channel = group[0], step.channel
        recipient = facts[first["id"]].recipient
        urls = self._urls(recipient)
        try:
            rendered = self._render(group, facts, recipient, contact, urls)
        except EmptyMessage as empty:
            for member in group:
                self._finish(member, STATUS_FAILED, str(empty), channel=channel)
            return
        message = OutgoingMessage(
            notification_id=first["id"],
            channel=channel,
            to=step.address,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            sms=rendered.sms,
            unsubscribe_url=urls["unsubscribe_url"],
            letter=letter_body(rendered, urls, format_=recipient.format) if channel == CHANNEL_POST else "",
            large_print=recipient.format == "large_print",
        )
        provider = self.providers[channel]
        try:
            reference = self._hand_over(provider, message)
        except TemporaryFailure as failure:
            for member in group:
                self._retry_or_give_up(member, channel, failure, now)
            return
        except PermanentFailure as failure:
            for member in group:
                self._finish(member, STATUS_FAILED, str(failure), channel=channel, attempts=member["attempts"] + 1)
            return

        def record() -> None:
            for member in group:
                self._finish(
                    member,
                    STATUS_SENT,
                    None,
                    channel=channel,
                    attempts=member["attempts"] + 1,
                    provider=provider.name,
                    provider_reference=reference,
                    language_used=rendered.language,
                )

        self._record_in_background(record)

    def _render(self, group: list[dict], facts: dict[str, Facts], recipient, contact: dict, urls: dict):
        parts = [
            self.renderer.render(
                member["kind"],
                language=recipient.language,
                format_=recipient.format,
                context={**self._context(member, contact, facts[member["id"]]), **urls},
            )
            for member in group
        ]
        return parts[0] if len(parts) == 1 else self.renderer.combine(parts, format_=recipient.format, urls=urls)

    def _retry_or_give_up(self, member: dict, channel: str, failure: TemporaryFailure, now: dt.datetime) -> None:
        attempts = member["attempts"] + 1
        if attempts >= MAX_ATTEMPTS:
            self._finish(
                member,
                STATUS_FAILED,
                f"gave up after {attempts} attempts: {failure}",
                channel=channel,
                attempts=attempts,
            )
        else:
            self._reschedule(
                member,
                now + retry_delay(attempts, self.rng),
                count_attempt=True,
                channel=channel,
                detail=str(failure),
            )

    def _urls(self, recipient) -> dict[str, str]:
        """The person's own links: their status page (in their language and layout), how we
        contact them, and stop."""
        tenant, participant = recipient.tenant, recipient.participant_id
        return {
            "status_url": self.links.status_url(tenant, participant, lang=recipient.language, format_=recipient.format),
            "preferences_url": self.links.preferences_url(tenant, participant, lang=recipient.language),
            "unsubscribe_url": self.links.unsubscribe_url(tenant, participant),
        }

    def _context(self, notification: dict, contact: dict, facts: Facts) -> dict:
        story = notification["context"] or {}
        contribution, engagement = facts.contribution, facts.engagement
        changes = story.get("resource_changes") or []
        return {
            "name": contact.get("name"),
            "reference": (contribution or {}).get("reference") or story.get("reference") or "",
            "type": (contribution or {}).get("type"),
            "engagement_title": (engagement or {}).get("title") or story.get("engagement_title") or "",
            "can_change": (engagement or {}).get("can_change") or [],
            "cannot_change": (engagement or {}).get("cannot_change") or [],
            "decision_maker": (engagement or {}).get("decision_maker"),
            "feedback_due": (engagement or {}).get("feedback_due") or story.get("feedback_due"),
            "decision_title": story.get("title", ""),
            "outcome": story.get("outcome", ""),
            "rationale": story.get("rationale"),
            "influence": self._open(story, "sealed_influence"),
            "revisit_on": story.get("revisit_on"),
            "changes": changes,
            "change_description": story.get("description", ""),
            "change_status": story.get("status", ""),
            "change_note": self._open(story, "sealed_note") or None,
            "reason": self._open(story, "sealed_reason"),
        }

    def _open(self, story: dict, field: str) -> str:
        return self.sealer.open(story[field]) if story.get(field) else ""

    def _reschedule(
        self,
        notification: dict,
        when: dt.datetime,
        *,
        count_attempt: bool,
        channel: str | None = None,
        detail: str | None = None,
    ) -> None:
        now = self.clock()
        with self.uow_factory() as uow:
            values = {"status": STATUS_CREATED, "next_attempt_at": when, "updated_at": now}
            if channel:
                values["channel"] = channel
            if count_attempt:
                values["attempts"] = notification["attempts"] + 1
                uow.notifications.record_attempt(notification["id"], now, "retry", detail)
            uow.notifications.update(notification["id"], **values)
            uow.commit()

    def _finish(self, notification: dict, status: str, reason: str | None, **values) -> None:
        """Record how a message ended. If the database is briefly away (a restart, a fail-over),
        keep trying for up to half the lease: giving up would let the lease run out and the
        message go to the person a second time."""
        give_up_at = time.monotonic() + self.lease.total_seconds() / 2
        wait = 0.25
        while True:
            try:
                return self._record_finish(notification, status, reason, **values)
            except sa.exc.DBAPIError as exc:
                if not exc.connection_invalidated and not isinstance(exc, sa.exc.OperationalError):
                    raise
                if time.monotonic() + wait > give_up_at:
                    raise
                log.warning(
                    "database away while recording a message; trying again",
                    extra={"notification_id": notification["id"], "retry_in": wait},
                )
                self.sleep(wait)
                wait = min(wait * 2, 5.0)

    def _record_finish(
        self,
        notification: dict,
        status: str,
        reason: str | None,
        *,
        channel: str | None = None,
        attempts: int | None = None,
        **values,
    ) -> None:
        now = self.clock()
        finished = {**notification, "channel": channel or notification["channel"]}
        with self.uow_factory() as uow:
            uow.notifications.update(
                notification["id"],
                status=status,
                reason=reason,
                channel=finished["channel"],
                attempts=attempts if attempts is not None else notification["attempts"],
                updated_at=now,
                **values,
            )
            if status != STATUS_WITHHELD:
                uow.notifications.record_attempt(notification["id"], now, status, reason)
            announce_status(uow, finished, status, reason, now, self.source)
            early = (
                uow.notifications.early_receipt(notification["id"])
                if status == STATUS_SENT and getattr(self.providers.get(finished["channel"]), "receipts", True)
                else None
            )
            if early:
                final, provider_status = early
                final_reason = receipt_reason(final, provider_status)
                uow.notifications.update(notification["id"], status=final, reason=final_reason, updated_at=now)
                uow.notifications.record_attempt(notification["id"], now, final, final_reason)
                announce_status(uow, finished, final, final_reason, now, self.source)
            uow.commit()
        if status == STATUS_FAILED:
            log.warning("notification failed", extra={"notification_id": notification["id"], "reason": reason})
