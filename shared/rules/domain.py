"""Exceptions the service layers raise (entry points turn them into 404/409/422 or DLQ),
and the few plain facts every service's rules share."""

from __future__ import annotations

from zoneinfo import ZoneInfo

# Councils work to UK time: feedback dates, reference years, quiet hours.
UK = ZoneInfo("Europe/London")


class InvalidInput(Exception):
    """Well-formed input that breaks a rule. `errors` maps field -> messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        return cls({field: [message]})


class NotFound(Exception):
    """Unknown, or belonging to another tenant: the two are never told apart."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class Conflict(Exception):
    pass


def required(found, what: str):
    """`found`, or NotFound: an unknown id and another tenant's answer alike."""
    if found is None:
        raise NotFound(what)
    return found
