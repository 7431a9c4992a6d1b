"""Loading and saving decisions' aggregates and read models. Every query names a tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.decisions.adapters.tables import (
    boards,
    contributions_view,
    decision_versions,
    decisions,
    engagements_view,
    erased_participants,
    links,
    messages_view,
    overdue_notices,
    ratings_view,
    resource_change_history,
    resource_changes,
)
from services.decisions.domain.model import Board, Decision, Link, ResourceChange, StatusChange
from shared.rules.constants import LINK_CONFIRMED, LINK_PENDING, LINK_UNRESOLVED

CHUNK = 500  # ids per IN (...) clause: well inside every backend's parameter limit


def _ids() -> sa.BindParameter:
    """An expanding IN (...) parameter: the statement is built once and its SQL cached."""
    return sa.bindparam("ids", expanding=True)


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _named(names: tuple[str, ...], row: sa.Row, start: int) -> dict:
    """{name: value} of the `len(names)` columns of `row` from position `start` (a joined row)."""
    return dict(zip(names, row[start : start + len(names)], strict=True))


_LINK_COLUMNS = tuple(links.c.keys())
_DECISION_COLUMNS = tuple(decisions.c.keys())
_CONTRIBUTION_COLUMNS = tuple(contributions_view.c.keys())
_ENGAGEMENT_COLUMNS = tuple(engagements_view.c.keys())
_RATING_COLUMNS = tuple(ratings_view.c.keys())
_CHANGE_COLUMNS = tuple(resource_changes.c.keys())
_HISTORY_COLUMNS = tuple(resource_change_history.c.keys())


def _json_safe(snapshot: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v for k, v in snapshot.items()}


class BoardRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, board: Board) -> None:
        self.session.execute(boards.insert(), vars(board))

    def get(self, tenant: str, board_id: str) -> Board | None:
        row = (
            self.session.execute(sa.select(boards).where(boards.c.tenant == tenant, boards.c.id == board_id))
            .mappings()
            .first()
        )
        return Board(**row) if row else None

    def list(self, tenant: str) -> list[Board]:
        rows = self.session.execute(
            sa.select(boards).where(boards.c.tenant == tenant).order_by(boards.c.name)
        ).mappings()
        return [Board(**row) for row in rows]


class DecisionRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, decision: Decision, recorded_by: str) -> None:
        self.session.execute(decisions.insert(), vars(decision))
        self._version(decision, None, recorded_by)

    def _version(self, decision: Decision, reason: str | None, recorded_by: str) -> None:
        self.session.execute(
            decision_versions.insert(),
            dict(
                decision_id=decision.id,
                version=decision.version,
                snapshot=_json_safe(decision.snapshot()),
                reason=reason,
                recorded_at=decision.updated_at,
                recorded_by=recorded_by,
            ),
        )

    def save_amendment(self, decision: Decision, reason: str, recorded_by: str) -> None:
        values = {name: getattr(decision, name) for name in (*Decision.AMENDABLE, "version", "updated_at")}
        self.session.execute(decisions.update().where(decisions.c.id == decision.id).values(**values))
        self._version(decision, reason, recorded_by)

    def get(self, tenant: str, decision_id: str, *, for_update: bool = False) -> Decision | None:
        """`for_update` locks the row (PostgreSQL) so two amendments queue, not collide."""
        query = sa.select(decisions).where(decisions.c.tenant == tenant, decisions.c.id == decision_id)
        row = self.session.execute(query.with_for_update() if for_update else query).mappings().first()
        return Decision(**row) if row else None

    _by_ids = sa.select(decisions).where(decisions.c.id.in_(_ids()))
    _versions_of = (
        sa.select(decision_versions)
        .where(decision_versions.c.decision_id.in_(_ids()))
        .order_by(decision_versions.c.decision_id, decision_versions.c.version)
    )

    def get_many(self, decision_ids: Iterable[str]) -> dict[str, Decision]:
        found = {}
        for chunk in chunks(sorted(set(decision_ids))):
            for row in self.session.connection().execute(self._by_ids, {"ids": chunk}).mappings():
                found[row["id"]] = Decision(**row)
        return found

    def versions_of(self, decision_ids: Iterable[str]) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for chunk in chunks(sorted(set(decision_ids))):
            for row in self.session.connection().execute(self._versions_of, {"ids": chunk}).mappings():
                found.setdefault(row["decision_id"], []).append(dict(row))
        return found

    def list(self, tenant: str, *, board_id: str | None, engagement_id: str | None, offset: int, limit: int):
        conditions = [decisions.c.tenant == tenant]
        if board_id:
            conditions.append(decisions.c.board_id == board_id)
        if engagement_id:
            conditions.append(decisions.c.engagement_id == engagement_id)
        rows = self.session.execute(
            sa.select(decisions)
            .where(*conditions)
            .order_by(decisions.c.decided_on.desc(), decisions.c.id)
            .offset(offset)
            .limit(limit)
        ).mappings()
        total = self.session.execute(sa.select(sa.func.count()).select_from(decisions).where(*conditions)).scalar_one()
        return [Decision(**row) for row in rows], total

    def versions(self, decision_id: str) -> list[dict]:
        rows = self.session.execute(
            sa.select(decision_versions)
            .where(decision_versions.c.decision_id == decision_id)
            .order_by(decision_versions.c.version)
        ).mappings()
        return [dict(row) for row in rows]

    def for_engagement(self, tenant: str, engagement_id: str) -> list[Decision]:
        """Decisions recorded against the engagement or linked to any of its contributions."""
        linked = (
            sa.select(links.c.decision_id)
            .join(contributions_view, contributions_view.c.id == links.c.contribution_id)
            .where(contributions_view.c.engagement_id == engagement_id, links.c.unlinked_at.is_(None))
        )
        rows = self.session.execute(
            sa.select(decisions)
            .where(
                decisions.c.tenant == tenant,
                sa.or_(decisions.c.engagement_id == engagement_id, decisions.c.id.in_(linked)),
            )
            .order_by(decisions.c.decided_on, decisions.c.id)
        ).mappings()
        return [Decision(**row) for row in rows]


class LinkRepository:
    def __init__(self, session: Session):
        self.session = session

    def add_many(self, new_links: list[Link]) -> None:
        if new_links:
            self.session.execute(links.insert(), [vars(link) for link in new_links])

    def active_for_decision(self, decision_id: str) -> list[Link]:
        rows = self.session.execute(
            sa.select(links)
            .where(links.c.decision_id == decision_id, links.c.unlinked_at.is_(None))
            .order_by(links.c.linked_at)
        ).mappings()
        return [Link(**row) for row in rows]

    _of_contribution = (
        sa.select(links)
        .where(links.c.tenant == sa.bindparam("tenant"), links.c.contribution_id == sa.bindparam("contribution_id"))
        .order_by(links.c.linked_at)
    )

    def all_for_contribution(self, tenant: str, contribution_id: str) -> list[Link]:
        rows = (
            self.session.connection()
            .execute(self._of_contribution, {"tenant": tenant, "contribution_id": contribution_id})
            .mappings()
        )
        return [Link(**row) for row in rows]

    _of_contribution_with_decisions = (
        sa.select(*links.c, *decisions.c)
        .join_from(links, decisions, decisions.c.id == links.c.decision_id)
        .where(links.c.tenant == sa.bindparam("tenant"), links.c.contribution_id == sa.bindparam("contribution_id"))
        .order_by(links.c.linked_at)
    )

    def all_for_contribution_with_decisions(
        self, tenant: str, contribution_id: str
    ) -> tuple[list[Link], dict[str, Decision]]:
        """The contribution's links, oldest first, and the decisions they name: one statement."""
        found_links, found_decisions = [], {}
        params = {"tenant": tenant, "contribution_id": contribution_id}
        for row in self.session.connection().execute(self._of_contribution_with_decisions, params):
            link = Link(**_named(_LINK_COLUMNS, row, 0))
            found_links.append(link)
            if link.decision_id not in found_decisions:
                found_decisions[link.decision_id] = Decision(**_named(_DECISION_COLUMNS, row, len(_LINK_COLUMNS)))
        return found_links, found_decisions

    def active_contribution_ids(self, decision_id: str, candidates: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(sorted(set(candidates))):
            found.update(
                self.session.execute(
                    sa.select(links.c.contribution_id).where(
                        links.c.decision_id == decision_id,
                        links.c.unlinked_at.is_(None),
                        links.c.contribution_id.in_(chunk),
                    )
                ).scalars()
            )
        return found

    def find_active(self, tenant: str, decision_id: str, contribution_id: str) -> Link | None:
        row = (
            self.session.execute(
                sa.select(links).where(
                    links.c.tenant == tenant,
                    links.c.decision_id == decision_id,
                    links.c.contribution_id == contribution_id,
                    links.c.unlinked_at.is_(None),
                )
            )
            .mappings()
            .first()
        )
        return Link(**row) if row else None

    def pending_for_contribution(self, tenant: str, contribution_id: str) -> list[Link]:
        rows = self.session.execute(
            sa.select(links).where(
                links.c.tenant == tenant,
                links.c.contribution_id == contribution_id,
                links.c.state.in_((LINK_PENDING, LINK_UNRESOLVED)),
                links.c.unlinked_at.is_(None),
            )
        ).mappings()
        return [Link(**row) for row in rows]

    def save_state(self, link: Link) -> None:
        self.session.execute(
            links.update()
            .where(links.c.id == link.id)
            .values(
                state=link.state,
                confirmed_at=link.confirmed_at,
                unlinked_at=link.unlinked_at,
                unlink_reason=link.unlink_reason,
            )
        )

    def flag_unresolved(self, linked_before: dt.datetime) -> list[Link]:
        rows = self.session.execute(
            sa.select(links).where(
                links.c.state == LINK_PENDING, links.c.linked_at < linked_before, links.c.unlinked_at.is_(None)
            )
        ).mappings()
        stale = [Link(**row) for row in rows]
        for chunk in chunks([link.id for link in stale]):
            self.session.execute(links.update().where(links.c.id.in_(chunk)).values(state=LINK_UNRESOLVED))
        return stale

    def waiting_on_known_contributions(self, limit: int = 500) -> list[tuple[str, str]]:
        """(tenant, contribution id) of pending links whose contribution the read model knows:
        a link saved while its contribution's event was being applied, which missed it."""
        query = (
            sa.select(links.c.tenant, links.c.contribution_id)
            .join(
                contributions_view,
                sa.and_(
                    contributions_view.c.id == links.c.contribution_id, contributions_view.c.tenant == links.c.tenant
                ),
            )
            .where(links.c.state.in_((LINK_PENDING, LINK_UNRESOLVED)), links.c.unlinked_at.is_(None))
            .distinct()
            .limit(limit)
        )
        return [tuple(row) for row in self.session.execute(query)]

    def count_unresolved(self, tenant: str) -> int:
        return self.session.execute(
            sa.select(sa.func.count()).where(
                links.c.tenant == tenant, links.c.state == LINK_UNRESOLVED, links.c.unlinked_at.is_(None)
            )
        ).scalar_one()


class ResourceChangeRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, change: ResourceChange) -> None:
        values = {k: v for k, v in vars(change).items() if k != "history"}
        self.session.execute(resource_changes.insert(), values)
        for entry in change.history:
            self._history(change.id, entry)

    def _history(self, change_id: str, entry: StatusChange) -> None:
        self.session.execute(resource_change_history.insert(), dict(resource_change_id=change_id, **vars(entry)))

    def save_move(self, change: ResourceChange, entry: StatusChange) -> None:
        self.session.execute(
            resource_changes.update()
            .where(resource_changes.c.id == change.id)
            .values(status=change.status, progress_percent=change.progress_percent)
        )
        self._history(change.id, entry)

    def get(self, tenant: str, change_id: str, *, for_update: bool = False) -> ResourceChange | None:
        query = sa.select(resource_changes).where(
            resource_changes.c.tenant == tenant, resource_changes.c.id == change_id
        )
        row = self.session.execute(query.with_for_update() if for_update else query).mappings().first()
        return self._with_history([ResourceChange(**row)])[0] if row else None

    _history_of = (
        sa.select(resource_change_history)
        .where(resource_change_history.c.resource_change_id.in_(_ids()))
        .order_by(resource_change_history.c.id)
    )

    _of_decisions_with_history = (
        sa.select(*resource_changes.c, *resource_change_history.c)
        .outerjoin_from(
            resource_changes,
            resource_change_history,
            resource_change_history.c.resource_change_id == resource_changes.c.id,
        )
        .where(resource_changes.c.decision_id.in_(_ids()))
        .order_by(resource_changes.c.created_at, resource_change_history.c.id)
    )

    def for_decisions(self, decision_ids: Iterable[str]) -> list[ResourceChange]:
        """The decisions' resource changes, oldest first, each with its history: one statement
        (per CHUNK decisions)."""
        found: dict[str, ResourceChange] = {}
        at_history = len(_CHANGE_COLUMNS)
        for chunk in chunks(sorted(set(decision_ids))):
            for row in self.session.connection().execute(self._of_decisions_with_history, {"ids": chunk}):
                change_id = row[0]
                if change_id not in found:
                    found[change_id] = ResourceChange(**_named(_CHANGE_COLUMNS, row, 0))
                entry = _named(_HISTORY_COLUMNS, row, at_history)
                if entry["id"] is not None:
                    found[change_id].history.append(
                        StatusChange(
                            status=entry["status"],
                            note=entry["note"],
                            at=entry["at"],
                            progress_percent=entry["progress_percent"],
                        )
                    )
        return list(found.values())

    def _with_history(self, changes: list[ResourceChange]) -> list[ResourceChange]:
        by_id = {change.id: change for change in changes}
        for chunk in chunks(list(by_id)):
            rows = self.session.connection().execute(self._history_of, {"ids": chunk}).mappings()
            for row in rows:
                by_id[row["resource_change_id"]].history.append(
                    StatusChange(
                        status=row["status"], note=row["note"], at=row["at"], progress_percent=row["progress_percent"]
                    )
                )
        return changes


