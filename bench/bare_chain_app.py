"""The bare baseline for the outcome-chain benchmark: Flask under the same gunicorn config,
`GET /v1/contributions/<id>/outcome-chain` running the same SELECTs the service's chain
runs for that id (same tables, same conditions, same order, one statement for each the
service issues: the contribution, its engagement, its links, their decisions, each
decision's versions, the active decisions' resource changes and their history, the
messages, the rating) with plain `sqlite3` in one read transaction (BEGIN DEFERRED), or on
PostgreSQL plain `psycopg2` in one transaction, and answering the rows as JSON. No auth, no ORM, no decryption, no status derivation, no
chain assembly: what is left is the cost of fetching the rows and sending them.

    BARE_CHAIN_DATABASE=/path/decisions.db|postgresql://... BARE_CHAIN_TENANT=bench SERVICE=decisions \\
        DECISIONS_PORT=... python -m gunicorn -c deploy/gunicorn.conf.py bench.bare_chain_app:app
"""

from __future__ import annotations

import os
import sqlite3

from flask import Flask, jsonify

CONTRIBUTION = "SELECT * FROM contributions_view WHERE tenant = ? AND id = ?"
ENGAGEMENT = "SELECT * FROM engagements_view WHERE tenant = ? AND id = ?"
LINKS = "SELECT * FROM links WHERE tenant = ? AND contribution_id = ? ORDER BY linked_at"
DECISIONS = "SELECT * FROM decisions WHERE id IN ({})"
VERSIONS = "SELECT * FROM decision_versions WHERE decision_id = ? ORDER BY version"
CHANGES = "SELECT * FROM resource_changes WHERE decision_id IN ({}) ORDER BY created_at"
HISTORY = "SELECT * FROM resource_change_history WHERE resource_change_id IN ({}) ORDER BY id"
MESSAGES = "SELECT * FROM messages_view WHERE tenant = ? AND contribution_id IN (?) ORDER BY status_at"
RATING = "SELECT * FROM ratings_view WHERE tenant = ? AND contribution_id IN (?)"


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class _Postgres:
    """The few calls the endpoint makes, on a psycopg2 connection (`?` becomes `%s`)."""

    def __init__(self, url: str):
        import psycopg2
        import psycopg2.extras
        import sqlalchemy as sa

        parsed = sa.engine.make_url(url)
        self.db = psycopg2.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, password=parsed.password
        )
        self.db.autocommit = True  # BEGIN and COMMIT are sent as on SQLite
        self.factory = psycopg2.extras.RealDictCursor

    def execute(self, sql: str, params=()) -> list:
        with self.db.cursor(cursor_factory=self.factory) as cursor:
            cursor.execute(sql.replace("?", "%s").replace("BEGIN DEFERRED", "BEGIN"), tuple(params))
            return cursor.fetchall() if cursor.description else []


def create_app(path: str, tenant: str) -> Flask:
    app = Flask("bare-chain")
    state: dict = {}

    def connection():
        # Opened in the worker on first use (gunicorn forks workers; a connection must not cross).
        if "db" not in state:
            if path.startswith("postgresql"):
                state["db"] = _Postgres(path)
            else:
                db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                db.row_factory = sqlite3.Row
                state["db"] = db
        return state["db"]

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/v1/contributions/<contribution_id>/outcome-chain")
    def chain(contribution_id: str):
        db = connection()

        def rows(sql: str, params) -> list[dict]:
            return [dict(row) for row in db.execute(sql, params)]

        db.execute("BEGIN DEFERRED")
        try:
            found = rows(CONTRIBUTION, (tenant, contribution_id))
            if not found:
                return jsonify(status=404), 404
            contribution = found[0]
            engagement = rows(ENGAGEMENT, (tenant, contribution["engagement_id"]))
            links = rows(LINKS, (tenant, contribution_id))
            decision_ids = sorted({link["decision_id"] for link in links})
            decisions = rows(DECISIONS.format(_marks(len(decision_ids))), decision_ids) if decision_ids else []
            versions = [rows(VERSIONS, (decision_id,)) for decision_id in decision_ids]
            active = sorted(
                {link["decision_id"] for link in links if link["unlinked_at"] is None and link["state"] == "confirmed"}
            )
            changes = rows(CHANGES.format(_marks(len(active))), active) if active else []
            change_ids = [change["id"] for change in changes]
            history = rows(HISTORY.format(_marks(len(change_ids))), change_ids) if change_ids else []
            messages = rows(MESSAGES, (tenant, contribution_id))
            rating = rows(RATING, (tenant, contribution_id))
        finally:
            db.execute("COMMIT")
        return jsonify(
            contribution=contribution,
            engagement=engagement[0] if engagement else None,
            links=links,
            decisions=decisions,
            versions=versions,
            resource_changes=changes,
            history=history,
            messages=messages,
            rating=rating[0] if rating else None,
        )

    return app


def _app_from_env() -> Flask | None:
    path = os.environ.get("BARE_CHAIN_DATABASE")
    return create_app(path, os.environ.get("BARE_CHAIN_TENANT", "bench")) if path else None


app = _app_from_env()
