"""A decisions database filled directly with SQLAlchemy Core, fast, for the decisions
benchmarks.

The rows are the ones the service's own code writes (its tables from
`services.decisions.adapters.tables`, the contribution's words sealed with
`shared.infra.crypto.Sealer` exactly as intake seals them for `contribution.received`), but
they are inserted in bulk (executemany, a few thousand rows a statement, one transaction
per table) rather than through events and the API: going through the API would take
hours for 100,000 contributions, and what is measured afterwards only reads them.

Shape (deterministic for a seed): engagements of 2,000 contributions (half with their
feedback date passed), boards, decisions recorded against an engagement with a version
row each (5% amended once, so two), each decision linked to 10-20 of its engagement's
contributions (the first 90% of them in a shuffled order, walked round so each is linked
once or twice; the last 10% stay unlinked), 1% of links later unlinked, a third of
adopted or partly adopted decisions with one or two resource changes and 1-3 status
history rows each, an acknowledgement message for 70% of contributions, a decision_linked
message for 60% of those with a link, and a rating from a quarter of those told.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

CHUNK = 5_000  # rows per executemany

TOPICS = (
    "opening hours",
    "transport to the centre",
    "activities offered",
    "respite for carers",
    "meals",
    "staffing at weekends",
    "how transport is booked",
    "accessible toilets",
)
INFLUENCES = (
    "Many people asked for Saturday sessions; this view is why the pilot includes them.",
    "Described the missed pick-ups in detail, which is how the board saw the scale of the problem.",
    "Raised the cost of travel for carers; the board added a travel allowance because of it.",
    "One of the views that led the board to keep the Monday session rather than move it.",
    "Pointed out that the booking line closes at 4pm; the board extended it to 7pm.",
)
RATIONALES = (
    "Most people who took part asked for this, the cost fits within the existing budget and "
    "the staff team agreed it can be done without reducing weekday sessions.",
    "We can do part of what was asked now. The rest depends on the new transport contract, "
    "which starts next April, and we will look at it again then.",
    "We looked at this carefully but it would mean closing another service that people told "
    "us matters more to them, so we are not going ahead with it this year.",
)
OUTCOME_WEIGHTS = (
    ("adopted", 35),
    ("partly_adopted", 25),
    ("not_adopted", 20),
    ("deferred", 10),
    ("out_of_scope", 10),
)
TYPE_WEIGHTS = (("view", 55), ("recommendation", 20), ("complaint", 12), ("compliment", 8), ("question", 5))
CHANNEL_WEIGHTS = (("case_system", 40), ("web", 35), ("meeting", 10), ("phone", 8), ("email", 5), ("paper", 2))


@dataclass(frozen=True)
class Scale:
    contributions: int
    decisions: int
    boards: int = 10
    per_engagement: int = 2_000  # contributions per engagement
    links_per_decision: tuple[int, int] = (10, 20)
    linkable_share: float = 0.9  # of an engagement's contributions, those its decisions link
    unlinked_share: float = 0.01  # of links, later unlinked
    amended_share: float = 0.05  # of decisions, amended once
    changes_share: float = 0.33  # of adopted / partly adopted decisions, with resource changes
    ack_share: float = 0.7  # of contributions, with an acknowledgement message
    linked_message_share: float = 0.6  # of linked contributions, told of the decision
    rating_share: float = 0.25  # of those told, who rated it
    messages: bool = True

    @property
    def engagements(self) -> int:
        return max(1, -(-self.contributions // self.per_engagement))


@dataclass
class Loaded:
    """What was loaded, and enough bookkeeping to check what the endpoints answer."""

    tenant: str
    engagement_ids: list[str]
    board_ids: list[str]
    contribution_ids: list[str]
    decision_ids: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    links_of: Counter = field(default_factory=Counter)  # contribution id -> links (unlinked included)
    messages_of: Counter = field(default_factory=Counter)
    rated: set[str] = field(default_factory=set)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def _weighted(rng: random.Random, weights: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _insert(connection, table, rows: Iterable[dict]) -> int:
    """executemany in chunks of CHUNK rows; returns how many."""
    done = 0
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            connection.execute(table.insert(), chunk)
            done += len(chunk)
            chunk = []
    if chunk:
        connection.execute(table.insert(), chunk)
        done += len(chunk)
    return done


def load(
    url: str,
    tenant: str,
    sealer,
    scale: Scale,
    *,
    seed: int = 20_261_122,
    now: dt.datetime | None = None,
    first_number: int = 0,
    log: Callable[[str], None] = print,
) -> Loaded:
    """Fill the (migrated, empty) decisions database at `url` for `tenant`; load again with
    another `seed` and `first_number` (the contributions already there) to grow it."""
    from services.decisions.adapters import tables as t
    from shared.infra.db import create_engine

    rng = random.Random(seed)
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    loaded = Loaded(tenant, [], [], [], [])
    engine = create_engine(url)

    def timed(name: str, table, rows: Iterable[dict]) -> None:
        started = time.monotonic()
        with engine.begin() as connection:
            loaded.rows[name] = loaded.rows.get(name, 0) + _insert(connection, table, rows)
        loaded.seconds[name] = loaded.seconds.get(name, 0.0) + time.monotonic() - started

    try:
        # Engagements and boards ---------------------------------------------------------
        engagements = []
        for number in range(scale.engagements):
            overdue = number % 2 == 1
            engagements.append(
                {
                    "id": _uuid(rng),
                    "tenant": tenant,
                    "title": f"Day services review {number + 1}",
                    "service_area": "Adult social care",
                    "description": "How should our day centres change next year? We want to hear from the "
                    "people who use them, their families and carers.",
                    "can_change": ["opening hours", "activities offered", "how transport is booked"],
                    "cannot_change": ["the total budget", "closing the Elm Road site"],
                    "decision_maker": "Adult Social Care Partnership Board",
                    "feedback_due": (now - dt.timedelta(days=10 if overdue else -30)).date(),
                    "created_at": now - dt.timedelta(days=220),
                }
            )
        loaded.engagement_ids = [e["id"] for e in engagements]
        timed("engagements_view", t.engagements_view, engagements)
        boards = [
            {
                "id": _uuid(rng),
                "tenant": tenant,
                "name": f"Partnership board {n + 1}",
                "remit": "Adult social care services in the county: day services, transport, respite.",
                "created_at": now - dt.timedelta(days=400),
            }
            for n in range(scale.boards if scale.decisions else 1)
        ]
        loaded.board_ids = [b["id"] for b in boards]
        timed("boards", t.boards, boards)

        # Contributions (sealed as intake seals them) ------------------------------------
        by_engagement: dict[str, list[str]] = {e: [] for e in loaded.engagement_ids}
        received: dict[str, dt.datetime] = {}

        def contributions() -> Iterator[dict]:
            from bench.payloads import TEXTS

            for number in range(1, scale.contributions + 1):
                engagement_id = loaded.engagement_ids[(number - 1) // scale.per_engagement]
                contribution_id = _uuid(rng)
                at = now - dt.timedelta(days=rng.uniform(20, 200))
                by_engagement[engagement_id].append(contribution_id)
                received[contribution_id] = at
                loaded.contribution_ids.append(contribution_id)
                yield {
                    "id": contribution_id,
                    "tenant": tenant,
                    "reference": f"{tenant.upper()}-2026-{first_number + number:07d}",
                    "engagement_id": engagement_id,
                    "participant_id": _uuid(rng),
                    "type": _weighted(rng, TYPE_WEIGHTS),
                    "on_behalf_of": 1 if rng.random() < 0.95 else rng.randint(2, 40),
                    "channel": _weighted(rng, CHANNEL_WEIGHTS),
                    "submitted_at": at - dt.timedelta(minutes=rng.randint(1, 600)),
                    "received_at": at,
                    "sealed_text": sealer.seal(f"{TEXTS[number % len(TEXTS)]} (ref {number})"),
                }

        timed("contributions_view", t.contributions_view, contributions())
        log(
            f"  loaded {loaded.rows['contributions_view']:,} contributions in {loaded.seconds['contributions_view']:.1f} s"
        )
        if not scale.decisions:
            return loaded

        # Decisions and their versions -----------------------------------------------------
        per_engagement = -(-scale.decisions // len(engagements))
        decisions: list[dict] = []
        for index in range(scale.decisions):
            engagement = engagements[min(index // per_engagement, len(engagements) - 1)]
            outcome = _weighted(rng, OUTCOME_WEIGHTS)
            created = now - dt.timedelta(days=rng.uniform(1, 19))
            amended = rng.random() < scale.amended_share
            decisions.append(
                {
                    "id": _uuid(rng),
                    "tenant": tenant,
                    "board_id": rng.choice(loaded.board_ids),
                    "engagement_id": engagement["id"],
                    "title": f"Decision {index + 1}: {rng.choice(TOPICS)}",
                    "description": "The board considered what people said about this and the options "
                    "officers set out, with their costs and what each would mean for other services.",
                    "decided_on": created.date(),
                    "outcome": outcome,
                    "rationale": None if outcome == "adopted" and rng.random() < 0.5 else rng.choice(RATIONALES),
                    "scope_limit_kind": "remit" if outcome == "out_of_scope" else None,
                    "scope_limit": "Health services are the NHS trust's to decide."
                    if outcome == "out_of_scope"
                    else None,
                    "revisit_on": (now + dt.timedelta(days=90)).date() if outcome == "deferred" else None,
                    "version": 2 if amended else 1,
                    "created_at": created,
                    "updated_at": min(now, created + dt.timedelta(days=2)) if amended else created,
                }
            )
        loaded.decision_ids = [d["id"] for d in decisions]
        timed("decisions", t.decisions, decisions)

        def versions() -> Iterator[dict]:
            from services.decisions.adapters.repository import _json_safe
            from services.decisions.domain.model import Decision

            amendable = Decision.AMENDABLE
            for d in decisions:
                snapshot = _json_safe({k: d[k] for k in amendable})
                yield {
                    "decision_id": d["id"],
                    "version": 1,
                    "snapshot": snapshot,
                    "reason": None,
                    "recorded_at": d["created_at"],
                    "recorded_by": "benchmark",
                }
                if d["version"] == 2:
                    yield {
                        "decision_id": d["id"],
                        "version": 2,
                        "snapshot": snapshot,
                        "reason": "Corrected the rationale after the minutes were agreed.",
                        "recorded_at": d["updated_at"],
                        "recorded_by": "benchmark",
                    }

        timed("decision_versions", t.decision_versions, versions())

        # Links: each decision to 10-20 of its engagement's contributions ------------------
        linked_at: dict[str, dt.datetime] = {}  # contribution -> its first active link's time
        low, high = scale.links_per_decision

        def links() -> Iterator[dict]:
            rings = {}
            for engagement_id, ids in by_engagement.items():
                shuffled = ids[:]
                rng.shuffle(shuffled)
                rings[engagement_id] = [shuffled[: max(1, int(len(shuffled) * scale.linkable_share))], 0]
            for d in decisions:
                ring = rings[d["engagement_id"]]
                pool, position = ring
                wanted = min(rng.randint(low, high), len(pool))
                taken = 0
                for step in range(len(pool)):  # bounded: at most one pass round the pool
                    if taken == wanted:
                        break
                    contribution_id = pool[(position + step) % len(pool)]
                    if loaded.links_of[contribution_id] >= 2:
                        continue
                    taken += 1
                    loaded.links_of[contribution_id] += 1
                    unlinked = rng.random() < scale.unlinked_share
                    at = d["created_at"]
                    if not unlinked:
                        linked_at.setdefault(contribution_id, at)
                    yield {
                        "id": _uuid(rng),
                        "tenant": tenant,
                        "decision_id": d["id"],
                        "contribution_id": contribution_id,
                        "influence": rng.choice(INFLUENCES),
                        "state": "confirmed",
                        "linked_at": at,
                        "confirmed_at": at,
                        "unlinked_at": min(now, at + dt.timedelta(hours=20)) if unlinked else None,
                        "unlink_reason": "Linked in error: this view was about another centre." if unlinked else None,
                    }
                ring[1] = (position + wanted) % len(pool)

        timed("links", t.links, links())

        # Resource changes with their history ------------------------------------------------
        changes: list[dict] = []
        history: list[dict] = []
        for d in decisions:
            if d["outcome"] not in ("adopted", "partly_adopted") or rng.random() >= scale.changes_share:
                continue
            for _ in range(rng.randint(1, 2)):
                kind = rng.choice(("budget", "staffing", "service", "policy"))
                steps = rng.randint(1, 3)
                statuses = ("planned", "in_progress", "implemented")[:steps]
                progress = (None, 50, 100)[:steps]
                change_id = _uuid(rng)
                changes.append(
                    {
                        "id": change_id,
                        "tenant": tenant,
                        "decision_id": d["id"],
                        "kind": kind,
                        "description": f"{kind.title()} change following decision: {d['title']}",
                        "amount": Decimal(rng.randint(1_000, 250_000)) if kind == "budget" else None,
                        "currency": "GBP" if kind == "budget" else None,
                        "effective_from": (d["created_at"] + dt.timedelta(days=30)).date(),
                        "status": statuses[-1],
                        "progress_percent": progress[-1],
                        "created_at": d["created_at"],
                    }
                )
                for step, (status, percent) in enumerate(zip(statuses, progress, strict=True)):
                    history.append(
                        {
                            "resource_change_id": change_id,
                            "status": status,
                            "progress_percent": percent,
                            "note": None if step == 0 else f"Moved to {status.replace('_', ' ')}.",
                            "at": min(now, d["created_at"] + dt.timedelta(days=4 * step)),
                        }
                    )
        timed("resource_changes", t.resource_changes, changes)
        timed("resource_change_history", t.resource_change_history, history)

        if not scale.messages:
            return loaded

        # Messages the notifier reported, and ratings ----------------------------------------
        told: dict[str, dt.datetime] = {}

        def messages() -> Iterator[dict]:
            for contribution_id in loaded.contribution_ids:
                if rng.random() >= scale.ack_share:
                    continue
                channel = "email" if rng.random() < 0.8 else "sms"
                status = rng.choices(("delivered", "sent", "failed"), (85, 10, 5))[0]
                loaded.messages_of[contribution_id] += 1
                yield {
                    "notification_id": _uuid(rng),
                    "tenant": tenant,
                    "contribution_id": contribution_id,
                    "kind": "acknowledgement",
                    "channel": channel,
                    "status": status,
                    "status_at": received[contribution_id] + dt.timedelta(minutes=1),
                    "reason": "mailbox unavailable" if status == "failed" else None,
                }
                if contribution_id in linked_at and rng.random() < scale.linked_message_share:
                    at = linked_at[contribution_id] + dt.timedelta(minutes=5)
                    loaded.messages_of[contribution_id] += 1
                    told[contribution_id] = at
                    yield {
                        "notification_id": _uuid(rng),
                        "tenant": tenant,
                        "contribution_id": contribution_id,
                        "kind": "decision_linked",
                        "channel": channel,
                        "status": "delivered",
                        "status_at": at,
                        "reason": None,
                    }

        timed("messages_view", t.messages_view, messages())

        def ratings() -> Iterator[dict]:
            for contribution_id, at in told.items():
                if rng.random() < scale.rating_share:
                    loaded.rated.add(contribution_id)
                    yield {
                        "contribution_id": contribution_id,
                        "tenant": tenant,
                        "rating": rng.choice(("yes", "yes", "partly", "no")),
                        "rated_at": min(now, at + dt.timedelta(days=2)),
                    }

        timed("ratings_view", t.ratings_view, ratings())
        return loaded
    finally:
        # SQLite: fold the WAL into the file before anything reads it; PostgreSQL: fresh
        # planner statistics, as autovacuum would give a table this size before long.
        raw = engine.raw_connection()
        try:
            if engine.dialect.name == "sqlite":
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                raw.driver_connection.autocommit = True
                with raw.driver_connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
        finally:
            raw.close()
        engine.dispose()