class _Write:
    """A read model row written as INSERT, or as UPDATE of the row held under its key: the
    caller already knows which, and both statements are built once (no cache key per event)."""

    def __init__(self, table: sa.Table, key: str):
        self.key = key
        self.insert = table.insert()
        self.update = table.update().where(table.c[key] == sa.bindparam("held_key"))

    def __call__(self, connection: sa.Connection, values: dict, *, held: bool) -> None:
        if held:
            changes = {name: value for name, value in values.items() if name != self.key}
            connection.execute(self.update, {**changes, "held_key": values[self.key]})
        else:
            connection.execute(self.insert, values)


_ENGAGEMENT_WRITE = _Write(engagements_view, "id")
_CONTRIBUTION_WRITE = _Write(contributions_view, "id")
_MESSAGE_WRITE = _Write(messages_view, "notification_id")


class ContributionArrival(NamedTuple):
    contribution_tenant: str | None
    engagement_tenant: str | None
    erased_at: dt.datetime | None
    links_waiting: bool


class MessageArrival(NamedTuple):
    tenant: str | None
    status: str | None
    contribution_tenant: str | None


class ReadModels:
    """What decisions knows of other services, learned only from their events."""

    def __init__(self, session: Session):
        self.session = session

    def _upsert(self, table: sa.Table, key: dict, values: dict) -> None:
        where = [table.c[name] == value for name, value in key.items()]
        if self.session.execute(sa.select(sa.literal(1)).select_from(table).where(*where)).first():
            self.session.execute(table.update().where(*where).values(**values))
        else:
            self.session.execute(table.insert(), dict(**key, **values))

    _tenant_of_engagement = sa.select(engagements_view.c.tenant).where(engagements_view.c.id == sa.bindparam("id"))

    def tenant_of_engagement(self, engagement_id: str) -> str | None:
        return self.session.connection().execute(self._tenant_of_engagement, {"id": engagement_id}).scalar_one_or_none()

    def add_or_replace_engagement(self, values: dict, *, held: bool) -> None:
        """Insert the engagement, or replace the one `held` already (engagement.updated)."""
        _ENGAGEMENT_WRITE(self.session.connection(), values, held=held)

    _engagement = sa.select(engagements_view).where(
        engagements_view.c.tenant == sa.bindparam("tenant"), engagements_view.c.id == sa.bindparam("id")
    )
    _contribution = sa.select(contributions_view).where(
        contributions_view.c.tenant == sa.bindparam("tenant"), contributions_view.c.id == sa.bindparam("id")
    )
    _messages = (
        sa.select(messages_view)
        .where(messages_view.c.tenant == sa.bindparam("tenant"), messages_view.c.contribution_id.in_(_ids()))
        .order_by(messages_view.c.status_at)
    )
    _ratings = sa.select(ratings_view).where(
        ratings_view.c.tenant == sa.bindparam("tenant"), ratings_view.c.contribution_id.in_(_ids())
    )

    def engagement(self, tenant: str, engagement_id: str) -> dict | None:
        row = (
            self.session.connection()
            .execute(self._engagement, {"tenant": tenant, "id": engagement_id})
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def engagements(self, ids: Iterable[str]) -> dict[str, dict]:
        found = {}
        for chunk in chunks(sorted(set(ids))):
            for row in self.session.execute(
                sa.select(engagements_view).where(engagements_view.c.id.in_(chunk))
            ).mappings():
                found[row["id"]] = dict(row)
        return found

    def engagements_of(self, tenant: str) -> list[dict]:
        """The tenant's engagements, newest first."""
        rows = self.session.execute(
            sa.select(engagements_view)
            .where(engagements_view.c.tenant == tenant)
            .order_by(engagements_view.c.created_at.desc(), engagements_view.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def engagements_with_decisions(self, tenant: str) -> list[dict]:
        """The tenant's engagements that a decision was recorded against or answers, newest first."""
        answered = (
            sa.select(contributions_view.c.engagement_id)
            .join(links, links.c.contribution_id == contributions_view.c.id)
            .where(links.c.tenant == tenant, links.c.unlinked_at.is_(None), links.c.state == LINK_CONFIRMED)
        )
        decided = sa.select(decisions.c.engagement_id).where(decisions.c.tenant == tenant)
        rows = self.session.execute(
            sa.select(engagements_view)
            .where(
                engagements_view.c.tenant == tenant,
                sa.or_(engagements_view.c.id.in_(decided), engagements_view.c.id.in_(answered)),
            )
            .order_by(engagements_view.c.created_at.desc(), engagements_view.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def save_contribution(self, values: dict) -> None:
        self._upsert(contributions_view, {"id": values["id"]}, {k: v for k, v in values.items() if k != "id"})

    # What a contribution.received needs to know, in one statement: who holds the contribution
    # and its engagement (None: not held yet), whether its participant was erased, and whether
    # a decision linked it before it arrived. Built once: no cache key is computed per event.
    _arrival = sa.select(
        sa.select(contributions_view.c.tenant).where(contributions_view.c.id == sa.bindparam("id")).scalar_subquery(),
        sa.select(engagements_view.c.tenant)
        .where(engagements_view.c.id == sa.bindparam("engagement_id"))
        .scalar_subquery(),
        sa.select(erased_participants.c.erased_at)
        .where(
            erased_participants.c.tenant == sa.bindparam("tenant"),
            erased_participants.c.participant_id == sa.bindparam("participant_id"),
        )
        .scalar_subquery(),
        sa.exists().where(
            links.c.tenant == sa.bindparam("tenant"),
            links.c.contribution_id == sa.bindparam("id"),
            # Two plain comparisons, not IN (...): an IN list is expanded again at every execution.
            sa.or_(links.c.state == LINK_PENDING, links.c.state == LINK_UNRESOLVED),
            links.c.unlinked_at.is_(None),
        ),
    )

    def contribution_arrival(self, tenant: str, contribution: dict) -> ContributionArrival:
        """What is held about an arriving contribution (see `_arrival`), in one round trip."""
        row = (
            self.session.connection()
            .execute(
                self._arrival,
                {
                    "id": contribution["id"],
                    "engagement_id": contribution["engagement_id"],
                    "tenant": tenant,
                    "participant_id": contribution["participant_id"],
                },
            )
            .one()
        )
        return ContributionArrival(*row)

    def add_or_replace_contribution(self, values: dict, *, held: bool) -> None:
        """Insert the contribution, or replace the one `held` already (a redelivery from another
        outbox row, or an update): the caller has just read which, so no SELECT again."""
        _CONTRIBUTION_WRITE(self.session.connection(), values, held=held)

    def contribution(self, tenant: str, contribution_id: str) -> dict | None:
        row = (
            self.session.connection()
            .execute(self._contribution, {"tenant": tenant, "id": contribution_id})
            .mappings()
            .first()
        )
        return dict(row) if row else None

    _contribution_in_context = (
        sa.select(*contributions_view.c, *engagements_view.c, *ratings_view.c)
        .select_from(
            contributions_view.outerjoin(
                engagements_view,
                sa.and_(
                    engagements_view.c.id == contributions_view.c.engagement_id,
                    engagements_view.c.tenant == contributions_view.c.tenant,
                ),
            ).outerjoin(
                ratings_view,
                sa.and_(
                    ratings_view.c.contribution_id == contributions_view.c.id,
                    ratings_view.c.tenant == contributions_view.c.tenant,
                ),
            )
        )
        .where(contributions_view.c.tenant == sa.bindparam("tenant"), contributions_view.c.id == sa.bindparam("id"))
    )

    def contribution_in_context(
        self, tenant: str, contribution_id: str
    ) -> tuple[dict, dict | None, dict | None] | None:
        """(the contribution, its engagement, its rating) in one statement; None if the tenant has
        no such contribution, and None for an engagement or rating not known (yet)."""
        row = (
            self.session.connection()
            .execute(self._contribution_in_context, {"tenant": tenant, "id": contribution_id})
            .first()
        )
        if row is None:
            return None
        at_engagement = len(_CONTRIBUTION_COLUMNS)
        at_rating = at_engagement + len(_ENGAGEMENT_COLUMNS)
        engagement = _named(_ENGAGEMENT_COLUMNS, row, at_engagement)
        rating = _named(_RATING_COLUMNS, row, at_rating)
        return (
            _named(_CONTRIBUTION_COLUMNS, row, 0),
            engagement if engagement["id"] is not None else None,
            rating if rating["contribution_id"] is not None else None,
        )

    def contribution_tenants(self, ids: list[str]) -> dict[str, str]:
        """{contribution id: its tenant} for those known, whatever their tenant."""
        found = {}
        for chunk in chunks(sorted(set(ids))):
            found.update(
                self.session.execute(
                    sa.select(contributions_view.c.id, contributions_view.c.tenant).where(
                        contributions_view.c.id.in_(chunk)
                    )
                ).all()
            )
        return found

    def participant_tenants(self, participant_id: str) -> set[str]:
        """The tenants of the contributions that name this participant (one, honestly)."""
        return set(
            self.session.execute(
                sa.select(contributions_view.c.tenant)
                .where(contributions_view.c.participant_id == participant_id)
                .distinct()
            ).scalars()
        )

    def erased_at(self, tenant: str, participant_id: str) -> dt.datetime | None:
        return self.session.execute(
            sa.select(erased_participants.c.erased_at).where(
                erased_participants.c.tenant == tenant, erased_participants.c.participant_id == participant_id
            )
        ).scalar_one_or_none()

    def record_erasure(self, tenant: str, participant_id: str, erased_at: dt.datetime, sealed_erased_text: str) -> None:
        """Remember the erasure, and replace the words of the person's contributions we hold."""
        if self.erased_at(tenant, participant_id) is None:
            self.session.execute(
                erased_participants.insert(),
                dict(participant_id=participant_id, tenant=tenant, erased_at=erased_at),
            )
        self.session.execute(
            contributions_view.update()
            .where(
                contributions_view.c.tenant == tenant,
                contributions_view.c.participant_id == participant_id,
                contributions_view.c.erased_at.is_(None),
            )
            .values(sealed_text=sealed_erased_text, erased_at=erased_at)
        )
        # Their answers stay in the counts; what they wrote beside them goes.
        self.session.execute(
            ratings_view.update()
            .where(
                ratings_view.c.tenant == tenant,
                ratings_view.c.contribution_id.in_(
                    sa.select(contributions_view.c.id).where(
                        contributions_view.c.tenant == tenant, contributions_view.c.participant_id == participant_id
                    )
                ),
            )
            .values(sealed_comment=None)
        )

    def contributions(self, ids: Iterable[str]) -> dict[str, dict]:
        found = {}
        for chunk in chunks(sorted(set(ids))):
            for row in self.session.execute(
                sa.select(contributions_view).where(contributions_view.c.id.in_(chunk))
            ).mappings():
                found[row["id"]] = dict(row)
        return found

    def contributions_of_engagement(self, tenant: str, engagement_id: str) -> list[dict]:
        rows = self.session.execute(
            sa.select(contributions_view).where(
                contributions_view.c.tenant == tenant, contributions_view.c.engagement_id == engagement_id
            )
        ).mappings()
        return [dict(row) for row in rows]

    def latest_contributions(self, tenant: str, engagement_id: str, type_: str | None, limit: int) -> list[dict]:
        """Up to `limit` of an engagement's contributions (optionally of one type), newest first."""
        query = sa.select(contributions_view).where(
            contributions_view.c.tenant == tenant, contributions_view.c.engagement_id == engagement_id
        )
        if type_:
            query = query.where(contributions_view.c.type == type_)
        rows = self.session.execute(
            query.order_by(contributions_view.c.received_at.desc(), contributions_view.c.id).limit(limit)
        ).mappings()
        return [dict(row) for row in rows]

    def contribution_ids(self, tenant: str, engagement_id: str | None = None) -> list[str]:
        """The tenant's contributions (optionally one engagement's), oldest first."""
        query = sa.select(contributions_view.c.id).where(contributions_view.c.tenant == tenant)
        if engagement_id:
            query = query.where(contributions_view.c.engagement_id == engagement_id)
        return list(
            self.session.execute(query.order_by(contributions_view.c.received_at, contributions_view.c.id)).scalars()
        )

    # What a notification status needs to know, in one statement: the message held (its tenant
    # and status; None if not yet) and the tenant of the contribution it is about.
    _message_arrival = sa.select(
        sa.select(messages_view.c.tenant)
        .where(messages_view.c.notification_id == sa.bindparam("notification_id"))
        .scalar_subquery(),
        sa.select(messages_view.c.status)
        .where(messages_view.c.notification_id == sa.bindparam("notification_id"))
        .scalar_subquery(),
        sa.select(contributions_view.c.tenant)
        .where(contributions_view.c.id == sa.bindparam("contribution_id"))
        .scalar_subquery(),
    )

    def message_arrival(self, notification_id: str, contribution_id: str | None) -> MessageArrival:
        row = (
            self.session.connection()
            .execute(self._message_arrival, {"notification_id": notification_id, "contribution_id": contribution_id})
            .one()
        )
        return MessageArrival(*row)

    def add_or_replace_message(self, values: dict, *, held: bool) -> None:
        _MESSAGE_WRITE(self.session.connection(), values, held=held)

    def messages_for(self, tenant: str, contribution_ids: Iterable[str]) -> list[dict]:
        found = []
        for chunk in chunks(sorted(set(contribution_ids))):
            rows = self.session.connection().execute(self._messages, {"tenant": tenant, "ids": chunk}).mappings()
            found.extend(dict(row) for row in rows)
        return found

    def save_rating(self, values: dict) -> None:
        self._upsert(
            ratings_view,
            {"contribution_id": values["contribution_id"]},
            {k: v for k, v in values.items() if k != "contribution_id"},
        )

    def contributions_of_participant(self, tenant: str, participant_id: str) -> list[dict]:
        """A participant's contributions, newest first (their status page)."""
        rows = self.session.execute(
            sa.select(contributions_view)
            .where(contributions_view.c.tenant == tenant, contributions_view.c.participant_id == participant_id)
            .order_by(contributions_view.c.received_at.desc(), contributions_view.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def ratings_for(self, tenant: str, contribution_ids: Iterable[str]) -> dict[str, dict]:
        found = {}
        for chunk in chunks(sorted(set(contribution_ids))):
            for row in self.session.connection().execute(self._ratings, {"tenant": tenant, "ids": chunk}).mappings():
                found[row["contribution_id"]] = dict(row)
        return found

    # Overdue ------------------------------------------------------------------------

    def overdue_candidates(
        self, today: dt.date, tenant: str | None = None, *, not_yet_noticed: bool = False, limit: int | None = None
    ) -> list[dict]:
        """Contributions whose engagement's feedback date has passed and that have no
        active link to a decision with a final outcome (optionally only those not yet
        announced, a batch at a time, so the scheduled check does not grow with history)."""
        query = self._overdue(today).order_by(engagements_view.c.feedback_due, contributions_view.c.received_at)
        if tenant:
            query = query.where(contributions_view.c.tenant == tenant)
        if not_yet_noticed:
            query = query.where(~sa.exists().where(overdue_notices.c.contribution_id == contributions_view.c.id))
        if limit:
            query = query.limit(limit)
        return [dict(row) for row in self.session.execute(query).mappings()]

    def count_overdue(self, today: dt.date) -> dict[str, int]:
        """{tenant: overdue contributions}, for the operator's gauge."""
        overdue = self._overdue(today).subquery()
        rows = self.session.execute(sa.select(overdue.c.tenant, sa.func.count()).group_by(overdue.c.tenant))
        return dict(rows.all())

    @staticmethod
    def _overdue(today: dt.date) -> sa.Select:
        decided = (
            sa.select(links.c.contribution_id)
            .join(decisions, decisions.c.id == links.c.decision_id)
            .where(
                links.c.unlinked_at.is_(None),
                links.c.state == LINK_CONFIRMED,
                links.c.tenant == contributions_view.c.tenant,
                decisions.c.outcome != "deferred",
            )
        )
        return (
            sa.select(
                contributions_view, engagements_view.c.feedback_due, engagements_view.c.title.label("engagement_title")
            )
            .join(
                engagements_view,
                sa.and_(
                    engagements_view.c.id == contributions_view.c.engagement_id,
                    engagements_view.c.tenant == contributions_view.c.tenant,
                ),
            )
            .where(engagements_view.c.feedback_due < today, contributions_view.c.id.not_in(decided))
        )

    def already_noticed(self, contribution_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(contribution_ids):
            found.update(
                self.session.execute(
                    sa.select(overdue_notices.c.contribution_id).where(overdue_notices.c.contribution_id.in_(chunk))
                ).scalars()
            )
        return found

    def record_notice(self, tenant: str, contribution_id: str, now: dt.datetime) -> None:
        self.session.execute(
            overdue_notices.insert(), dict(contribution_id=contribution_id, tenant=tenant, noticed_at=now)
        )
