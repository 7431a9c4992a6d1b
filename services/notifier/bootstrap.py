"""Wires the notifier together. Tests pass their own providers, engine, keys or clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from services.notifier.adapters.letters import NotifyLetters, OutboxLetters
from services.notifier.adapters.providers import NotifyProvider, OutboxSms, Provider, RateLimited, SmtpEmail, TwilioSms
from services.notifier.adapters.templates import Renderer
from services.notifier.domain.letters import LetterBudget
from services.notifier.service_layer import handlers, services
from services.notifier.service_layer.sending import Sender
from services.notifier.service_layer.unit_of_work import NotifierUnitOfWork
from shared.infra import metrics
from shared.infra.auth import KeyStore
from shared.infra.links import Links
from shared.infra.platform import Platform, build_platform, consume
from shared.infra.settings import Settings
from shared.infra.tables import utcnow
from shared.rules.constants import (
    CHANNEL_EMAIL,
    CHANNEL_POST,
    CHANNEL_SMS,
    CONTRIBUTIONS_TOPIC,
    DECISIONS_TOPIC,
    ENGAGEMENTS_TOPIC,
    PARTICIPANTS_TOPIC,
)

SERVICE = "notifier"
INBOUND_TOPICS = [PARTICIPANTS_TOPIC, ENGAGEMENTS_TOPIC, CONTRIBUTIONS_TOPIC, DECISIONS_TOPIC]


@dataclass
class NotifierParts:
    settings: Settings
    links: Links
    sender: Sender


def providers_from(settings: Settings) -> dict[str, Provider]:
    def notify() -> Provider:
        return RateLimited(
            NotifyProvider(
                settings.notify_api_key or "",
                settings.notify_base_url,
                sms_template_id=settings.notify_sms_template_id,
                email_template_id=settings.notify_email_template_id,
            ),
            settings.notify_per_minute,
        )

    email = (
        notify()
        if settings.email_provider == "notify"
        else SmtpEmail(
            settings.smtp_host,
            settings.smtp_port,
            mail_from=settings.mail_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            tls=settings.smtp_tls,
        )
    )
    sms: Provider
    if settings.sms_provider == "notify":
        sms = notify()
    elif settings.sms_provider == "twilio":
        sms = TwilioSms(
            settings.twilio_account_sid or "",
            settings.twilio_auth_token or "",
            settings.twilio_from or "",
            base_url=settings.twilio_base_url,
            status_callback=f"{settings.notifier_public_url.rstrip('/')}/v1/callbacks/twilio",
        )
    else:
        sms = OutboxSms(settings.var_dir / "sms")
    post: Provider = (
        RateLimited(
            NotifyLetters(
                settings.notify_api_key or "",
                settings.notify_base_url,
                template_id=settings.notify_letter_template_id,
            ),
            settings.notify_per_minute,
        )
        if settings.letter_provider == "notify"
        else OutboxLetters(settings.var_dir / "letters")
    )
    return {CHANNEL_EMAIL: email, CHANNEL_SMS: sms, CHANNEL_POST: post}


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: sa.Engine | None = None,
    keys: KeyStore | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    providers: dict[str, Provider] | None = None,
) -> Platform:
    settings = settings or Settings.from_env()
    platform = build_platform(SERVICE, settings, NotifierUnitOfWork, engine=engine, keys=keys, clock=clock)
    consume(platform, "notifier-messages", INBOUND_TOPICS, handlers.HANDLERS)
    links = Links(
        settings.link_signing_secret,
        status_base_url=settings.public_base_url,
        notifier_base_url=settings.notifier_public_url,
        clock=clock,
    )
    sender = Sender(
        uow_factory=platform.uow,
        providers=providers or providers_from(settings),
        renderer=Renderer(),
        links=links,
        sealer=platform.sealer,
        clock=clock,
        source=platform.source,
        lease=dt.timedelta(seconds=settings.lease_seconds),
        digest=dt.timedelta(seconds=settings.digest_seconds),
        sms_quiet_hours=settings.sms_quiet_hours,
        letter_budget=LetterBudget(settings.letters_per_month),
    )
    platform.extensions = {"notifier": NotifierParts(settings, links, sender)}
    platform.gauge_readers.append(lambda: notification_gauges(platform))
    return platform


def notification_gauges(platform: Platform) -> list[metrics.Reading]:
    return [
        metrics.Reading(
            "notifications", "Notifications by status and channel", count, (("status", status), ("channel", channel))
        )
        for (status, channel), count in services.notification_counts(platform.uow(read_only=True)).items()
    ]


def scheduled(platform: Platform) -> list[tuple[float, Callable[[], object]]]:
    parts: NotifierParts = platform.extensions["notifier"]
    return [(parts.settings.send_interval, parts.sender.send_due)]
