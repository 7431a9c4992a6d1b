"""The bare baseline for the HTTP intake benchmark: Flask under the same gunicorn config,
one INSERT per POST into a SQLite (WAL) file opened by shared.infra.db.create_engine, so the
engine settings (WAL, synchronous=NORMAL, BEGIN IMMEDIATE, busy timeout) are the
service's. No auth, no validation, no encryption, no outbox.

    BARE_DATABASE_URL=sqlite:///... SERVICE=intake INTAKE_PORT=... \\
        python -m gunicorn -c deploy/gunicorn.conf.py bench.bare_app:app
"""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa
from flask import Flask, jsonify, request

from shared.infra.db import create_engine
from shared.infra.tables import UTCDateTime, utcnow

metadata = sa.MetaData()
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
)


def create_schema(url: str) -> None:
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def create_app(url: str) -> Flask:
    app = Flask("bare")
    engine = create_engine(url)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.post("/v1/contributions")
    def submit():
        body = request.get_data(as_text=True)
        request.get_json()  # parse it, as any JSON endpoint must
        row_id = str(uuid.uuid4())
        with engine.begin() as connection:
            connection.execute(submissions.insert().values(id=row_id, body=body, received_at=utcnow()))
        return jsonify(id=row_id), 201

    return app


def _app_from_env() -> Flask | None:
    url = os.environ.get("BARE_DATABASE_URL")
    return create_app(url) if url else None


app = _app_from_env()
