"""Exceptions the service layers raise; entry points turn them into 404/409/422 or DLQ."""

from __future__ import annotations


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
