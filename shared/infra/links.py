"""Signed, expiring, single-purpose links for participants (no login, no guessable ids).

A status-page, preferences or unsubscribe link each carries a token scoped to one
participant and one purpose; a tampered or expired token is refused without saying which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlencode

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from shared.infra.tables import utcnow

STATUS_PAGE = "status-page"
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
MAX_AGE = {STATUS_PAGE: 365 * 24 * 3600, UNSUBSCRIBE: 365 * 24 * 3600, PREFERENCES: 365 * 24 * 3600}


# What a link may ask of a page beyond its default (English, the standard layout).
PAGE_CHOICES = {"lang": ("cy",), "format": ("easy_read",)}


class InvalidLink(Exception):
    pass


def _signer_on(clock: Callable[[], dt.datetime]) -> type[TimestampSigner]:
    """A signer that stamps and checks ages by the service's clock, so expiry is testable."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return ClockedSigner


class Links:
    def __init__(
        self,
        secret: str,
        *,
        status_base_url: str,
        notifier_base_url: str = "",  # only the service that makes notifier links needs it
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        if not secret:
            raise ValueError("LINK_SIGNING_SECRET is not set")
        signer = _signer_on(clock)
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret, salt=purpose, signer=signer) for purpose in MAX_AGE
        }
        self.status_base_url = status_base_url.rstrip("/")
        self.notifier_base_url = notifier_base_url.rstrip("/")

    def token(self, purpose: str, tenant: str, participant_id: str) -> str:
        return self._serializers[purpose].dumps({"t": tenant, "p": participant_id})

    def read(self, purpose: str, token: str) -> tuple[str, str]:
        """(tenant, participant id) of a valid token; InvalidLink otherwise."""
        try:
            claims = self._serializers[purpose].loads(token, max_age=MAX_AGE[purpose])
            return claims["t"], claims["p"]
        except (BadSignature, KeyError, TypeError):
            raise InvalidLink() from None

    def status_url(self, tenant: str, participant_id: str, *, lang: str = "en", format_: str = "standard") -> str:
        """The status page, opening in the person's language and (easy read) format when
        those are not the defaults."""
        url = f"{self.status_base_url}/status/{self.token(STATUS_PAGE, tenant, participant_id)}"
        query = {k: v for k, v in (("lang", lang), ("format", format_)) if v in PAGE_CHOICES[k]}
        return f"{url}?{urlencode(query)}" if query else url

    def preferences_url(self, tenant: str, participant_id: str, *, lang: str = "en") -> str:
        url = f"{self.notifier_base_url}/preferences/{self.token(PREFERENCES, tenant, participant_id)}"
        return f"{url}?lang=cy" if lang == "cy" else url

    def unsubscribe_url(self, tenant: str, participant_id: str) -> str:
        return f"{self.notifier_base_url}/v1/unsubscribe/{self.token(UNSUBSCRIBE, tenant, participant_id)}"
