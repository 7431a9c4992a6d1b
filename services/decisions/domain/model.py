"""Boards, decisions, links and resource changes, and the rules a board must keep.

Plain Python: no framework, no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from shared.rules.constants import (
    LINK_CONFIRMED,
    OUTCOME_ADOPTED,
    OUTCOME_DEFERRED,
    OUTCOME_OUT_OF_SCOPE,
)
from shared.rules.domain import InvalidInput

# The status rule both decisions and intake apply (decisions' views use it from here).
from shared.rules.outcome_status import FINAL_OUTCOMES, ChainFacts, derive_status  # noqa: F401

PENCE = Decimal("0.01")
RESOURCE_ORDER = {"planned": 0, "in_progress": 1, "implemented": 2}


@dataclass
class Board:
    id: str
    tenant: str
    name: str
    remit: str
    created_at: dt.datetime


@dataclass
class Decision:
    id: str
    tenant: str
    board_id: str
    title: str
    description: str
    decided_on: dt.date
    outcome: str
    rationale: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    engagement_id: str | None = None
    scope_limit_kind: str | None = None
    scope_limit: str | None = None
    revisit_on: dt.date | None = None
    version: int = 1

    AMENDABLE = (
        "title",
        "description",
        "decided_on",
        "outcome",
        "rationale",
        "scope_limit_kind",
        "scope_limit",
        "revisit_on",
    )

    def check(self, engagement_cannot_change: list[str] | None) -> None:
        """The board's rules; `engagement_cannot_change` is None when the engagement is unknown."""
        errors: dict[str, list[str]] = {}
        if self.outcome != OUTCOME_ADOPTED and not (self.rationale or "").strip():
            errors["rationale"] = ["Required unless the outcome is adopted: say why."]
        if self.outcome == OUTCOME_DEFERRED and self.revisit_on is None:
            errors["revisit_on"] = ["Required when deferring: say when it will be looked at again."]
        elif self.revisit_on is not None and self.revisit_on < self.decided_on:
            errors["revisit_on"] = ["Must be on or after decided_on."]
        if self.outcome == OUTCOME_OUT_OF_SCOPE:
            if not self.scope_limit_kind or not (self.scope_limit or "").strip():
                errors["scope_limit"] = [
                    "Required when out of scope: name what this engagement cannot change, or the remit limit."
                ]
            elif self.scope_limit_kind == "cannot_change" and engagement_cannot_change is not None:
                if self.scope_limit not in engagement_cannot_change:
                    errors["scope_limit"] = ["Must be one of the engagement's cannot_change items."]
            elif self.scope_limit_kind == "cannot_change" and self.engagement_id is None:
                errors["engagement_id"] = ["Required to name one of an engagement's cannot_change items."]
        if errors:
            raise InvalidInput(errors)

    def snapshot(self) -> dict:
        return {name: getattr(self, name) for name in self.AMENDABLE}

    def amend(self, changes: dict, now: dt.datetime) -> dict:
        """Apply changes; return {field: [before, after]} for what actually changed."""
        changed = {}
        for name, value in changes.items():
            if name in self.AMENDABLE and getattr(self, name) != value:
                changed[name] = [getattr(self, name), value]
                setattr(self, name, value)
        if not changed:
            raise InvalidInput.on("_schema", "The amendment changes nothing.")
        self.version += 1
        self.updated_at = now
        return changed


@dataclass
class Link:
    id: str
    tenant: str
    decision_id: str
    contribution_id: str
    influence: str
    state: str
    linked_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    unlinked_at: dt.datetime | None = None
    unlink_reason: str | None = None

    def confirm(self, now: dt.datetime) -> None:
        """The contribution is known now (even one flagged unresolved may arrive late)."""
        if self.state != LINK_CONFIRMED:
            self.state = LINK_CONFIRMED
            self.confirmed_at = now


@dataclass
class StatusChange:
    status: str
    note: str | None
    at: dt.datetime
    progress_percent: int | None = None


@dataclass
class ResourceChange:
    id: str
    tenant: str
    decision_id: str
    kind: str
    description: str
    status: str
    created_at: dt.datetime
    amount: Decimal | None = None
    currency: str | None = None
    effective_from: dt.date | None = None
    progress_percent: int | None = None
    history: list[StatusChange] = field(default_factory=list)

    def check_money(self) -> None:
        if self.amount is not None:
            self.amount = self.amount.quantize(PENCE)
        if self.amount is not None and self.amount < 0:
            raise InvalidInput.on("amount", "Must not be negative; describe a reduction in the description.")
        if (self.amount is None) != (self.currency is None):
            raise InvalidInput.on(
                "currency" if self.currency is None else "amount", "Give an amount and its currency together."
            )

    def move(
        self, status: str | None, note: str | None, progress_percent: int | None, now: dt.datetime
    ) -> StatusChange:
        """Record a status (or progress) change; going back from implemented needs a note."""
        status = status or self.status
        if status == self.status and progress_percent in (None, self.progress_percent):
            raise InvalidInput.on("status", f"Already {self.status}.")
        if self.status == "cancelled" and status != "cancelled":
            raise InvalidInput.on("status", "A cancelled change cannot be reopened; record a new one.")
        backwards = RESOURCE_ORDER.get(status, 99) < RESOURCE_ORDER.get(self.status, -1)
        if backwards and not (note or "").strip():
            raise InvalidInput.on("note", f"Required to move back from {self.status} to {status}: say why.")
        if status == "cancelled" and not (note or "").strip():
            raise InvalidInput.on("note", "Required to cancel: say why.")
        self.status = status
        if progress_percent is not None:
            self.progress_percent = progress_percent
        if status == "implemented":
            self.progress_percent = 100
        change = StatusChange(status=status, note=note, at=now, progress_percent=self.progress_percent)
        self.history.append(change)
        return change
