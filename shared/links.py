"""Signed, expiring, single-purpose links for participants (no login, no guessable ids).

A status-page link and an unsubscribe link each carry a token scoped to one participant
and one purpose; a tampered or expired token is refused without saying which.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

STATUS_PAGE = "status-page"
UNSUBSCRIBE = "unsubscribe"
MAX_AGE = {STATUS_PAGE: 365 * 24 * 3600, UNSUBSCRIBE: 365 * 24 * 3600}


class InvalidLink(Exception):
    pass


class Links:
    def __init__(self, secret: str, *, status_base_url: str, notifier_base_url: str):
        if not secret:
            raise ValueError("LINK_SIGNING_SECRET is not set")
        self._serializers = {purpose: URLSafeTimedSerializer(secret, salt=purpose) for purpose in MAX_AGE}
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

    def status_url(self, tenant: str, participant_id: str) -> str:
        return f"{self.status_base_url}/status/{self.token(STATUS_PAGE, tenant, participant_id)}"

    def unsubscribe_url(self, tenant: str, participant_id: str) -> str:
        return f"{self.notifier_base_url}/v1/unsubscribe/{self.token(UNSUBSCRIBE, tenant, participant_id)}"
